"""A small PNG for an alert: recipients sent per minute and those still Send-only, from the campaign aggregates.

matplotlib's `Figure` API with the Agg canvas (never pyplot: this runs in a long-lived process), imported lazily
because importing it costs about a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

from bot.store import CampaignSummary

MAX_BARS = 240  # wider campaigns are binned so the chart stays readable and cheap


def render_alert_chart(summary: CampaignSummary, now_ms: int, delivery_window_s: int) -> bytes | None:
    """PNG bytes, or None when the campaign has no Send per minute to draw."""
    sends = summary.events_by_minute.get("Send", {})
    if not sends:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    first, last = min(sends), max(max(sends), max(summary.send_only_by_minute, default=0))
    width = max(1, -(-(last - first + 1) // MAX_BARS))  # minutes per bar
    bins = range(first, last + 1, width)
    sent = [sum(sends.get(m, 0) for m in range(b, b + width)) for b in bins]
    stuck = [sum(summary.send_only_by_minute.get(m, 0) for m in range(b, b + width)) for b in bins]
    times = [datetime.fromtimestamp(b * 60, UTC) for b in bins]
    bar_width = width / 1440 * 0.9  # days, matplotlib's date unit

    figure = Figure(figsize=(6, 2.4), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar(times, sent, width=bar_width, color="#9bb7d4", label="sent")
    ax.bar(times, stuck, width=bar_width, color="#d9534f", label="still Send-only")
    window_start = datetime.fromtimestamp((now_ms - delivery_window_s * 1000) / 1000, UTC)
    ax.axvline(window_start, color="#555555", linestyle="--", linewidth=0.8, label="delivery window")
    ax.set_ylabel(f"recipients / {width} min" if width > 1 else "recipients / min")
    ax.set_title(f"{summary.campaign or '(untagged)'}: Send-only by send time", fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper right")
    figure.autofmt_xdate()
    figure.tight_layout()
    out = BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
