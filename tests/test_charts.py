"""Charts: what each one plots, read back from the Figure, and valid 800 x 500 PNGs, on campaigns from a real store."""

from __future__ import annotations

import struct
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import matplotlib.colors as mcolors
import pytest
import redis

from bot.charts import (
    AGE_COLORS,
    CHART_FILES,
    STATE_LABELS,
    age_histogram,
    build_figures,
    domain_rates,
    domains_figure,
    outcomes_figure,
    render_charts,
    send_only_age_figure,
    timeline,
    timeline_figure,
)
from bot.ingest import Ingestor
from bot.simulate import RECIPIENT_DOMAINS, SimulatedCampaign, simulate
from bot.store import CampaignSummary, Store
from checks.findings import Status, StepResult
from checks.send_only import send_only_figures

MICROSOFT_DOMAINS = {d.name for d in RECIPIENT_DOMAINS if d.provider == "microsoft"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WINDOW_S = 900


@dataclass
class InvestigationLike:
    """The fields of bot.investigate.Investigation that the charts read."""

    campaign: str
    now_ms: int
    summary: CampaignSummary
    steps: dict[str, StepResult] = field(default_factory=dict)
    causes: list[Any] = field(default_factory=list)


def now_ms(sim: SimulatedCampaign) -> int:
    return int(sim.now.timestamp() * 1000)


def ingest(redis_url: str, sim: SimulatedCampaign) -> CampaignSummary:
    store = Store(redis.Redis.from_url(redis_url))
    Ingestor(store).ingest_payloads(sim.events)
    summary = store.campaign_summary(sim.campaign)
    assert summary is not None
    return summary


def domains_step_from(summary: CampaignSummary) -> StepResult:
    """A `domains` step result shaped as the contract says, providers taken from the simulator's MX plan."""
    provider_of = {d.name: d.provider for d in RECIPIENT_DOMAINS}
    domains, providers = [], defaultdict(lambda: [0, 0])
    for domain, states in summary.domains.items():
        recipients = sum(n for s, n in states.items() if s != "unknown")
        so = states.get("send_only", 0)
        provider = provider_of.get(domain, "other")
        domains.append({"domain": domain, "provider": provider, "recipients": recipients, "send_only": so,
                        "rate": so / recipients if recipients else 0.0})
        providers[provider][0] += recipients
        providers[provider][1] += so
    rows = [{"provider": p, "recipients": r, "send_only": s, "rate": s / r if r else 0.0}
            for p, (r, s) in providers.items()]
    return StepResult("domains", Status.FINDING, "one provider stands out", data={
        "providers": sorted(rows, key=lambda x: -x["send_only"]),
        "domains": sorted(domains, key=lambda x: -x["send_only"]),
    })


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def mixed() -> SimulatedCampaign:
    return simulate("mixed", recipients=1500, seed=5)


def test_render_charts_writes_four_pngs_at_slack_preview_size(redis_url: str, mixed: SimulatedCampaign) -> None:
    summary = ingest(redis_url, mixed)
    inv = InvestigationLike(mixed.campaign, now_ms(mixed), summary, {"domains": domains_step_from(summary)})
    charts = render_charts(inv, WINDOW_S, 4 * 3600)
    assert tuple(charts) == CHART_FILES
    for name, data in charts.items():
        assert png_size(data) == (800, 500), name
        assert len(data) > 10_000, f"{name} looks blank"


def test_outcome_bars_are_the_store_totals(redis_url: str, mixed: SimulatedCampaign) -> None:
    summary = ingest(redis_url, mixed)
    assert summary.totals == mixed.expected_totals
    fig = outcomes_figure(summary.totals, mixed.campaign)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    widths = [p.get_width() for p in ax.patches]
    plotted = dict(zip(labels, widths, strict=True))
    expected = {STATE_LABELS[s]: n for s, n in summary.totals.items() if n}
    assert plotted == expected
    assert f"{sum(summary.totals.values()):,} recipients" in fig._suptitle.get_text()


def test_age_histogram_agrees_with_the_send_only_figures(redis_url: str, mixed: SimulatedCampaign) -> None:
    summary = ingest(redis_url, mixed)
    deadline = 4 * 3600  # the scenario's MaxDeliverySeconds: its earliest Send-only recipients are past it
    figures = send_only_figures(summary.totals, summary.send_only_by_minute, now_ms(mixed), WINDOW_S, deadline)
    hist = age_histogram(summary.send_only_by_minute, now_ms(mixed), WINDOW_S, deadline)
    assert hist.total == figures.count == mixed.expected_send_only["count"]
    assert sum(hist.lost) == figures.lost_count > 0
    assert sum(hist.stuck) + sum(hist.lost) == figures.stuck_count
    assert sum(hist.in_flight) == figures.in_flight_count
    assert hist.unit == "h"

    fig = send_only_age_figure(summary.send_only_by_minute, now_ms(mixed), WINDOW_S, deadline)
    ax = fig.axes[0]
    by_color: dict[str, float] = defaultdict(float)
    for patch in ax.patches:
        by_color[mcolors.to_hex(patch.get_facecolor())] += patch.get_height()
    assert by_color[AGE_COLORS["lost"]] == figures.lost_count
    assert by_color[AGE_COLORS["stuck"]] == figures.stuck_count - figures.lost_count
    lines = sorted(line.get_xdata()[0] for line in ax.get_lines())
    assert lines == [WINDOW_S / 3600, deadline / 3600]  # both marked, in hours


def test_age_chart_of_a_campaign_still_in_flight(redis_url: str) -> None:
    sim = simulate("still_in_flight", recipients=800, seed=3)
    summary = ingest(redis_url, sim)
    hist = age_histogram(summary.send_only_by_minute, now_ms(sim), WINDOW_S, 14 * 3600)
    assert hist.unit == "min"
    assert hist.total == summary.totals["send_only"] > 0
    assert sum(hist.in_flight) == hist.total and not any(hist.stuck) and not any(hist.lost)
    fig = send_only_age_figure(summary.send_only_by_minute, now_ms(sim), WINDOW_S, 14 * 3600)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("retry deadline 14 h") for t in texts), texts  # off the axis, still named


def test_domain_rates_single_out_the_deferring_provider(redis_url: str) -> None:
    sim = simulate("provider_deferral", recipients=1500, seed=9)
    summary = ingest(redis_url, sim)
    step = domains_step_from(summary)
    rates = domain_rates(summary, step)
    assert rates.note == ""
    assert rates.providers[0].label == "microsoft"  # most pending first: its recipients are delayed
    fig = domains_figure(rates)
    providers_ax, domains_ax = fig.axes
    labels = [t.get_text() for t in providers_ax.get_yticklabels()]
    n = len(labels)
    send_only = dict(zip(labels, (p.get_width() for p in providers_ax.patches[:n]), strict=True))
    delayed = dict(zip(labels, (p.get_width() for p in providers_ax.patches[n:]), strict=True))
    assert send_only == pytest.approx({p["provider"]: p["rate"] * 100 for p in step.data["providers"]})
    microsoft = [d for d, states in summary.domains.items() if d in MICROSOFT_DOMAINS]
    ms_recipients = sum(sum(summary.domains[d].values()) for d in microsoft)
    ms_delayed = sum(summary.domains[d].get("delayed", 0) for d in microsoft)
    assert delayed["microsoft"] == pytest.approx(100 * ms_delayed / ms_recipients)
    bold = [t.get_text() for t in providers_ax.get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["microsoft"]
    sent = sum(n for s, n in summary.totals.items() if s != "unknown")
    pending = (summary.totals["send_only"] + summary.totals["delayed"]) / sent
    assert domains_ax.get_lines()[0].get_xdata()[0] == pytest.approx(pending * 100)
    assert len(domains_ax.get_yticklabels()) == min(8, len(summary.domains))


@pytest.mark.parametrize("status", [Status.SKIPPED, Status.ERROR, None])
def test_domains_chart_without_the_domains_step(redis_url: str, mixed: SimulatedCampaign,
                                                status: Status | None) -> None:
    summary = ingest(redis_url, mixed)
    step = None if status is None else StepResult("domains", status, "DNS unreachable: timeout")
    rates = domain_rates(summary, step)
    assert rates.providers == []
    assert "providers not resolved" in rates.note
    fig = domains_figure(rates)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert "providers not resolved" in ax.get_title()
    pending = {d: s.get("send_only", 0) + s.get("delayed", 0) for d, s in summary.domains.items()}
    assert pending[ax.get_yticklabels()[0].get_text()] == max(pending.values())
    top_domain = summary.domains[ax.get_yticklabels()[0].get_text()]
    assert ax.patches[0].get_width() == pytest.approx(100 * top_domain["send_only"] / sum(top_domain.values()))


def test_timeline_shows_where_outcome_events_stop(redis_url: str) -> None:
    sim = simulate("missing_events", recipients=2000, seed=4)
    summary = ingest(redis_url, sim)
    line = timeline(summary.events_by_minute, now_ms(sim))
    cutoff_minute = int((sim.start + timedelta(minutes=15)).timestamp() // 60)
    assert line.outcomes_stopped
    assert cutoff_minute - 2 <= line.last_outcome_minute <= cutoff_minute + 1
    sends_after = sum(n for m, n in summary.events_by_minute["Send"].items() if m > line.last_outcome_minute)
    assert line.sends_after_stop == sends_after > 0
    assert sum(line.series["Send"]) == sum(summary.events_by_minute["Send"].values())
    fig = timeline_figure(summary.events_by_minute, now_ms(sim))
    ax = fig.axes[0]
    assert any("no outcome events after" in t.get_text() for t in ax.texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:2] == ["Send", "Delivery"]


def test_timeline_of_a_healthy_campaign_has_no_gap(redis_url: str) -> None:
    sim = simulate("healthy", recipients=800, seed=2)
    summary = ingest(redis_url, sim)
    line = timeline(summary.events_by_minute, now_ms(sim))
    assert not line.outcomes_stopped
    assert sum(line.series["Delivery"]) == sum(summary.events_by_minute["Delivery"].values())
    texts = [t.get_text() for t in timeline_figure(summary.events_by_minute, now_ms(sim)).axes[0].texts]
    assert not [t for t in texts if "no outcome events" in t]


def test_timeline_runs_on_to_now_where_sending_stopped(redis_url: str) -> None:
    """A paused configuration set: Sends stop at minute 22 of 60, evaluated at minute 90; the axis reaches now."""
    sim = simulate("account_paused", recipients=1000, seed=2)
    summary = ingest(redis_url, sim)
    line = timeline(summary.events_by_minute, now_ms(sim))
    assert line.now_minute == now_ms(sim) // 60_000
    assert line.start_minute + line.bins * line.bin_minutes > line.now_minute
    last_send = max(m for m, n in summary.events_by_minute["Send"].items() if n)
    quiet = line.series["Send"][(last_send - line.start_minute) // line.bin_minutes + 1:]
    assert len(quiet) >= 60 // line.bin_minutes and not any(quiet)
    assert not line.outcomes_stopped  # outcomes kept pace with the Sends that were made
    texts = [t.get_text() for t in timeline_figure(summary.events_by_minute, now_ms(sim)).axes[0].texts]
    assert "now " in texts
    days_later = now_ms(sim) + 3 * 86_400_000
    assert timeline(summary.events_by_minute, days_later).now_minute is None  # not stretched over days


def test_timeline_bins_long_campaigns() -> None:
    minutes = {m: 1 for m in range(29_000_000, 29_000_000 + 3 * 1440)}  # three days, one event a minute
    line = timeline({"Send": minutes, "Delivery": minutes})
    assert line.bin_minutes == 30 and line.bins == 144
    assert set(line.series["Send"]) == {30}


def test_empty_campaign_renders_placeholders() -> None:
    summary = CampaignSummary("nothing-yet")
    inv = InvestigationLike("nothing-yet", 1_772_442_000_000, summary,
                            {"domains": StepResult.skipped("domains", "no recipients")})
    figures = build_figures(inv, WINDOW_S, 14 * 3600)
    for name, fig in figures.items():
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert any(t.startswith("No ") for t in texts), name
    for data in render_charts(inv, WINDOW_S, 14 * 3600).values():
        assert png_size(data) == (800, 500)


def test_all_send_only_campaign(redis_url: str) -> None:
    """Only Send events captured (the whole outcome stream missing): one bar, every recipient stuck."""
    sim = simulate("healthy", recipients=300, seed=8)
    sends = [e for e in sim.events if e["eventType"] == "Send"]
    store = Store(redis.Redis.from_url(redis_url))
    Ingestor(store).ingest_payloads(sends)
    summary = store.campaign_summary(sim.campaign)
    assert summary is not None
    ax = outcomes_figure(summary.totals).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Send only"]
    line = timeline(summary.events_by_minute, now_ms(sim))
    assert line.outcomes_stopped and line.last_outcome_minute is None
    assert line.sends_after_stop == sum(summary.events_by_minute["Send"].values())
    inv = InvestigationLike(sim.campaign, now_ms(sim), summary)
    assert png_size(render_charts(inv, WINDOW_S, 14 * 3600)["timeline.png"]) == (800, 500)
