"""Blocking people from the pages (issue 18, item 5): the creator blocks a viewer from a chat line and from
the dashboard's list of people in the room, each after a confirmation; everyone has a page of whom they
blocked with Unblock; a viewer's Block on a creator asks first.

The room is a stand-in object with livekit-client's shape, chat lines arriving as the server's packets (a
real connection needs WebRTC, which the test_realtime_* tests cover): it holds bob (a registered viewer)
and a guest, and lets the test emit events.
"""

from playwright.sync_api import expect

from accounts.models import Block
from tests.e2e.conftest import log_in, wait_until

FAKE_ROOM = """
(bobId) => {
  const handlers = {};
  const participants = new Map([
    [String(bobId), { identity: String(bobId), name: 'bob' }],
    ['guest-1764000000000-0a1b2c3d', { identity: 'guest-1764000000000-0a1b2c3d', name: 'Zed' }],
  ]);
  const room = {
    localParticipant: { identity: 'Host-x', name: 'alice', permissions: { canPublishData: true } },
    remoteParticipants: participants,
    on(event, callback) { (handlers[event] ||= []).push(callback); return room; },
    registerTextStreamHandler(topic, callback) { handlers['text:' + topic] = [callback]; },
  };
  const events = {
    DataReceived: 'dataReceived', ParticipantPermissionsChanged: 'permissions',
    ParticipantConnected: 'connected', ParticipantDisconnected: 'disconnected',
    ParticipantNameChanged: 'name',
  };
  document.querySelector('[data-chat]').chatPanel.attach(room, events);
  document.querySelector('[data-people]').peoplePanel.attach(room, events);
  window.__room = {
    room, handlers,
    // As the server delivers chat: a SendData packet on the chat topic, from no participant.
    say: (identity, text) => {
      const message = {
        id: (window.__said = (window.__said || 0) + 1), author: identity,
        name: participants.get(identity).name,
        role: identity.startsWith('guest-') ? 'guest' : 'viewer',
        text, time: new Date().toISOString(),
      };
      const payload = new TextEncoder().encode(JSON.stringify({ type: 'message', message }));
      handlers.dataReceived.forEach((handler) => handler(payload, undefined, 0, 'streamit.chat'));
    },
  };
}
"""


def open_dashboard_with_room(page, viewer, password):
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    wait_until(page, "document.querySelector('[data-people]').peoplePanel !== undefined")
    page.evaluate(f"({FAKE_ROOM})({viewer.pk})")


def answer_dialogs(page, *answers):
    """Answer the next confirmation dialogs in order; returns the questions asked."""
    asked, pending = [], list(answers)

    def on_dialog(dialog):
        asked.append(dialog.message)
        dialog.accept() if pending.pop(0) else dialog.dismiss()

    page.on("dialog", on_dialog)
    return asked


def test_a_creator_blocks_a_viewer_from_a_chat_line(page, creator, viewer, password):
    open_dashboard_with_room(page, viewer, password)
    page.evaluate(f"window.__room.say('{viewer.pk}', 'hi from bob')")
    page.evaluate("window.__room.say('guest-1764000000000-0a1b2c3d', 'hi from a guest')")
    lines = page.locator("[data-chat-messages] li")
    expect(lines).to_have_count(2)
    expect(lines.nth(1).locator("[data-block-user]")).to_have_count(0)  # a guest has no account to block
    asked = answer_dialogs(page, False, True)

    lines.nth(0).locator("[data-block-user=bob]").click()  # dismissed: nothing happens
    page.wait_for_timeout(300)
    assert not Block.objects.exists()
    lines.nth(0).locator("[data-block-user=bob]").click()

    expect(page.locator("[data-chat-messages] .chat-system")).to_contain_text("You blocked bob")
    assert Block.objects.filter(blocker=creator, blocked=viewer).exists()
    assert len(asked) == 2 and "Block bob?" in asked[0]
    expect(page.locator("[data-block-user=bob]")).to_have_count(0)  # nor in the people list


def test_a_creator_blocks_a_viewer_from_the_people_in_the_room(page, creator, viewer, password):
    open_dashboard_with_room(page, viewer, password)
    people = page.locator("[data-people-list] li")
    expect(people).to_have_count(2)
    expect(page.locator("[data-people-empty]")).to_be_hidden()
    expect(page.locator("[data-people-list] [data-block-user]")).to_have_count(1)  # bob, not the guest
    asked = answer_dialogs(page, True)

    page.click("[data-people-list] [data-block-user=bob]")

    expect(people).to_have_count(1)
    expect(people.first).to_contain_text("Zed")
    assert Block.objects.filter(blocker=creator, blocked=viewer).exists()
    assert "Block bob?" in asked[0]


def test_a_viewer_is_asked_before_blocking_a_creator_and_can_unblock(page, creator, viewer, password):
    log_in(page, "bob", password)
    page.goto("/alice/")
    asked = answer_dialogs(page, False, True)
    page.click("[data-block-button]")
    page.wait_for_timeout(300)
    assert not Block.objects.exists() and "/alice/" in page.url

    page.goto("/alice/live")
    page.click("[data-block-button]")
    page.wait_for_url("**/blocked/")
    assert Block.objects.filter(blocker=viewer, blocked=creator).exists()
    assert "Block alice?" in asked[0]
    expect(page.locator("[data-blocked=alice]")).to_be_visible()

    page.locator("[data-blocked=alice] button", has_text="Unblock").click()
    expect(page.locator(".message.success")).to_contain_text("You unblocked alice.")
    expect(page.locator("[data-blocked-empty]")).to_be_visible()
    assert not Block.objects.exists()
    assert page.goto("/alice/live").status == 200


def test_a_creator_finds_and_unblocks_a_viewer_from_the_nav(page, creator, viewer, outsider, password):
    Block.objects.create(blocker=creator, blocked=viewer)
    Block.objects.create(blocker=creator, blocked=outsider)
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    page.click("nav >> text=Blocked")
    expect(page.locator("[data-blocked]")).to_have_count(2)
    page.locator("[data-blocked=bob] button").click()
    expect(page.locator("[data-blocked]")).to_have_count(1)
    assert list(Block.objects.values_list("blocked__username", flat=True)) == ["charlie"]


def test_the_blocked_page_needs_a_log_in(page):
    page.goto("/blocked/")
    assert "/accounts/login/" in page.url
