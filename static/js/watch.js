// The watch page (/<username>/live): plays the creator's stream with livekit-client and runs the chat.
//
// Starts only if [data-watch] is on the page; configured by its data-* attributes. While the stream is
// offline the page polls the status endpoint (with jitter, so a crowd does not poll in step) and connects
// by itself when it goes live. A fresh token is asked for at each connect: the page never builds one.
import { ChatPanel } from './chat.js';

const root = document.querySelector('[data-watch]');

export function jittered(seconds) {
  return seconds * 1000 * (0.8 + Math.random() * 0.4);
}

export function backoffSeconds(attempt) {
  return Math.min(60, 2 ** Math.min(attempt, 6));
}

function csrfToken() {
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
    this.hostId = el.dataset.hostId;
    this.isLive = el.dataset.isLive === 'true';
    this.pollSeconds = Number(el.dataset.pollSeconds || 10);
    this.offlineCard = el.querySelector('[data-offline-card]');
    this.player = el.querySelector('[data-player]');
    this.video = el.querySelector('[data-video]');
    this.unmute = el.querySelector('[data-unmute]');
    this.message = el.querySelector('[data-player-message]');
    this.viewerCount = document.querySelector('[data-viewer-count]');
    this.liveBadge = document.querySelector('[data-live-badge]');
    this.guestForm = document.querySelector('[data-guest-form]');
    this.followButton = document.querySelector('[data-follow-button]');
    const chatRoot = document.querySelector('[data-chat]');
    this.chat = chatRoot ? new ChatPanel(chatRoot) : null;
    if (chatRoot) chatRoot.chatPanel = this.chat; // a handle for tests driving the room's events
    this.room = null;
    this.attempt = 0;
    this.stopped = false; // set after a duplicate-identity eviction: never reconnect by ourselves
    this.retryTimer = null;

    this.unmute?.addEventListener('click', () => this.startAudio());
    this.guestForm?.addEventListener('submit', (event) => this.onGuestName(event));
    this.followButton?.addEventListener('click', (event) => this.onFollow(event));
    this.show();
    if (this.isLive) this.connect();
    this.schedulePoll();
  }

  show() {
    this.offlineCard.hidden = this.isLive;
    this.player.hidden = !this.isLive;
    if (this.liveBadge) this.liveBadge.hidden = !this.isLive;
    this.el.dataset.state = this.isLive ? 'live' : 'offline';
  }

  say(text) {
    this.message.textContent = text;
  }

  schedulePoll() {
    // Connected, the room's events tell us about the stream; the poll still refreshes the count.
    const seconds = this.room ? this.pollSeconds * 3 : this.pollSeconds;
    setTimeout(() => this.poll().finally(() => this.schedulePoll()), jittered(seconds));
  }

  async poll() {
    this.polls = (this.polls || 0) + 1;
    // Title, description and chat rules change rarely: refresh them every few polls, not every one.
    if (this.polls % 3 === 0) this.refreshInfo().catch(() => {});
    try {
      const response = await fetch(this.config.statusUrl, { credentials: 'same-origin' });
      if (!response.ok) return;
      const status = await response.json();
      if (this.viewerCount) this.viewerCount.textContent = String(status.viewerCount);
      this.setLive(Boolean(status.isLive));
    } catch {
      // The site itself is unreachable for a moment: try again at the next tick.
    }
  }

  setLive(live) {
    if (live === this.isLive) return;
    this.isLive = live;
    this.show();
    if (live) {
      this.attempt = 0;
      this.connect();
    } else {
      this.disconnect();
      this.say('');
    }
  }

  guestName() {
    return sessionStorage.getItem('streamit-guest-name') || '';
  }

  async connect() {
    if (this.stopped || this.room || !window.LivekitClient) {
      if (!window.LivekitClient) this.say('The video player could not be loaded.');
      return;
    }
    clearTimeout(this.retryTimer);
    const { Room, RoomEvent, DisconnectReason } = window.LivekitClient;
    let grant;
    try {
      const body = { username: this.config.username };
      if (this.config.signedIn !== 'true' && this.guestName()) body.guestName = this.guestName();
      grant = await postJson(this.config.tokenUrl, body);
    } catch (error) {
      this.retry(`We could not start the player (${error.message}).`);
      return;
    }
    if (this.stopped || this.room) return; // evicted, or another connect won, while the token came
    const room = new Room({ adaptiveStream: true, dynacast: true });
    this.room = room;
    room.on(RoomEvent.TrackSubscribed, (track, _publication, participant) => {
      if (participant.identity === String(this.hostId) && track.kind === 'video') track.attach(this.video);
      if (participant.identity === String(this.hostId) && track.kind === 'audio') track.attach(this.video);
    });
    room.on(RoomEvent.ParticipantConnected, (participant) => {
      if (participant.identity === String(this.hostId)) this.setLive(true);
    });
    room.on(RoomEvent.ParticipantDisconnected, (participant) => {
      if (participant.identity === String(this.hostId)) this.poll();
    });
    room.on(RoomEvent.Disconnected, (reason) => this.onDisconnected(reason, DisconnectReason));
    try {
      this.say('Connecting…');
      await room.connect(grant.wsUrl, grant.token);
      this.attempt = 0;
      this.say('');
      this.chat?.attach(room, RoomEvent);
    } catch (error) {
      this.room = null;
      room.removeAllListeners?.();
      this.retry('We cannot reach the video server right now.');
    }
  }

  retry(text) {
    if (this.stopped) return; // evicted meanwhile: its message stays, and nothing reconnects
    const seconds = backoffSeconds(this.attempt++);
    this.say(`${text} Retrying in ${seconds} s.`);
    this.el.dataset.connection = 'retrying';
    this.retryTimer = setTimeout(() => this.connect(), seconds * 1000);
  }

  onDisconnected(reason, DisconnectReason) {
    this.room = null;
    this.chat?.detach();
    if (reason === DisconnectReason.DUPLICATE_IDENTITY) {
      // Reconnecting would evict the other tab, which would evict us: stop until the user asks.
      this.stopped = true;
      this.el.dataset.connection = 'duplicate';
      this.say('You opened this stream somewhere else (another tab or device). Reload to watch here.');
      return;
    }
    if (reason === DisconnectReason.PARTICIPANT_REMOVED) {
      this.stopped = true;
      this.say('You were removed from this stream.');
      return;
    }
    if (this.isLive) this.retry('The connection to the video server was lost.');
  }

  disconnect() {
    clearTimeout(this.retryTimer);
    const room = this.room;
    this.room = null;
    this.chat?.detach();
    room?.disconnect();
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

  onGuestName(event) {
    event.preventDefault();
    const input = this.guestForm.querySelector('input[name=guest_name]');
    sessionStorage.setItem('streamit-guest-name', input.value.trim().slice(0, 40));
    this.guestForm.dataset.saved = 'true';
    // The name is in the token: reconnect with a fresh one.
    if (this.room) {
      this.disconnect();
      this.connect();
    }
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

  // The right to chat may have changed (a follow): ask the server, which decides it.
  async refreshInfo() {
    const response = await fetch(this.config.infoUrl, { credentials: 'same-origin' });
    if (!response.ok) return;
    const info = await response.json();
    const title = document.querySelector('[data-title]');
    if (title) title.textContent = info.title || 'Untitled stream';
    const description = document.querySelector('[data-description]');
    if (description) description.textContent = info.description;
    if (!this.chat) return;
    this.chat.setDelay(info.chatDelaySeconds);
    this.chat.setPermission(Boolean(info.canChat), info.chatBlockedReason);
  }
}

if (root) new WatchPage(root);
