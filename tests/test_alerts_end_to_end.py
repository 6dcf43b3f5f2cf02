"""From SNS to a Slack alert: signed SNS notifications POSTed to the real web app over HTTP, a real Redis, the
scheduler's alert job, and the local Slack Web API server."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.alerts import AlertLifecycle, web_client
from bot.scheduler import JobContext, build_scheduler
from bot.simulate import simulate
from tests.alerts_support import alert_settings, ms, open_store
from tests.http_server import serve_wsgi
from tests.sns_signer import SnsSigner
from tests.test_web_sns import TOPIC, build_app, request, signed, sns_headers


def test_sns_notifications_to_one_channel_alert(redis_url, slack_api, tmp_path: Path) -> None:
    signer = SnsSigner.create(tmp_path / "certs")
    app, store, _fetch = build_app(redis_url, signer.cert_dir, tmp_path / "archive")
    sim = simulate("missing_events", recipients=300, campaign="weekly-digest-e2e")
    with serve_wsgi(app) as url:
        for record in sim.events:
            message = signed(signer, record, topic=TOPIC)
            reply = request(url, "POST", "/sns", json.dumps(message).encode(), sns_headers(message))
            assert reply.status == 200, reply.body
    store.client.close()

    settings = alert_settings(redis_url, slack_api.url)
    alert_store = open_store(redis_url)
    ctx = JobContext(settings, alert_store, AlertLifecycle(alert_store, web_client(settings), "C0ALERTS",
                                                           charts=False), clock=lambda: ms(sim.now) / 1000)
    scheduler = build_scheduler(ctx)
    scheduler.start()
    try:
        deadline = time.monotonic() + 30
        while ctx.runs["alerts"] < 1:
            assert time.monotonic() < deadline, "the alert job did not run"
            time.sleep(0.02)
    finally:
        scheduler.shutdown(wait=True)
    [post] = slack_api.calls_to("chat.postMessage")
    text = json.dumps(post.args["blocks"])
    assert post.args["text"].startswith("[critical] weekly-digest-e2e:")
    assert "Ingestion gap" in text and "Send-only rate" in text
    assert "@" not in json.dumps(post.args)
