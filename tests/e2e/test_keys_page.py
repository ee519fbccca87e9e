"""The keys page's forms and the Block button's contrast (issue 18, item 6)."""

from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.test_watch import give_ingress

# WCAG contrast of an element's text against the first opaque background behind it.
CONTRAST = """
(el) => {
  const rgb = (css) => css.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length < 4 || c[3] > 0) bg = c;
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(bg || [255, 255, 255])].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}
"""


def test_each_confirm_box_has_its_own_id_and_label(page, creator, password, livekit):
    give_ingress(creator)
    log_in(page, "alice", password)
    page.goto("/dashboard/keys/")
    boxes = page.locator("input[name=confirm]")
    expect(boxes).to_have_count(2)
    ids = [boxes.nth(i).get_attribute("id") for i in range(2)]
    assert len(set(ids)) == 2 and all(ids), ids
    assert page.locator("[id]").evaluate_all("els => els.length - new Set(els.map(e => e.id)).size") == 0

    delete_section = page.locator("section", has=page.locator("button", has_text="Delete key"))
    reset_section = page.locator("section", has=page.locator("button", has_text="Reset key"))
    delete_section.locator("label", has=page.locator("input[name=confirm]")).click()
    expect(delete_section.locator("input[name=confirm]")).to_be_checked()
    expect(reset_section.locator("input[name=confirm]")).not_to_be_checked()

    # Every label names an element that exists; the radio group is a fieldset with a legend.
    assert page.locator("label[for='']").count() == 0
    for label_for in page.locator("label[for]").evaluate_all("els => els.map(e => e.htmlFor)"):
        assert page.locator(f"#{label_for}").count() == 1, label_for
    expect(reset_section.locator("fieldset legend")).to_have_text("Stream with")

    # The box sits on its label's line, not alone under it.
    box = reset_section.locator("input[name=confirm]").bounding_box()
    text = reset_section.locator("label", has=page.locator("input[name=confirm]")).bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (text["y"] + min(text["height"], 40) / 2)) < 12


def test_the_block_button_is_readable(page, creator, viewer, password):
    log_in(page, "bob", password)
    page.goto("/alice/live")
    ratio = page.locator("[data-block-button]").evaluate(CONTRAST)
    assert ratio >= 4.5, f"Block button contrast {ratio:.2f}:1"
