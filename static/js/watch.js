// The watch page (/<username>/live) and the creator's self-view: plays the stream with livekit-client and
// runs the chat. Starts only if [data-watch] is on the page; configured by its data-* attributes (URLs come
// from {% url %} there, never from literals here).
//
// One explicit state machine, shown in data-state:
//   offline       the stream is not live: poll the status endpoint, never ask for a token
//   connecting    the stream is live: a token is being fetched and the room connected
//   live          connected to the room
//   reconnecting  livekit-client is resuming the connection, or our retry timer is waiting
//   evicted       another tab took our identity, or the creator removed us: stop until the user reloads
//   gone          the status endpoint answers 401/403/404 (blocked, creator revoked): stop everything
// Each connect takes a fresh attempt number; leaving connecting/live/reconnecting bumps it, so a connect
// still waiting for its token or its room finds itself stale and builds nothing. Polling jitters (a crowd
// does not poll in step) and pauses while the tab is hidden.
import { ChatPanel, PeoplePanel } from './chat.js';

const root = document.querySelector('[data-watch]');
const ACTIVE = new Set(['connecting', 'live', 'reconnecting']);
const GONE_STATUSES = new Set([401, 403, 404]);
const GUEST_NAME_KEY = 'streamit-guest-name';

export function jittered(seconds) {
  return seconds * 1000 * (0.8 + Math.random() * 0.4);
}

export function backoffSeconds(failures) {
  return Math.min(60, 2 ** Math.min(failures, 6));
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : '';
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(data.detail || `HTTP ${response.status}`), { status: response.status });
  return data;
}

class WatchPage {
  constructor(el) {
    this.el = el;
    el.watchPage = this; // a handle for tests driving the room's events
    this.config = el.dataset;
    this.publisherIdentity = el.dataset.publisherIdentity; // the encoder's identity, from the server
    this.pollSeconds = Number(el.dataset.pollSeconds || 10);
    this.offlineCard = el.querySelector('[data-offline-card]');
    this.goneCard = el.querySelector('[data-gone-card]');
    this.player = el.querySelector('[data-player]');
    this.video = el.querySelector('[data-video]');
    this.unmute = el.querySelector('[data-unmute]');
    this.message = el.querySelector('[data-player-message]');
    this.viewerCount = document.querySelector('[data-viewer-count]');
    this.liveBadge = document.querySelector('[data-live-badge]');
    this.offlineBadge = document.querySelector('[data-offline-badge]');
    this.guestForm = document.querySelector('[data-guest-form]');
    this.followButton = document.querySelector('[data-follow-button]');
    const chatRoot = document.querySelector('[data-chat]');
    this.chat = chatRoot ? new ChatPanel(chatRoot) : null;
    if (chatRoot) chatRoot.chatPanel = this.chat; // a handle for tests driving the room's events
    const peopleRoot = document.querySelector('[data-people]'); // the creator's dashboard only
    this.people = peopleRoot ? new PeoplePanel(peopleRoot, this.chat) : null;
    if (peopleRoot) peopleRoot.peoplePanel = this.people;

    this.state = null;
    this.streamLive = el.dataset.isLive === 'true'; // what the server last said, whatever our connection
    this.room = null;
    this.joined = false;
    this.attempt = 0;
    this.failures = 0;
    this.polls = 0;
    this.recountSoon = false; // set when we leave a room: the server counts it a moment later
    this.retryTimer = null;
    this.pollTimer = null;

    this.unmute?.addEventListener('click', () => this.startAudio());
    this.followButton?.addEventListener('click', (event) => this.onFollow(event));
    document.addEventListener('visibilitychange', () => this.onVisibility());
    this.setupGuestForm();
    if (this.streamLive) this.connect();
    else this.enter('offline');
    this.schedulePoll();
  }

  // --- states -------------------------------------------------------------------------------------

  enter(state, text = '') {
    this.state = state;
    this.el.dataset.state = state;
    if (!ACTIVE.has(state)) {
      // Leaving the connected states: abandon any connect in flight and every timer that would reconnect.
      // Our own leave (and the others', when the stream ends) reaches the server by webhook a moment
      // later: the next poll comes soon, or the offline card would count us for a whole cadence.
      if (this.room) this.recountSoon = true;
      this.attempt += 1;
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.dropRoom();
    }
    if (state === 'gone') {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
    this.say(text);
    this.render();
  }

  render() {
    const playing = ACTIVE.has(this.state) || (this.state === 'evicted' && this.streamLive);
    this.offlineCard.hidden = playing || this.state === 'gone';
    if (this.goneCard) this.goneCard.hidden = this.state !== 'gone';
    this.player.hidden = !playing;
    // Exactly one badge, always: LIVE while the stream plays here, OFFLINE otherwise.
    if (this.liveBadge) this.liveBadge.hidden = !playing;
    if (this.offlineBadge) this.offlineBadge.hidden = playing;
  }

  say(text) {
    this.message.textContent = text;
  }

  // The server's word on the stream (a poll, or the host leaving the room).
  setStreamLive(live) {
    this.streamLive = live;
    if (this.state === 'gone' || this.state === 'evicted') {
      this.render();
      return;
    }
    if (live && this.state === 'offline') this.connect();
    else if (!live && this.state !== 'offline') this.enter('offline');
  }

  gone() {
    this.streamLive = false;
    this.enter('gone');
    if (this.guestForm) this.guestForm.hidden = true;
    this.chat?.setPermission(false, 'not_allowed');
  }

  // --- polling ------------------------------------------------------------------------------------

  schedulePoll(soon = null) {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.state === 'gone' || document.hidden) return;
    // Connected, the room's events tell us about the stream; the poll still refreshes the count.
    const cadence = this.room ? this.pollSeconds * 3 : this.pollSeconds;
    const seconds = soon ?? (this.recountSoon ? Math.min(3, this.pollSeconds) : cadence);
    this.pollTimer = setTimeout(async () => {
      await this.poll();
      this.schedulePoll();
    }, jittered(seconds));
  }

  onVisibility() {
    if (document.hidden) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    } else if (this.state !== 'gone') {
      this.poll().finally(() => this.schedulePoll());
    }
  }

  // The encoder left the room. The webhook that ends the stream can reach the server after the room told
  // us, so a "still live" answer is asked again every 2 s for a while before the slow cadence resumes.
  async askUntilEnded(tries = 8) {
    clearTimeout(this.pollTimer);
    this.pollTimer = null;
    await this.poll();
    if (tries > 1 && this.state === 'live' && !this.hostInRoom()) {
      this.pollTimer = setTimeout(() => this.askUntilEnded(tries - 1), 2000);
    } else {
      this.schedulePoll();
    }
  }

  hostInRoom() {
    return [...(this.room?.remoteParticipants.values() ?? [])].some((participant) => this.isHost(participant));
  }

  async poll() {
    if (this.state === 'gone') return;
    this.polls += 1;
    this.recountSoon = false;
    // Title, description and chat rules change rarely: refresh them every few polls, not every one.
    if (this.polls % 3 === 0) this.refreshInfo().catch(() => {});
    let response;
    try {
      response = await fetch(this.config.statusUrl, { credentials: 'same-origin' });
    } catch {
      return; // the site itself is unreachable for a moment: try again at the next tick
    }
    if (GONE_STATUSES.has(response.status)) {
      this.gone();
      return;
    }
    if (!response.ok) return;
    const status = await response.json().catch(() => null);
    if (!status) return;
    if (this.viewerCount) this.viewerCount.textContent = String(status.viewerCount);
    this.setStreamLive(Boolean(status.isLive));
  }

  // --- the room -----------------------------------------------------------------------------------

  guestName() {
    return sessionStorage.getItem(GUEST_NAME_KEY) || '';
  }

  isHost(participant) {
    return participant?.identity === this.publisherIdentity;
  }

  async connect() {
    if (!window.LivekitClient) {
      this.enter('offline', 'The video player could not be loaded.');
      return;
    }
    this.dropRoom();
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const attempt = ++this.attempt;
    this.enter(this.failures ? 'reconnecting' : 'connecting', 'Connecting…');
    let grant;
    try {
      const body = { username: this.config.username };
      if (this.config.signedIn !== 'true' && this.guestName()) body.guestName = this.guestName();
      grant = await postJson(this.config.tokenUrl, body);
    } catch (error) {
      if (attempt !== this.attempt) return; // the stream went offline (or gone) while we asked
      if (GONE_STATUSES.has(error.status)) this.gone();
      else this.retry(`We could not start the player (${error.message}).`);
      return;
    }
    if (attempt !== this.attempt) return; // stale: never build a room for a stream that went away
    const { Room, RoomEvent } = window.LivekitClient;
    const room = new Room({ adaptiveStream: true, dynacast: true });
    this.room = room;
    this.joined = false; // a connect that fails also emits Disconnected: only its rejection retries
    this.listen(room, RoomEvent);
    try {
      await room.connect(grant.wsUrl, grant.token);
    } catch {
      if (attempt !== this.attempt) return;
      this.dropRoom();
      this.retry('We cannot reach the video server right now.');
      return;
    }
    if (attempt !== this.attempt) {
      room.disconnect();
      return;
    }
    this.failures = 0;
    this.joined = true;
    this.enter('live');
    this.chat?.attach(room, RoomEvent, grant.token);
    this.people?.attach(room, RoomEvent);
    // Our own join reaches the server by webhook a moment after we are in: recount soon, then slowly.
    this.schedulePoll(Math.min(3, this.pollSeconds));
  }

  listen(room, RoomEvent) {
    const mine = (handler) => (...args) => {
      if (this.room === room) handler(...args);
    };
    room.on(RoomEvent.TrackSubscribed, mine((track, _publication, participant) => {
      if (this.isHost(participant) && (track.kind === 'video' || track.kind === 'audio')) track.attach(this.video);
    }));
    room.on(RoomEvent.TrackUnsubscribed, mine((track, _publication, participant) => {
      if (this.isHost(participant)) track.detach(this.video);
    }));
    room.on(RoomEvent.ParticipantDisconnected, mine((participant) => {
      if (this.isHost(participant)) this.askUntilEnded(); // the encoder stopped, or the stream ended
    }));
    room.on(RoomEvent.Reconnecting, mine(() => this.enter('reconnecting', 'Reconnecting to the video server…')));
    room.on(RoomEvent.Reconnected, mine(() => this.enter('live')));
    room.on(RoomEvent.Disconnected, mine((reason) => {
      if (this.joined) this.onDisconnected(reason);
    }));
  }

  retry(text) {
    if (!ACTIVE.has(this.state)) return; // offline, evicted or gone meanwhile: nothing reconnects
    const seconds = backoffSeconds(this.failures++);
    this.enter('reconnecting', `${text} Retrying in ${seconds} s.`);
    clearTimeout(this.retryTimer); // one retry timer at most, whatever asked for it
    this.retryTimer = setTimeout(() => this.connect(), seconds * 1000);
  }

  onDisconnected(reason) {
    const reasons = window.LivekitClient.DisconnectReason;
    this.room = null;
    this.chat?.detach();
    this.people?.detach();
    if (reason === reasons.DUPLICATE_IDENTITY) {
      // Reconnecting would evict the other tab, which would evict us: stop until the user asks.
      this.enter('evicted', 'You opened this stream somewhere else (another tab or device). Reload to watch here.');
    } else if (reason === reasons.PARTICIPANT_REMOVED) {
      this.enter('evicted', 'You were removed from this stream.');
      this.poll(); // a block makes the stream gone for us
    } else if (reason === reasons.ROOM_DELETED) {
      this.setStreamLive(false);
    } else if (ACTIVE.has(this.state)) {
      this.retry('The connection to the video server was lost.');
    }
  }

  dropRoom() {
    const room = this.room;
    this.room = null;
    if (!room) return;
    this.chat?.detach();
    this.people?.detach();
    room.disconnect();
  }

  async startAudio() {
    this.video.muted = false;
    try {
      await this.room?.startAudio();
      this.unmute.hidden = true;
    } catch {
      this.say('Your browser blocked sound: click unmute again.');
    }
  }

  // --- guests, follow, info -----------------------------------------------------------------------

  setupGuestForm() {
    if (!this.guestForm) return;
    const input = this.guestForm.querySelector('input[name=guest_name]');
    const note = this.guestForm.querySelector('[data-guest-saved]');
    const confirm = (name) => {
      note.textContent = name ? `✓ You chat as “${name}” (for this tab).` : '✓ You chat under a guest name.';
      this.guestForm.dataset.saved = 'true';
    };
    // Kept for the tab's session (sessionStorage), so a reload does not forget it.
    input.value = this.guestName();
    if (input.value) confirm(input.value);
    input.addEventListener('input', () => {
      note.textContent = '';
      delete this.guestForm.dataset.saved;
    });
    this.guestForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const name = input.value.trim().slice(0, 40);
      sessionStorage.setItem(GUEST_NAME_KEY, name);
      input.value = name;
      confirm(name);
      // The name is in the token: connect again with a fresh one.
      if (this.room) {
        this.dropRoom();
        this.connect();
      }
    });
  }

  async onFollow(event) {
    event.preventDefault();
    const following = this.followButton.dataset.following === 'true';
    try {
      const response = await fetch(this.followButton.dataset.url, {
        method: following ? 'DELETE' : 'POST',
        credentials: 'same-origin',
        headers: { 'X-CSRFToken': csrfToken() },
      });
      if (!response.ok && response.status !== 409) return;
      this.followButton.dataset.following = String(!following);
      this.followButton.textContent = following ? 'Follow' : 'Unfollow';
      await this.refreshInfo();
    } catch {
      this.say('That did not work: please try again.');
    }
  }

  // The right to chat may have changed (a follow, the creator's settings): ask the server, which decides.
  async refreshInfo() {
    if (!this.config.infoUrl) return;
    const response = await fetch(this.config.infoUrl, { credentials: 'same-origin' });
    if (!response.ok) return;
    const info = await response.json();
    const title = document.querySelector('[data-title]');
    if (title) title.textContent = info.title || 'Untitled stream';
    const description = document.querySelector('[data-description]');
    if (description) description.textContent = info.description;
    // A guest can chat only where guests may: the name form shows only then.
    if (this.guestForm) this.guestForm.hidden = !info.canChat;
    if (!this.chat) return;
    this.chat.setDelay(info.chatDelaySeconds);
    this.chat.setSlow(info.chatSlowSeconds);
    this.chat.setPermission(Boolean(info.canChat), info.chatBlockedReason);
  }
}

if (root) new WatchPage(root);
