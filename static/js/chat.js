// Live chat, shared by the watch page and the creator dashboard. The server owns it (chat/): a message is
// POSTed to the chat API, which checks it, stores it and sends it to the room with LiveKit's SendData on
// CHAT_TOPIC. This module renders only what the server sent — the history first, then the live packets
// (buffered meanwhile, de-duplicated by id, so nothing is lost or shown twice at the seam) — and ignores
// any participant's own packets. The token's canPublishData only says whether to show the input.
// Pure helpers are exported so tests can drive them with the events a room would emit.

export const CHAT_TOPIC = 'streamit.chat';
export const MAX_MESSAGE_LENGTH = 500;
const MAX_SHOWN_MESSAGES = 200;

const REASONS = {
  chat_disabled: 'Chat is turned off for this stream.',
  followers_only: 'Only followers can chat. Follow to join the conversation.',
  blocked: "You can't chat in this stream.",
  sign_in: 'Only followers can chat: log in and follow to join the conversation.',
  offline: 'Chat opens when the stream is live.',
  not_allowed: "You can't chat right now.",
};

export function reasonText(reason) {
  return REASONS[reason] || REASONS.not_allowed;
}

// The identity formats the server hands the page in data-* attributes (streams/identities.py), so they
// are never typed again here: the encoder's and the creator's self-view identity, the guest prefix and
// the pattern of a registered viewer's identity.
export function identitiesOf(element) {
  const { publisherIdentity, hostIdentity, guestPrefix, userIdentityPattern } = element.dataset;
  return { publisher: publisherIdentity, host: hostIdentity, guestPrefix, userPattern: new RegExp(userIdentityPattern) };
}

// Who sent a message, as shown: guests are marked so a guest cannot pass for a registered user.
// ids: identitiesOf(the hook element).
export function describeSender(identity, name, ids) {
  const isGuest = identity.startsWith(ids.guestPrefix);
  const isHost = identity === ids.publisher || identity === ids.host;
  return { name: (name || identity).slice(0, 50), isGuest, isHost };
}

// A registered viewer (their identity is their user id): the only kind of participant a creator can block.
export function isBlockable(identity, ids) {
  const { isGuest, isHost } = describeSender(identity, '', ids);
  return !isGuest && !isHost && ids.userPattern.test(identity);
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

// The creator blocks a viewer through the block API, after a confirmation. urlTemplate comes from
// {% url %} with the placeholder __username__. Resolves to true once the block is made.
export async function blockViewer(urlTemplate, username) {
  const question = `Block ${username}? They can no longer watch your streams or chat in them. You can unblock them on the Blocked page.`;
  if (!window.confirm(question)) return false;
  const response = await fetch(urlTemplate.replace('__username__', encodeURIComponent(username)), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRFToken': csrfToken() },
  });
  if (!response.ok && response.status !== 409) {
    const data = await response.json().catch(() => ({}));
    throw new Error(data.detail || `HTTP ${response.status}`);
  }
  return true;
}

export function blockButton(username, onBlock) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link danger chat-block';
  button.textContent = 'Block';
  button.dataset.blockUser = username;
  button.setAttribute('aria-label', `Block ${username}`);
  button.addEventListener('click', () => onBlock(username));
  return button;
}

export function cleanMessage(text) {
  return String(text ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, MAX_MESSAGE_LENGTH);
}

// A packet the server sent on CHAT_TOPIC: {type: "message", message: {id, author, name, role, text, time}}.
export function decodeEvent(payload) {
  try {
    const event = JSON.parse(new TextDecoder().decode(payload));
    return event && typeof event.type === 'string' ? event : null;
  } catch {
    return null;
  }
}

export function renderMessage(list, { name, text, isGuest = false, isHost = false, system = false }) {
  const item = document.createElement('li');
  if (system) {
    item.className = 'chat-system muted';
    item.textContent = text;
  } else {
    const who = document.createElement('span');
    who.className = 'chat-name';
    who.textContent = name;
    item.append(who);
    if (isGuest) {
      const badge = document.createElement('span');
      badge.className = 'badge guest';
      badge.textContent = 'guest';
      item.append(badge, ' ');
    }
    if (isHost) {
      const badge = document.createElement('span');
      badge.className = 'badge live';
      badge.textContent = 'creator';
      item.append(badge, ' ');
    }
    const body = document.createElement('span');
    body.className = 'chat-text';
    body.textContent = cleanMessage(text);
    item.append(body);
  }
  list.append(item);
  while (list.children.length > MAX_SHOWN_MESSAGES) list.firstElementChild.remove();
  list.scrollTop = list.scrollHeight;
  return item;
}

export class ChatPanel {
  // root: the [data-chat] element. Its data-* attributes: the identity formats (see identitiesOf),
  // canChat ("true"/"false"), reason,
  // delaySeconds (slow mode; 0 for the creator), and it contains [data-chat-messages], [data-chat-form],
  // [data-chat-input], [data-chat-send] and [data-chat-state].
  constructor(root) {
    this.root = root;
    this.identities = identitiesOf(root);
    this.delaySeconds = Number(root.dataset.delaySeconds || 0);
    this.list = root.querySelector('[data-chat-messages]');
    this.form = root.querySelector('[data-chat-form]');
    this.input = root.querySelector('[data-chat-input]');
    this.sendButton = root.querySelector('[data-chat-send]');
    this.state = root.querySelector('[data-chat-state]');
    this.room = null;
    this.pending = null;
    this.url = root.dataset.chatUrl;
    this.token = ''; // a guest's LiveKit token: their proof of who they are to the chat API
    this.shown = new Set(); // message ids on the page
    this.held = null; // live events that arrived while the history loads
    this.canModerate = false; // the creator or a moderator: the history's answer says
    this.timedOutUntil = 0; // ms since the epoch while a time-out (or slow mode's wait) lasts
    this.waitKind = 'timeout'; // 'timeout' (a moderator's) or 'slow' (slow mode)
    this.slowSeconds = Number(root.dataset.slowSeconds || 0);
    this.timeOutTimer = null;
    this.canChat = root.dataset.canChat === 'true';
    this.blockUrl = root.dataset.blockUrl || ''; // set on the creator's dashboard only
    this.reason = root.dataset.reason || '';
    this.input.maxLength = MAX_MESSAGE_LENGTH;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.submit();
    });
    this.render();
  }

  // Called by the player once connected (with the token it connected with); until then the chat waits.
  attach(room, RoomEvent, token = '') {
    this.room = room;
    this.token = token;
    this.held = [];
    room.on(RoomEvent.DataReceived, (payload, participant, _kind, topic) => {
      // Only the server speaks on the chat topic: a participant's packet (anyone can send one) is ignored.
      if (topic !== CHAT_TOPIC || participant) return;
      const event = decodeEvent(payload);
      if (!event || this.room !== room) return;
      if (this.held) this.held.push(event);
      else this.apply(event);
    });
    room.on(RoomEvent.ParticipantPermissionsChanged, (_previous, participant) => {
      if (participant === room.localParticipant) {
        this.setPermission(Boolean(participant.permissions?.canPublishData));
      }
    });
    this.render();
    this.loadHistory(room);
  }

  // The session's last messages, then whatever arrived live meanwhile (ids already shown are skipped).
  async loadHistory(room) {
    try {
      // A server error or a dropped connection is tried again twice; a refusal (4xx) is not.
      for (let attempt = 0; attempt < 3 && this.room === room; attempt += 1) {
        if (attempt) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
        let response;
        try {
          response = await fetch(this.url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        } catch {
          continue;
        }
        if (response.status >= 500) continue;
        const data = response.ok ? await response.json() : { messages: [] };
        if (this.room !== room) return;
        this.canModerate = Boolean(data.canModerate);
        for (const message of data.messages) this.show(message);
        break;
      }
    } finally {
      if (this.room === room) {
        const held = this.held || [];
        this.held = null;
        for (const event of held) this.apply(event);
        this.root.dataset.history = 'loaded';
      }
    }
  }

  detach() {
    this.room = null;
    this.held = null;
    this.render();
  }

  apply(event) {
    if (event.type === 'message' && event.message) this.show(event.message);
    else if (event.type === 'delete') this.list.querySelector(`[data-message-id="${Number(event.id)}"]`)?.remove();
    else if (event.type === 'timeout' && event.identity === this.room?.localParticipant?.identity) {
      this.timeOut(Number(event.seconds));
    }
  }

  setSlow(seconds) {
    this.slowSeconds = Number(seconds) || 0;
    this.render();
  }

  // A moderator timed us out, or slow mode makes us wait: the input stays off, counting down.
  timeOut(seconds, kind = 'timeout') {
    if (kind === 'slow' && this.waitKind === 'timeout' && this.timedOutUntil > Date.now()) return;
    this.waitKind = kind;
    this.timedOutUntil = Date.now() + seconds * 1000;
    clearInterval(this.timeOutTimer);
    this.timeOutTimer = setInterval(() => {
      if (Date.now() >= this.timedOutUntil) {
        clearInterval(this.timeOutTimer);
        this.timeOutTimer = null;
        this.timedOutUntil = 0;
      }
      this.render();
    }, 1000);
    this.render();
  }

  async moderate(message, action, minutes) {
    const url = action === 'delete' ? `${this.url}/${message.id}` : `${this.url}/${message.id}/timeout`;
    const response = await fetch(url, {
      method: action === 'delete' ? 'DELETE' : 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: action === 'delete' ? undefined : JSON.stringify({ minutes }),
    }).catch(() => null);
    if (!response || !response.ok) {
      const data = response ? await response.json().catch(() => ({})) : {};
      renderMessage(this.list, { system: true, text: data.detail || 'That did not work: try again.' });
    } else {
      if (action === 'timeout') {
        renderMessage(this.list, { system: true, text: `${message.name} is timed out for ${minutes} min.` });
      }
      this.root.dispatchEvent(new CustomEvent('chat-moderated', { bubbles: true })); // the log changed
    }
  }

  moderationMenu(message) {
    const menu = document.createElement('span');
    menu.className = 'chat-moderation';
    const button = (label, title, onClick) => {
      const element = document.createElement('button');
      element.type = 'button';
      element.className = 'link chat-mod';
      element.textContent = label;
      element.title = title;
      element.addEventListener('click', onClick);
      return element;
    };
    menu.append(button('Delete', 'Delete this message for everyone', () => this.moderate(message, 'delete')));
    for (const minutes of [1, 10, 60]) {
      menu.append(' ', button(`${minutes}m`, `Time ${message.name} out for ${minutes} min`, () => this.moderate(message, 'timeout', minutes)));
    }
    return menu;
  }

  show(message) {
    if (this.shown.has(message.id)) {
      // The delay released a message shown pending (to the creator, moderators and its sender): now it is out.
      if (!message.pending) {
        const item = this.list.querySelector(`[data-message-id="${Number(message.id)}"]`);
        item?.classList.remove('chat-pending');
        item?.querySelector('.badge.pending')?.remove();
      }
      return;
    }
    this.shown.add(message.id);
    const item = renderMessage(this.list, {
      name: String(message.name || '').slice(0, 50),
      text: message.text,
      isGuest: message.role === 'guest',
      isHost: message.role === 'creator',
    });
    item.dataset.messageId = message.id;
    if (message.pending) {
      item.classList.add('chat-pending');
      const badge = document.createElement('span');
      badge.className = 'badge pending';
      badge.textContent = 'pending';
      badge.title = 'Held by the delay: viewers see it in a few seconds';
      item.querySelector('.chat-text').before(badge, ' ');
    }
    item.dataset.author = message.author;
    // The creator can block the registered viewer behind a line (their name is their username).
    if (this.blockUrl && message.role !== 'guest' && isBlockable(String(message.author), this.identities)) {
      item.querySelector('.chat-text').before(blockButton(message.name, (name) => this.block(name)), ' ');
    }
    if (this.canModerate && message.role !== 'creator') item.append(' ', this.moderationMenu(message));
  }

  async block(username) {
    try {
      if (!(await blockViewer(this.blockUrl, username))) return;
    } catch (error) {
      renderMessage(this.list, { system: true, text: `${username} could not be blocked: ${error.message}` });
      return;
    }
    this.onBlocked(username);
  }

  // Blocked (from a chat line or the people list): say so, and offer no second Block.
  onBlocked(username) {
    for (const button of this.root.querySelectorAll('[data-block-user]')) {
      if (button.dataset.blockUser === username) button.remove();
    }
    renderMessage(this.list, { system: true, text: `You blocked ${username}. They were removed from your stream.` });
    this.root.dispatchEvent(new CustomEvent('viewer-blocked', { detail: { username }, bubbles: true }));
  }

  // The server changed our rights (follow, settings, block): mirror them at once.
  setPermission(canChat, reason) {
    this.canChat = canChat;
    this.reason = canChat ? '' : reason || this.reason || 'not_allowed';
    this.render();
  }

  setDelay(seconds) {
    this.delaySeconds = Number(seconds) || 0;
    this.render();
  }

  render() {
    const counting = this.pending !== null;
    const timedOut = this.timedOutUntil > Date.now();
    const usable = this.canChat && this.room !== null && !counting && !timedOut;
    this.input.disabled = !usable;
    this.sendButton.disabled = !usable;
    const waitState = this.waitKind === 'slow' ? 'slow' : 'timed-out';
    this.root.dataset.state = timedOut ? waitState : !this.canChat ? 'locked' : counting ? 'counting' : this.room ? 'ready' : 'waiting';
    const left = Math.ceil((this.timedOutUntil - Date.now()) / 1000);
    if (timedOut && this.waitKind === 'slow') this.state.textContent = `Slow mode: you can send again in ${left} s.`;
    else if (timedOut) this.state.textContent = `You are timed out for ${left} s.`;
    else if (!this.canChat) this.state.textContent = reasonText(this.reason);
    else if (counting) this.state.textContent = `Sending in ${this.pending.remaining} s…`;
    else if (!this.room) this.state.textContent = 'Chat connects when the stream is on.';
    else if (this.delaySeconds > 0) this.state.textContent = `Delay: viewers see messages ${this.delaySeconds} s after they are sent.`;
    else this.state.textContent = '';
  }

  submit() {
    const text = cleanMessage(this.input.value);
    if (!text || !this.canChat || !this.room || this.pending) return;
    // The server holds a delayed message (and shows it at once, pending, to the creator and moderators).
    this.send(text);
  }

  async send(text) {
    this.input.value = '';
    this.render();
    if (!this.canChat || !this.room) return;
    const headers = { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let response;
    let data = {};
    try {
      response = await fetch(this.url, {
        method: 'POST',
        credentials: 'same-origin',
        headers,
        body: JSON.stringify({ text }),
      });
      data = await response.json().catch(() => ({}));
    } catch {
      renderMessage(this.list, { system: true, text: 'Your message could not be sent.' });
      return;
    }
    if (response.status === 201) {
      this.show(data); // the server's copy; the room's packet of it is then skipped
      if (this.slowSeconds > 0) this.timeOut(this.slowSeconds, 'slow');
    } else if (response.status === 429) {
      this.timeOut(Number(response.headers.get('Retry-After')) || 1, 'slow');
    } else if (response.status === 403 && data.reason === 'timed_out') {
      this.timeOut(Number(response.headers.get('Retry-After')) || 60);
    } else if (response.status === 403 && data.reason) {
      this.setPermission(false, data.reason);
    } else {
      renderMessage(this.list, { system: true, text: data.detail || 'Your message could not be sent.' });
    }
  }
}

// The creator's list of people in the room, from the room itself, each registered viewer with Block.
export class PeoplePanel {
  // root: [data-people] with the identity formats (see identitiesOf) and data-block-url; contains
  // [data-people-list], [data-people-empty].
  constructor(root, chat) {
    this.root = root;
    this.chat = chat;
    this.identities = identitiesOf(root);
    this.blockUrl = root.dataset.blockUrl;
    this.list = root.querySelector('[data-people-list]');
    this.empty = root.querySelector('[data-people-empty]');
    this.room = null;
    document.addEventListener('viewer-blocked', (event) => this.forget(event.detail.username));
    this.render();
  }

  attach(room, RoomEvent) {
    this.room = room;
    room.on(RoomEvent.ParticipantConnected, () => this.render());
    room.on(RoomEvent.ParticipantDisconnected, () => this.render());
    room.on(RoomEvent.ParticipantNameChanged, () => this.render());
    this.render();
  }

  detach() {
    this.room = null;
    this.render();
  }

  forget(username) {
    for (const item of this.list.querySelectorAll('[data-person]')) {
      if (item.dataset.name === username) item.remove();
    }
    this.empty.hidden = this.list.children.length > 0;
  }

  render() {
    const people = [...(this.room?.remoteParticipants?.values() ?? [])]
      .filter((p) => !describeSender(p.identity, p.name, this.identities).isHost)
      .sort((a, b) => (a.name || a.identity).localeCompare(b.name || b.identity));
    this.list.replaceChildren(...people.map((participant) => this.item(participant)));
    this.empty.hidden = people.length > 0;
  }

  item(participant) {
    const sender = describeSender(participant.identity, participant.name, this.identities);
    const item = document.createElement('li');
    item.dataset.person = participant.identity;
    item.dataset.name = participant.name || '';
    const name = document.createElement('span');
    name.className = 'grow';
    name.textContent = sender.name;
    item.append(name);
    if (sender.isGuest) {
      const badge = document.createElement('span');
      badge.className = 'badge guest';
      badge.textContent = 'guest';
      item.append(badge);
    } else if (participant.name && isBlockable(participant.identity, this.identities)) {
      item.append(blockButton(participant.name, (username) => this.block(username)));
    }
    return item;
  }

  async block(username) {
    try {
      if (!(await blockViewer(this.blockUrl, username))) return;
    } catch (error) {
      this.empty.hidden = false;
      this.empty.textContent = `${username} could not be blocked: ${error.message}`;
      return;
    }
    if (this.chat) this.chat.onBlocked(username);
    else this.forget(username);
  }
}
