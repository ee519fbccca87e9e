"""The creator's keys page and stream manager in real Chromium, against the stand-in LiveKit."""

from playwright.sync_api import expect

from streams.models import Stream
from tests.e2e.conftest import log_in


def test_a_creator_generates_reveals_copies_and_resets_a_key(page, creator, password, livekit):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    log_in(page, "alice", password)
    page.goto("/dashboard/keys/")
    page.check("input[name=ingress_type][value=RTMP]")
    page.click("main button[type=submit]")
    expect(page.locator(".message.success")).to_contain_text("Your new stream key is ready.")

    key = Stream.objects.get(user=creator).stream_key
    expect(page.locator("[data-stream-key]")).to_be_hidden()  # masked until shown
    page.click("[data-key-reveal] summary")
    expect(page.locator("[data-stream-key]")).to_have_text(key)

    page.click("[data-copy='#stream-key']")
    expect(page.locator("[data-copy='#stream-key']")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == key

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.locator("form[data-confirm] button", has_text="Reset key").click()
    expect(page.locator(".message.success")).to_contain_text("Your key was reset.")
    assert dialogs and "Reset your stream key" in dialogs[0]
    new_key = Stream.objects.get(user=creator).stream_key
    assert new_key != key
    assert [i.stream_key for i in livekit.ingresses.values()] == [new_key]


def test_the_stream_manager_saves_details_and_chat_settings(page, creator, password, livekit, settings):
    settings.WATCH_POLL_SECONDS = 7
    log_in(page, "alice", password)
    page.goto("/dashboard/")
    expect(page.locator("[data-watch]")).to_have_attribute("data-poll-seconds", "7")
    page.fill("input[name=info-title]", "Chess <b>night</b>")
    page.click("[data-info-form] button[type=submit]")
    expect(page.locator(".message.success")).to_contain_text("Stream details saved.")
    page.check("input[name=chat-is_chat_followers_only]")
    page.click("[data-chat-settings-form] button[type=submit]")
    expect(page.locator(".message.success")).to_contain_text("Chat settings saved.")
    stream = Stream.objects.get(user=creator)
    assert stream.title == "Chess <b>night</b>" and stream.is_chat_followers_only
    expect(page.locator("[data-chat]")).to_have_attribute("data-delay-seconds", "0")
