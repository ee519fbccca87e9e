// The creator's moderation card on the dashboard: appoint and dismiss moderators by username, and the
// moderation log (who deleted or timed out whom, when). Starts only if [data-moderation] is on the page;
// its data-moderators-url and data-log-url come from the server. Everything is rendered as text.

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

async function call(url, method = 'GET', body = undefined) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.detail || `HTTP ${response.status}`);
  return data;
}

const ACTIONS = { delete: 'deleted a message of', time_out: 'timed out', appoint: 'appointed', dismiss: 'dismissed' };

export class ModerationPanel {
  constructor(root) {
    this.root = root;
    this.moderatorsUrl = root.dataset.moderatorsUrl;
    this.logUrl = root.dataset.logUrl;
    this.list = root.querySelector('[data-moderators]');
    this.log = root.querySelector('[data-moderation-log]');
    this.form = root.querySelector('[data-moderator-form]');
    this.error = root.querySelector('[data-moderation-error]');
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      const input = this.form.querySelector('input[name=username]');
      this.act(() => call(this.moderatorsUrl, 'POST', { username: input.value.trim() })).then((ok) => {
        if (ok) input.value = '';
      });
    });
    // The chat panel's Delete and time-out buttons change the log too.
    document.addEventListener('chat-moderated', () => this.load());
    this.load();
  }

  async act(action) {
    this.error.textContent = '';
    try {
      await action();
    } catch (error) {
      this.error.textContent = error.message;
      return false;
    }
    await this.load();
    return true;
  }

  async load() {
    try {
      const [moderators, log] = await Promise.all([call(this.moderatorsUrl), call(this.logUrl)]);
      this.list.replaceChildren(...moderators.map((m) => this.moderator(m)));
      this.log.replaceChildren(...log.map((entry) => this.entry(entry)));
      this.root.dataset.loaded = 'true';
    } catch (error) {
      this.error.textContent = `Could not load moderation: ${error.message}`;
    }
  }

  moderator({ username }) {
    const item = document.createElement('li');
    item.dataset.moderator = username;
    const name = document.createElement('span');
    name.className = 'grow';
    name.textContent = username;
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'link danger';
    remove.textContent = 'Remove';
    remove.addEventListener('click', () => this.act(() => call(this.moderatorsUrl, 'DELETE', { username })));
    item.append(name, remove);
    return item;
  }

  entry({ actor, action, target, detail, time }) {
    const item = document.createElement('li');
    const when = new Date(time).toLocaleString();
    const extra = action === 'time_out' ? ` for ${detail}` : action === 'delete' ? `: “${detail}”` : '';
    item.textContent = `${when} — ${actor} ${ACTIONS[action] || action} ${target}${extra}`;
    return item;
  }
}

const root = document.querySelector('[data-moderation]');
if (root) root.moderationPanel = new ModerationPanel(root);
