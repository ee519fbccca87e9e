"""Cleaning of free text people type and others read: stream titles and descriptions, display names.

Control and format characters are dropped (Unicode category C: C0/C1 controls, right-to-left and other
bidi overrides, zero-width spaces and joiners, BOMs, unassigned and private-use code points), so text
cannot reorder the page around it, hide itself, or be made of nothing visible. Markup is kept as text:
pages render these values escaped (templates) or with textContent (JS), never as HTML. The services
apply it, so the API, the pages' forms and anything else that writes get the same result.
"""

import unicodedata

_LINE_BREAKS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n\n", "\x85": "\n"}


def _visible(text: str) -> str:
    # Whitespace controls (tab, line feed...) separate words: they become spaces, the rest disappear.
    return "".join(
        " " if ch.isspace() else ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )


def clean_line(value: str, *, max_length: int | None = None) -> str:
    """One line (a title, a name): invisible characters dropped, every run of whitespace made one space."""
    kept = " ".join(_visible(str(value)).split())
    if max_length is not None:
        kept = kept[:max_length].rstrip()
    return kept


def clean_text(value: str, *, max_length: int | None = None) -> str:
    """Several lines (a description): each cleaned as clean_line, breaks kept, at most one blank line."""
    text = str(value)
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    lines = [" ".join(_visible(line).split()) for line in text.split("\n")]
    kept = "\n".join(lines)
    while "\n\n\n" in kept:
        kept = kept.replace("\n\n\n", "\n\n")
    kept = kept.strip()
    if max_length is not None:
        kept = kept[:max_length].rstrip()
    return kept
