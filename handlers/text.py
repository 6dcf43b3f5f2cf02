"""Text safety for Slack: escape what users and events wrote, mask addresses, clip to Slack's limits. Pure."""

from __future__ import annotations

import re

SECTION_TEXT_MAX = 3000  # Slack rejects a section text of 3,000 characters or more
PLAIN_TEXT_MAX = 150  # header and button labels
CONTEXT_TEXT_MAX = 2000

EMAIL = re.compile(r"([A-Za-z0-9._%+'-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def escape(text: object) -> str:
    """Slack's three control characters, so `<!channel>`, `<@U1>` and `<http://x|y>` show as typed."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: object) -> str:
    """An escaped inline-code span (a backtick inside would end it, so it becomes a look-alike)."""
    return "`" + escape(text).replace("`", "ˋ") + "`"


def mask_email(address: str) -> str:
    """`jane@example.net` -> `j***@example.net` (the domain stays: it is what the investigation is about)."""
    local, at, domain = address.strip().partition("@")
    if not at:
        return (local[:1] + "***") if local else "***"
    return f"{local[:1]}***@{domain}"


def mask_emails_in(text: str) -> str:
    """Mask every address inside free text (bounce diagnostics often quote the recipient)."""
    return EMAIL.sub(lambda m: mask_email(m.group(0)), text)


def clip(text: str, limit: int) -> str:
    """At most `limit` characters; a cut is marked with an ellipsis (and never splits an `&amp;` escape)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def percent(rate: float) -> str:
    return f"{rate:.1%}"
