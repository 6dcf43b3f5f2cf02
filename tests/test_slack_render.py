"""Pure rendering and text safety: Block Kit within Slack's limits for any input, escaping, masking, parsing."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from handlers.command import parse, unwrap_link
from handlers.render import (
    as_dicts,
    campaigns_blocks,
    message_blocks,
    progress_blocks,
    recipient_blocks,
    step_blocks,
    verdict_blocks,
)
from handlers.text import clip, escape, mask_email, mask_emails_in

STEPS = ("suppression", "routing", "domains", "temporary_failures", "account", "authentication", "reputation")


def within_limits(blocks: list[Any]) -> list[dict[str, Any]]:
    raw = as_dicts(blocks)  # slack_sdk validates each block as it serialises it
    assert 0 < len(raw) <= 50
    for item in raw:
        Block.parse(item).validate_json()
        if item["type"] == "section":
            assert len(item["text"]["text"]) < 3000
    return raw


def report(summary: str, n_causes: int = 3, findings: int = 2) -> dict[str, Any]:
    step = {"status": "finding", "summary": summary,
            "findings": [{"code": "x", "severity": "warning", "summary": summary, "data": {}}] * findings,
            "data": {"domains": [{"domain": f"d{i}.test", "provider": "p", "recipients": 9, "send_only": 3,
                                  "rate": 0.33} for i in range(40)]}}
    return {"campaign": "spring-042", "now": "2026-03-02T12:00:00.000Z", "totals": {"delivered": 90, "send_only": 10},
            "send_only": {"count": 10, "rate": 0.1, "stuck_count": 8, "oldest_age_s": 7200.0},
            "steps": {name: step for name in STEPS},
            "causes": [{"cause": "suppression", "score": 0.5, "summary": summary,
                        "evidence": {"step": "suppression", "listed": 8, "examples": ["a@b.c"], "note": "x",
                                     "by_reason": {"BOUNCE": 6, "COMPLAINT": 2, "jo@x.net": 1}}}]
            * n_causes,
            "timings": {"state": 0.1, "total": 0.5}}


def test_verdict_blocks_clip_huge_reports() -> None:
    blocks = within_limits(verdict_blocks(report("x" * 10_000, n_causes=200, findings=300), steps=STEPS,
                                          delivery_window_s=900, first_send_ms=1, last_send_ms=2))
    assert blocks[0]["type"] == "header"
    assert "more cause(s)" in str(blocks)


def test_evidence_shows_counts_never_examples() -> None:
    text = str(as_dicts(verdict_blocks(report("s"), steps=STEPS, delivery_window_s=900)))
    assert "listed: 8" in text and "by reason: BOUNCE 6, COMPLAINT 2, j***@x.net 1" in text
    assert "examples" not in text and "a@b.c" not in text and "jo@x.net" not in text


def test_step_and_list_blocks_clip() -> None:
    within_limits(step_blocks("domains", report("y" * 5000, findings=500)["steps"]["domains"], "c"))
    rows = [{"campaign": f"c{i}", "recipients": 10, "last_send": f"2026-03-02T{i % 24:02d}:00:00.000Z",
             "send_only": {"count": 1, "rate": 0.1, "stuck_count": 1, "oldest_age_s": 60.0}} for i in range(2000)]
    within_limits(campaigns_blocks({"campaigns": rows}))
    events = [{"type": "Bounce", "time": "2026-03-02T09:00:00.000Z", "detail": "z" * 3000}] * 20
    within_limits(message_blocks({"message_id": "m", "campaign": "c", "recipients": [
        {"recipient": f"u{i}@example.net", "state": "bounced", "events": events} for i in range(500)]}, False))
    within_limits(recipient_blocks({"recipient": "u@example.net", "messages": [
        {"message_id": "m", "campaign": "c", "state": "bounced", "events": events}] * 100}, True))
    within_limits(progress_blocks("c" * 5000, STEPS, {"routing": {"status": "ok", "summary": "s" * 5000}}))


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=4000), campaign=st.text(min_size=1, max_size=300))
def test_any_text_renders_valid_and_escaped(text: str, campaign: str) -> None:
    data = report(text)
    data["campaign"] = campaign
    raw = within_limits(verdict_blocks(data, steps=STEPS, delivery_window_s=900))
    shown = [b for b in raw if b["type"] != "actions"]  # button values are data, not text
    for block in shown:
        for piece in [block.get("text"), *(block.get("elements") or [])]:
            if piece and "text" in piece:
                assert "<" not in piece["text"] and ">" not in piece["text"]


def test_escape_mask_clip() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    assert mask_email("jane@example.net") == "j***@example.net"
    assert mask_email(" Jane.Doe+x@Example.NET ") == "J***@Example.NET"
    assert mask_emails_in("550 <jane@example.net> unknown") == "550 <j***@example.net> unknown"
    assert clip("a" * 10, 5) == "aaaa…"
    assert clip("abc &amp; def", 7) == "abc …"  # never half an escape


def test_parse_command_text() -> None:
    assert parse("  WHY   spring-042 ").word == "why"
    assert parse("why campaign spring-042").args == ("spring-042",)
    assert parse("why campaign").args == ("campaign",)
    assert parse("").word == ""
    assert unwrap_link("<mailto:jane@example.net|jane@example.net>") == "jane@example.net"
    assert unwrap_link("<http://example.com|example.com>") == "example.com"
    assert unwrap_link("plain") == "plain"
