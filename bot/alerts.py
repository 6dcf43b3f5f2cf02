"""Channel alerts: one Slack message per campaign incident, kept current as the scheduled checks run.

`AlertLifecycle.sync` turns a check run (bot/alert_run.py) into Slack traffic, with each campaign's incident kept
in Redis so that restarts and replicas never post twice:

* a campaign that starts firing gets one message (figures, buttons) and a small chart in its thread; more than
  `digest_over` new campaigns in one run get one digest message instead;
* while it fires, changes `chat.update` that message (at most every `update_every_s` unless the kinds or the
  severity change) and a rise in severity is also posted to its thread;
* when it stops firing (or the campaign goes inactive) a resolved note goes to the thread and the message says so;
* snoozed (1 h) and muted campaigns stay quiet.

New incidents are claimed with `SET NX` before posting and resolutions with `HDEL`, so two processes running the
same checks at once post each thing once.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.alert_run import CheckRun, campaign_figures
from bot.settings import Settings
from bot.store import Store
from checks.alerts import (
    Alert,
    higher,
    severity_rank,
)
from checks.findings import Severity
from handlers import alert_blocks

log = logging.getLogger(__name__)

SNOOZE_S = 3600
CLAIM_MS = 60_000
SUBSCRIPTION_CACHE_S = 600


def web_client(settings: Settings) -> WebClient:
    """The Slack app's Web API client (SLACK_API_URL; 429s retried after Retry-After, dropped connections
    retried), for posting from the scheduler and `sesbot check --post`."""
    from bot.slack_app import build_client

    settings.require("slack_bot_token")
    return build_client(settings)


# ------------------------------------------------------------------------------------------------ lifecycle


def snooze(store: Store, campaign: str, user: str, seconds: int = SNOOZE_S) -> None:
    """No post, update or escalation for `campaign` for `seconds` (a resolution is still posted)."""
    store.client.set(store.keys.alert_snooze(campaign), user, ex=seconds)


def mute(store: Store, campaign: str, user: str) -> None:
    """No post, update or escalation for `campaign` until unmuted."""
    store.client.hset(store.keys.alert_muted(), campaign, user)


def unmute(store: Store, campaign: str) -> bool:
    """Lift a mute and a snooze; False when there was neither."""
    pipe = store.client.pipeline(transaction=False)
    pipe.hdel(store.keys.alert_muted(), campaign)
    pipe.delete(store.keys.alert_snooze(campaign))
    return bool(sum(pipe.execute()))



@dataclass
class Incident:
    campaign: str
    channel: str
    ts: str
    severity: str
    kinds: list[str]
    opened_ms: int
    updated_ms: int
    fingerprint: str
    digest: bool = False
    figures: dict[str, Any] = field(default_factory=dict)

    def dumps(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def loads(cls, raw: bytes) -> Incident:
        return cls(**orjson.loads(raw))


@dataclass
class SyncResult:
    posted: list[str] = field(default_factory=list)
    digest: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    quiet: list[str] = field(default_factory=list)  # snoozed or muted while firing
    failed: list[str] = field(default_factory=list)  # Slack refused; retried on the next run

    def to_dict(self) -> dict[str, list[str]]:
        return asdict(self)


def _fingerprint(alerts: list[Alert]) -> str:
    text = "\n".join(f"{a.kind}|{a.severity}|{a.summary}" for a in alerts)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _worst(alerts: list[Alert]) -> str:
    worst = Severity.INFO
    for a in alerts:
        worst = higher(worst, a.severity)
    return str(worst)


class AlertLifecycle:
    def __init__(self, store: Store, client: WebClient, channel: str, *, charts: bool = True,
                 digest_over: int = 5, update_every_s: int = 300) -> None:
        self.store = store
        self.client = client
        self.channel = channel
        self.charts = charts
        self.digest_over = digest_over
        self.update_every_ms = update_every_s * 1000
        self.keys = store.keys

    # -- state --------------------------------------------------------------------------------------------
    def incidents(self) -> dict[str, Incident]:
        raw = self.store.client.hgetall(self.keys.alert_incidents())
        return {k.decode(): Incident.loads(v) for k, v in raw.items()}

    def _save(self, incident: Incident) -> None:
        self.store.client.hset(self.keys.alert_incidents(), incident.campaign, incident.dumps())

    def quiet(self, campaigns: list[str]) -> set[str]:
        """Campaigns snoozed or muted."""
        if not campaigns:
            return set()
        pipe = self.store.client.pipeline(transaction=False)
        for campaign in campaigns:
            pipe.exists(self.keys.alert_snooze(campaign))
        pipe.hgetall(self.keys.alert_muted())
        *snoozed, muted = pipe.execute()
        muted_names = {k.decode() for k in muted}
        return {c for c, s in zip(campaigns, snoozed, strict=True) if s or c in muted_names}

    def snooze(self, campaign: str, user: str, seconds: int = SNOOZE_S) -> None:
        snooze(self.store, campaign, user, seconds)

    def mute(self, campaign: str, user: str) -> None:
        mute(self.store, campaign, user)

    def unmute(self, campaign: str) -> bool:
        return unmute(self.store, campaign)

    def _claim(self, campaign: str) -> bool:
        return bool(self.store.client.set(self.keys.alert_claim(campaign), "1", nx=True, px=CLAIM_MS))

    def _release(self, campaign: str) -> None:
        self.store.client.delete(self.keys.alert_claim(campaign))

    # -- the run --------------------------------------------------------------------------------------------
    def sync(self, run: CheckRun) -> SyncResult:
        result = SyncResult()
        firing: dict[str, list[Alert]] = {}
        for alert in run.alerts:
            firing.setdefault(alert.campaign, []).append(alert)
        incidents = self.incidents()
        quiet = self.quiet(sorted(firing))
        new: list[tuple[str, str, list[Alert]]] = []
        for campaign, alerts in sorted(firing.items()):
            if campaign in quiet:
                result.quiet.append(campaign)
                continue
            incident = incidents.get(campaign)
            if incident is None:
                new.append((campaign, _worst(alerts), alerts))
            else:
                self._follow_up(incident, alerts, run, result)
        new.sort(key=lambda item: (-severity_rank(item[1]), item[0]))
        if len(new) > self.digest_over:
            self._post_digest(new, run, result)
        else:
            for campaign, severity, alerts in new:
                self._post_new(campaign, severity, alerts, run, result)
        for campaign, incident in sorted(incidents.items()):
            if campaign not in firing:
                self._resolve(incident, run, result)
        return result

    def _figures(self, campaign: str, run: CheckRun) -> dict[str, Any]:
        summary = run.summaries.get(campaign)
        return campaign_figures(summary, run.now_ms, run.delivery_window_s) if summary is not None else {}

    def _post_new(self, campaign: str, severity: str, alerts: list[Alert], run: CheckRun,
                  result: SyncResult) -> None:
        if not self._claim(campaign):
            return  # another process is posting it right now
        try:
            if self.store.client.hexists(self.keys.alert_incidents(), campaign):
                return  # posted by another process since this run read the incidents
            figures = self._figures(campaign, run)
            text, blocks = alert_blocks.incident_message(campaign, severity, alerts, figures, run.now_ms)
            try:
                reply = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks,
                                                     unfurl_links=False)
            except SlackClientError as exc:
                log.warning("alert for %r not posted: %s", campaign, _slack_reason(exc))
                result.failed.append(campaign)
                return
            channel, ts = str(reply["channel"]), str(reply["ts"])
            self._save(Incident(campaign, channel, ts, severity, [a.kind for a in alerts], run.now_ms, run.now_ms,
                                _fingerprint(alerts), figures=figures))
            result.posted.append(campaign)
        finally:
            self._release(campaign)
        if self.charts:
            self._upload_chart(campaign, channel, ts, run)

    def _post_digest(self, new: list[tuple[str, str, list[Alert]]], run: CheckRun, result: SyncResult) -> None:
        claimed = []
        for campaign, severity, alerts in new:
            if self._claim(campaign):
                if self.store.client.hexists(self.keys.alert_incidents(), campaign):
                    self._release(campaign)
                else:
                    claimed.append((campaign, severity, alerts))
        if not claimed:
            return
        try:
            text, blocks = alert_blocks.digest_message(claimed, run.now_ms)
            try:
                reply = self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
            except SlackClientError as exc:
                log.warning("alert digest not posted: %s", _slack_reason(exc))
                result.failed.extend(c for c, _, _ in claimed)
                return
            channel, ts = str(reply["channel"]), str(reply["ts"])
            for campaign, severity, alerts in claimed:
                self._save(Incident(campaign, channel, ts, severity, [a.kind for a in alerts], run.now_ms,
                                    run.now_ms, _fingerprint(alerts), digest=True,
                                    figures=self._figures(campaign, run)))
                result.digest.append(campaign)
        finally:
            for campaign, _, _ in claimed:
                self._release(campaign)

    def _follow_up(self, incident: Incident, alerts: list[Alert], run: CheckRun, result: SyncResult) -> None:
        severity = _worst(alerts)
        kinds = [a.kind for a in alerts]
        fingerprint = _fingerprint(alerts)
        rose = severity_rank(severity) > severity_rank(incident.severity)
        changed = kinds != incident.kinds or severity != incident.severity
        stale = fingerprint != incident.fingerprint and run.now_ms - incident.updated_ms >= self.update_every_ms
        if not (rose or changed or stale):
            return
        if not self._claim(incident.campaign):
            return
        try:
            figures = self._figures(incident.campaign, run)
            try:
                if not incident.digest:
                    text, blocks = alert_blocks.incident_message(incident.campaign, severity, alerts, figures,
                                                                 run.now_ms)
                    self.client.chat_update(channel=incident.channel, ts=incident.ts, text=text, blocks=blocks)
                if rose:
                    self.client.chat_postMessage(
                        channel=incident.channel, thread_ts=incident.ts,
                        text=alert_blocks.escalation_note(incident.campaign, incident.severity, severity, alerts))
                    result.escalated.append(incident.campaign)
                else:
                    result.updated.append(incident.campaign)
            except SlackClientError as exc:
                log.warning("alert for %r not updated: %s", incident.campaign, _slack_reason(exc))
                result.failed.append(incident.campaign)
                return
            incident.severity, incident.kinds, incident.fingerprint = severity, kinds, fingerprint
            incident.updated_ms, incident.figures = run.now_ms, figures
            self._save(incident)
        finally:
            self._release(incident.campaign)

    def _resolve(self, incident: Incident, run: CheckRun, result: SyncResult) -> None:
        if not self.store.client.hdel(self.keys.alert_incidents(), incident.campaign):
            return  # resolved by another process
        if incident.campaign not in run.active:
            reason = "the campaign is no longer active (no Send within the active window), so it is not checked"
            figures = incident.figures
        else:
            reason = "no alert fires any more"
            figures = self._figures(incident.campaign, run)
        try:
            self.client.chat_postMessage(channel=incident.channel, thread_ts=incident.ts,
                                         text=alert_blocks.resolved_note(incident.campaign, reason, run.now_ms))
            if not incident.digest:
                text, blocks = alert_blocks.resolved_message(incident.campaign, figures, incident.opened_ms,
                                                             run.now_ms, reason)
                self.client.chat_update(channel=incident.channel, ts=incident.ts, text=text, blocks=blocks)
        except SlackClientError as exc:
            log.warning("resolution of %r not posted: %s", incident.campaign, _slack_reason(exc))
            result.failed.append(incident.campaign)
            return
        result.resolved.append(incident.campaign)

    def _upload_chart(self, campaign: str, channel: str, ts: str, run: CheckRun) -> None:
        started = time.perf_counter()
        summary = self.store.campaign_summary(campaign)  # the full one: the chart draws Send per minute
        if summary is None:
            return
        try:
            from bot.alert_chart import render_alert_chart

            png = render_alert_chart(summary, run.now_ms, run.delivery_window_s)
        except Exception:  # a chart is a nicety: the alert itself is already posted
            log.exception("alert chart for %r not rendered", campaign)
            return
        if png is None:
            return
        try:
            self.client.files_upload_v2(channel=channel, thread_ts=ts, file=png, filename="send-only.png",
                                        title=f"Send-only by send time: {alert_blocks.label(campaign)}")
        except SlackClientError as exc:
            log.warning("alert chart for %r not uploaded: %s", campaign, _slack_reason(exc))
        log.debug("alert chart for %r in %.2f s", campaign, time.perf_counter() - started)


def _slack_reason(exc: SlackClientError) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "error"))
    return type(exc).__name__


def lifecycle_for(settings: Settings, store: Store, client: WebClient | None = None) -> AlertLifecycle:
    settings.require("alert_channel")
    return AlertLifecycle(store, client or web_client(settings), str(settings.alert_channel))
