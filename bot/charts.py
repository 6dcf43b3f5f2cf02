"""Charts of one investigation, as PNGs sized for Slack's preview (800 x 500 px, large type).

Four charts, each built by a function that returns a matplotlib `Figure` (so tests can read what is plotted) from
plain data the investigation already holds, and rendered by `render_charts`:

* ``outcomes.png``: recipients per state (DESIGN §3), Send-only highlighted.
* ``send_only_age.png``: how old the Send-only recipients are (from the per-send-minute counts), split into in
  flight / stuck / past the retry deadline, against the delivery window and the retry deadline.
* ``domains.png``: Send-only rate by mailbox provider and for the top domains (the `domains` step's data), against
  the campaign's overall rate; when that step was skipped or failed, the domains from the store alone, saying so.
* ``timeline.png``: events per minute by type over the campaign; when outcome events stop while Sends go on, the
  gap is shaded and labelled.

matplotlib is imported lazily (about 1 s) and only through the `Figure` API with the Agg canvas: never pyplot,
whose global state does not belong in a long-running, threaded process.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bot.investigate import Investigation
    from bot.store import CampaignSummary
    from checks.findings import StepResult

MINUTE_MS = 60_000
WIDTH_IN, HEIGHT_IN, DPI = 8.0, 5.0, 100  # 800 x 500 px: Slack's preview size
TITLE_SIZE, LABEL_SIZE, TICK_SIZE, NOTE_SIZE = 17, 14, 12, 12
MAX_TIMELINE_POINTS = 240
TOP_DOMAINS = 8
OUTCOME_STOP_GAP_MIN = 5  # Sends going on this long after the last outcome event: the outcomes stopped
NOW_REACH_MIN = 180  # the timeline runs on to `now` when now is within max(this, 2 x the events' span) of them

STATE_ORDER = ("send_only", "delayed", "delivered", "bounced", "suppressed", "complained", "rejected",
               "rendering_failed", "unknown")
STATE_LABELS = {"send_only": "Send only", "delayed": "Delayed", "delivered": "Delivered", "bounced": "Bounced",
                "suppressed": "Suppressed", "complained": "Complained", "rejected": "Rejected",
                "rendering_failed": "Rendering failed", "unknown": "Unknown (no Send)"}
STATE_COLORS = {"send_only": "#d95f02", "delayed": "#e6ab02", "delivered": "#1b9e77", "bounced": "#a6341b",
                "suppressed": "#7570b3", "complained": "#e7298a", "rejected": "#666666",
                "rendering_failed": "#999999", "unknown": "#bbbbbb"}
AGE_COLORS = {"in_flight": "#66a61e", "stuck": "#d95f02", "lost": "#a6341b"}
# Outcome types first; engagement (Open, Click) is left out: it is not an outcome and would dwarf the rest.
TIMELINE_TYPES = ("Send", "Delivery", "DeliveryDelay", "Bounce", "Complaint", "Reject", "Rendering Failure")
OUTCOME_TYPES = frozenset(TIMELINE_TYPES) - {"Send"}
TYPE_COLORS = {"Send": "#333333", "Delivery": "#1b9e77", "DeliveryDelay": "#e6ab02", "Bounce": "#a6341b",
               "Complaint": "#e7298a", "Reject": "#666666", "Rendering Failure": "#999999"}

CHART_FILES = ("outcomes.png", "send_only_age.png", "domains.png", "timeline.png")


# ------------------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class AgeHistogram:
    """Send-only recipients by age: bin edges in `unit` ("min" or "h") and the count of each bin per category."""

    unit: str
    edges: list[float]
    in_flight: list[int]
    stuck: list[int]
    lost: list[int]

    @property
    def total(self) -> int:
        return sum(self.in_flight) + sum(self.stuck) + sum(self.lost)


def age_histogram(send_only_by_minute: Mapping[int, int], now_ms: int, delivery_window_s: int,
                  retry_deadline_s: int) -> AgeHistogram:
    """Bin the Send-only counts by age at `now_ms`. A send minute's age is measured from its newest send (the
    rule of `checks.send_only`), so a recipient counts as stuck exactly when the Send-only figures say so."""
    ages = [(max(0.0, (now_ms - (minute + 1) * MINUTE_MS) / 1000), n)
            for minute, n in send_only_by_minute.items() if n > 0]
    oldest = max((a for a, _ in ages), default=0.0)
    span_s = max(oldest, delivery_window_s * 1.5)
    unit, scale = ("h", 3600.0) if span_s > 3 * 3600 else ("min", 60.0)
    step = _nice_step(span_s / scale / 24)
    bins = max(1, math.ceil(oldest / scale / step + 1e-9)) if ages else 1
    edges = [i * step for i in range(bins + 1)]
    counts = {"in_flight": [0] * bins, "stuck": [0] * bins, "lost": [0] * bins}
    for age_s, n in ages:
        i = min(bins - 1, int(age_s / scale / step))
        kind = "lost" if age_s >= retry_deadline_s else "stuck" if age_s >= delivery_window_s else "in_flight"
        counts[kind][i] += n
    return AgeHistogram(unit, edges, counts["in_flight"], counts["stuck"], counts["lost"])


@dataclass(frozen=True)
class RateRow:
    """One provider or domain: recipients with a known Send, how many are Send-only, how many delayed."""

    label: str
    recipients: int
    send_only: int
    delayed: int = 0

    @property
    def rate(self) -> float:
        return self.send_only / self.recipients if self.recipients else 0.0

    @property
    def delayed_rate(self) -> float:
        return self.delayed / self.recipients if self.recipients else 0.0

    @property
    def pending(self) -> int:
        return self.send_only + self.delayed


@dataclass(frozen=True)
class DomainRates:
    overall: float  # Send-only rate of the campaign
    overall_pending: float  # Send-only + delayed
    providers: list[RateRow]  # empty when the domains step gave none
    domains: list[RateRow]
    note: str = ""  # why providers are missing, when they are


def domain_rates(summary: CampaignSummary, domains_step: StepResult | None, top: int = TOP_DOMAINS) -> DomainRates:
    """Providers and top domains, most pending (Send-only + delayed) first, from the `domains` step's data when it
    has them, else the domains from the store (and a note saying why there are no providers). The delayed counts
    come from the store (per domain; per provider through the step's domain -> provider mapping), because a
    deferring provider's recipients are mostly `delayed`, not Send-only, and that is the contrast to see."""
    sent = sum(n for state, n in summary.totals.items() if state != "unknown")
    overall = summary.totals.get("send_only", 0) / sent if sent else 0.0
    overall_pending = (summary.totals.get("send_only", 0) + summary.totals.get("delayed", 0)) / sent if sent else 0.0
    delayed_of = {d: states.get("delayed", 0) for d, states in summary.domains.items()}
    data: dict[str, Any] = dict(getattr(domains_step, "data", None) or {})
    step_domains = [d for d in data.get("domains") or () if isinstance(d, Mapping)]
    provider_delayed: dict[str, int] = {}
    for d in step_domains:
        provider = str(d.get("provider", "?"))
        provider_delayed[provider] = provider_delayed.get(provider, 0) + delayed_of.get(str(d.get("domain")), 0)
    providers = [RateRow(str(p.get("provider", "?")), int(p.get("recipients", 0)), int(p.get("send_only", 0)),
                         int(p.get("delayed", provider_delayed.get(str(p.get("provider", "?")), 0))))
                 for p in data.get("providers") or () if isinstance(p, Mapping)]
    domains = [RateRow(str(d.get("domain", "?")), int(d.get("recipients", 0)), int(d.get("send_only", 0)),
                       int(d.get("delayed", delayed_of.get(str(d.get("domain")), 0)))) for d in step_domains]
    note = ""
    if not domains:
        domains = [RateRow(domain, sum(n for s, n in states.items() if s != "unknown"), states.get("send_only", 0),
                           states.get("delayed", 0)) for domain, states in summary.domains.items()]
    if not providers:
        if domains_step is None:
            note = "providers not resolved (no domains step)"
        else:
            status = str(getattr(domains_step, "status", ""))
            reason = str(getattr(domains_step, "summary", "")).strip()
            note = f"providers not resolved: {status}" + (f" ({reason})" if reason else "")
    order = lambda r: (-r.pending, -r.send_only, -r.recipients, r.label)  # noqa: E731
    providers.sort(key=order)
    domains.sort(key=order)
    return DomainRates(overall, overall_pending, providers, domains[:top], note)


@dataclass
class Timeline:
    """Recipients per type per bin of `bin_minutes`, bins starting at `start_minute` (epoch minutes)."""

    start_minute: int
    bin_minutes: int
    series: dict[str, list[int]] = field(default_factory=dict)
    last_outcome_minute: int | None = None
    last_send_minute: int | None = None
    outcomes_stopped: bool = False  # Sends went on for OUTCOME_STOP_GAP_MIN or more after the last outcome
    sends_after_stop: int = 0
    now_minute: int | None = None  # set when the axis runs on to `now` after the last event

    @property
    def bins(self) -> int:
        return len(next(iter(self.series.values()), []))


def timeline(events_by_minute: Mapping[str, Mapping[int, int]], now_ms: int | None = None,
             max_points: int = MAX_TIMELINE_POINTS) -> Timeline:
    """Bin events per minute by type; find where outcome events stop while Sends go on."""
    now_minute = None if now_ms is None else now_ms // MINUTE_MS
    minutes = [m for t in TIMELINE_TYPES for m, n in events_by_minute.get(t, {}).items()
               if n > 0 and (now_minute is None or m <= now_minute)]
    if not minutes:
        return Timeline(0, 1)
    first, last = min(minutes), max(minutes)
    extended = False
    if now_minute is not None and last < now_minute <= last + max(NOW_REACH_MIN, 2 * (last - first + 1)):
        last, extended = now_minute, True  # show the quiet stretch up to now: that is where things stopped
    span = last - first + 1
    bin_minutes = _nice_bin(span, max_points)
    bins = span // bin_minutes + (1 if span % bin_minutes else 0)
    out = Timeline(first, bin_minutes, now_minute=now_minute if extended else None)
    for etype in TIMELINE_TYPES:
        per = events_by_minute.get(etype) or {}
        if not any(n > 0 for n in per.values()):
            continue
        values = [0] * bins
        for minute, n in per.items():
            if first <= minute <= last:
                values[(minute - first) // bin_minutes] += n
        out.series[etype] = values
    outcome_minutes = [m for t in OUTCOME_TYPES for m, n in events_by_minute.get(t, {}).items() if n > 0]
    send_minutes = [m for m, n in events_by_minute.get("Send", {}).items() if n > 0]
    out.last_outcome_minute = max(outcome_minutes, default=None)
    out.last_send_minute = max(send_minutes, default=None)
    if out.last_send_minute is not None:
        stop = out.last_outcome_minute if out.last_outcome_minute is not None else min(send_minutes) - 1
        if out.last_send_minute - stop >= OUTCOME_STOP_GAP_MIN:
            out.outcomes_stopped = True
            out.sends_after_stop = sum(n for m, n in events_by_minute.get("Send", {}).items() if m > stop)
    return out


# ----------------------------------------------------------------------------------------------------- figures


def _figure(rows: int = 1, cols: int = 1, **kwargs: Any) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    return fig, [ax for row in axes for ax in row]


def _style(ax: Axes) -> None:
    ax.tick_params(labelsize=TICK_SIZE)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _legend_above(ax: Axes, columns: int) -> None:
    ax.legend(fontsize=NOTE_SIZE, loc="lower left", bbox_to_anchor=(0.0, 1.0, 1.0, 0.1), mode="expand",
              ncols=max(1, columns), frameon=False, borderaxespad=0.2)


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=LABEL_SIZE, transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def outcomes_figure(totals: Mapping[str, int], campaign: str = "") -> Figure:
    """Horizontal bars: recipients per state (states with none are left out), largest context first."""
    fig, (ax,) = _figure()
    total = sum(totals.values())
    states = [s for s in STATE_ORDER if totals.get(s, 0) > 0]
    states += sorted(s for s, n in totals.items() if n > 0 and s not in STATE_ORDER)
    fig.suptitle(f"Outcomes{f' of {campaign}' if campaign else ''}: {total:,} recipients", fontsize=TITLE_SIZE)
    if not states:
        _empty(ax, "No recipients recorded yet")
        return fig
    values = [totals[s] for s in states]
    ypos = list(range(len(states)))[::-1]
    ax.barh(ypos, values, color=[STATE_COLORS.get(s, "#888888") for s in states], height=0.7)
    ax.set_yticks(ypos, [STATE_LABELS.get(s, s) for s in states], fontsize=LABEL_SIZE)
    for y, v in zip(ypos, values, strict=True):
        ax.text(v, y, f"  {v:,} ({v / total:.1%})", va="center", fontsize=NOTE_SIZE)
    ax.set_xlim(0, max(values) * 1.35)
    ax.set_xlabel("recipients", fontsize=LABEL_SIZE)
    _style(ax)
    return fig


def send_only_age_figure(send_only_by_minute: Mapping[int, int], now_ms: int, delivery_window_s: int,
                         retry_deadline_s: int) -> Figure:
    """Stacked histogram of Send-only ages with the delivery window and the retry deadline marked."""
    hist = age_histogram(send_only_by_minute, now_ms, delivery_window_s, retry_deadline_s)
    fig, (ax,) = _figure()
    fig.suptitle(f"Send-only recipients by age: {hist.total:,}", fontsize=TITLE_SIZE)
    if hist.total == 0:
        _empty(ax, "No Send-only recipients")
        return fig
    scale = 3600.0 if hist.unit == "h" else 60.0
    lefts = hist.edges[:-1]
    width = hist.edges[1] - hist.edges[0]
    bottom = [0] * len(lefts)
    for kind, label in (("in_flight", "in flight"), ("stuck", "stuck"), ("lost", "past retry deadline")):
        heights = getattr(hist, kind)
        if not any(heights):
            continue
        ax.bar(lefts, heights, width=width * 0.95, bottom=bottom, align="edge", color=AGE_COLORS[kind],
               label=f"{label} ({sum(heights):,})")
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    right = max(hist.edges[-1], delivery_window_s / scale * 1.5)
    ax.set_xlim(0, right * 1.02)
    ymax = max(bottom)
    for seconds, label, color in ((delivery_window_s, "delivery window", "#1f78b4"),
                                  (retry_deadline_s, "retry deadline", "#a6341b")):
        x = seconds / scale
        if x <= right:
            ax.axvline(x, color=color, linestyle="--", linewidth=2)
            left_side = x > right * 0.6
            ax.text(x, ymax * 1.27, f" {label} {_duration(seconds)} ", color=color, fontsize=NOTE_SIZE,
                    va="top", ha="right" if left_side else "left")
        else:
            ax.annotate(f"{label} {_duration(seconds)} →", xy=(1.0, 1.0), xycoords="axes fraction", ha="right",
                        va="top", fontsize=NOTE_SIZE, color=color)
    ax.set_ylim(0, ymax * 1.3)
    ax.set_xlabel(f"age at evaluation ({'hours' if hist.unit == 'h' else 'minutes'} since Send)",
                  fontsize=LABEL_SIZE)
    ax.set_ylabel("recipients", fontsize=LABEL_SIZE)
    _legend_above(ax, 3)
    _style(ax)
    return fig


def domains_figure(rates: DomainRates) -> Figure:
    """Send-only (and delayed, stacked) rate by provider (left) and for the top domains (right); the campaign's
    Send-only + delayed rate as a dashed line; rows above 1.5 x that rate in strong colours."""
    panels = [("by provider", rates.providers), ("top domains", rates.domains)] if rates.providers else [
        ("top domains", rates.domains)]
    fig, axes = _figure(1, len(panels))
    any_delayed = any(r.delayed for r in [*rates.providers, *rates.domains])
    title = (f"Send-only + delayed by domain (campaign {rates.overall_pending:.1%})" if any_delayed
             else f"Send-only rate by recipient domain (campaign {rates.overall:.1%})")
    fig.suptitle(title, fontsize=TITLE_SIZE)
    if not rates.domains:
        _empty(axes[0], "No recipients recorded yet")
        return fig
    for ax, (title, rows) in zip(axes, panels, strict=True):
        ypos = list(range(len(rows)))[::-1]
        stands_out = [r.pending and (r.rate + r.delayed_rate) > rates.overall_pending * 1.5 for r in rows]
        send_only = [r.rate * 100 for r in rows]
        delayed = [r.delayed_rate * 100 for r in rows]
        ax.barh(ypos, send_only, height=0.7, label="Send only",
                color=[STATE_COLORS["send_only"] if hot else "#9a9a9a" for hot in stands_out])
        if any_delayed:
            ax.barh(ypos, delayed, left=send_only, height=0.7, label="delayed",
                    color=[STATE_COLORS["delayed"] if hot else "#cfcfcf" for hot in stands_out])
        ax.set_yticks(ypos, [_clip(r.label, 22) for r in rows], fontsize=TICK_SIZE)
        for label, hot in zip(ax.get_yticklabels(), stands_out, strict=True):
            label.set_fontweight("bold" if hot else "normal")
        ax.axvline(rates.overall_pending * 100, color="#1f78b4", linestyle="--", linewidth=2)
        ends = [a + b for a, b in zip(send_only, delayed, strict=True)]
        top = max([*ends, rates.overall_pending * 100, 1.0])
        for y, r, end in zip(ypos, rows, ends, strict=True):
            ax.text(end, y, f" {r.pending:,}/{r.recipients:,}", va="center", fontsize=NOTE_SIZE - 1)
        ax.set_xlim(0, top * 1.5)
        ax.set_title(title, fontsize=LABEL_SIZE)
        ax.set_xlabel("% of recipients", fontsize=LABEL_SIZE)
        _style(ax)
    if any_delayed:
        from matplotlib.patches import Patch

        handles = [Patch(color=STATE_COLORS["send_only"], label="Send only"),
                   Patch(color=STATE_COLORS["delayed"], label="delayed"),
                   Patch(color="#9a9a9a", label="near the campaign rate")]
        fig.legend(handles=handles, fontsize=NOTE_SIZE - 1, loc="outside lower center", ncols=3, frameon=False)
    if rates.note:
        axes[0].set_title(f"top domains ({_clip(rates.note, 60)})", fontsize=NOTE_SIZE, color="#555555")
    return fig


def timeline_figure(events_by_minute: Mapping[str, Mapping[int, int]], now_ms: int | None = None) -> Figure:
    """Events per minute by type; the stretch where Sends go on without outcome events is shaded."""
    import matplotlib.dates as mdates

    line = timeline(events_by_minute, now_ms)
    fig, (ax,) = _figure()
    unit = "minute" if line.bin_minutes == 1 else f"{line.bin_minutes} minutes"
    fig.suptitle(f"Events per {unit} by type", fontsize=TITLE_SIZE)
    if not line.series:
        _empty(ax, "No events recorded yet")
        return fig
    xs = [_minute_dt(line.start_minute + i * line.bin_minutes) for i in range(line.bins)]
    for etype, values in line.series.items():
        ax.plot(xs, values, label=etype, color=TYPE_COLORS.get(etype, "#888888"), linewidth=2.2 if etype in (
            "Send", "Delivery") else 1.8, drawstyle="steps-post")
    if line.outcomes_stopped and line.last_send_minute is not None:
        stop = line.last_outcome_minute
        begin = _minute_dt(stop + 1) if stop is not None else xs[0]
        ax.axvspan(begin, _minute_dt(line.last_send_minute + 1), color="#d95f02", alpha=0.15)
        text = (f"no outcome events after {begin:%H:%M}" if stop is not None else "no outcome events at all")
        ax.text(0.99, 0.06, f"{text}\nwhile {line.sends_after_stop:,} Sends went on", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=NOTE_SIZE, color="#a6341b",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})
    if line.now_minute is not None:
        ax.axvline(_minute_dt(line.now_minute), color="#555555", linestyle=":", linewidth=1.5)
        ax.text(_minute_dt(line.now_minute), 0.98, "now ", transform=ax.get_xaxis_transform(), ha="right",
                va="top", fontsize=NOTE_SIZE, color="#555555")
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=7, tz=UTC))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=UTC))
    ax.set_xlabel(f"UTC, {xs[0]:%Y-%m-%d}", fontsize=LABEL_SIZE)
    ax.set_ylabel("recipients", fontsize=LABEL_SIZE)
    ax.set_ylim(bottom=0)
    _legend_above(ax, min(4, len(line.series)))
    _style(ax)
    return fig


# ------------------------------------------------------------------------------------------------------ output


def build_figures(inv: Investigation, delivery_window_s: int, retry_deadline_s: int) -> dict[str, Figure]:
    """The investigation's charts as Figures, keyed by file name (in CHART_FILES order)."""
    summary = inv.summary
    return {
        "outcomes.png": outcomes_figure(summary.totals, inv.campaign),
        "send_only_age.png": send_only_age_figure(summary.send_only_by_minute, inv.now_ms, delivery_window_s,
                                                  retry_deadline_s),
        "domains.png": domains_figure(domain_rates(summary, inv.steps.get("domains"))),
        "timeline.png": timeline_figure(summary.events_by_minute, inv.now_ms),
    }


def to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def render_charts(inv: Investigation, delivery_window_s: int, retry_deadline_s: int) -> dict[str, bytes]:
    """File name ("outcomes.png", ...) -> PNG bytes, 800 x 500 px each."""
    return {name: to_png(fig) for name, fig in build_figures(inv, delivery_window_s, retry_deadline_s).items()}


# ----------------------------------------------------------------------------------------------------- helpers


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^k not below `raw` (bin widths people read at a glance)."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return float(m * power)
    return float(10 * power)


def _nice_bin(span_minutes: int, max_points: int) -> int:
    for width in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440):
        if span_minutes / width <= max_points:
            return width
    return math.ceil(span_minutes / max_points)


def _minute_dt(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    hours = seconds / 3600
    return f"{hours:.0f} h" if hours == int(hours) else f"{hours:.1f} h"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
