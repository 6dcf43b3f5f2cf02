"""Benchmark: how fast the Slack app acknowledges `/ses why`, and how long until the verdict and the charts.

Starts its own redis-server, the local Slack Web API server (tests/slack_api.py) and the real web app with the
Bolt app behind it on free loopback ports, ingests a simulated campaign, then sends signed `/ses why` commands
(sequentially, each while earlier investigations may still run) and prints, over HTTP:
- ack: the time to Slack's HTTP 200 (Slack allows 3 s),
- verdict: command to the `chat.update` that carries the verdict,
- charts: command to `files.completeUploadExternal` (matplotlib rendering and the three upload calls),
- render: `verdict_blocks` alone on the engine's report.
AWS and DNS are not configured here (those steps are skipped): this measures sesbot, not AWS or DNS round trips.

    .venv/bin/python benchmarks/slack.py [--commands 20] [--recipients 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.simulate import simulate
from handlers.render import as_dicts, verdict_blocks
from tests.redis_server import RedisServer
from tests.slack_api import SlackApi, SlackCall, serve_slack_api
from tests.slack_env import running_slack_env


def verdict_updates(api: SlackApi) -> list[SlackCall]:
    return [c for c in api.calls_to("chat.update") if c.args["blocks"][0]["type"] == "header"]


def figures(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"{name:8} n={len(seconds):3}  p50 {statistics.median(seconds) * 1000:7.1f} ms  "
            f"p95 {p95 * 1000:7.1f} ms  max {max(seconds) * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=20)
    parser.add_argument("--recipients", type=int, default=2000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp))
        server.start()
        try:
            with serve_slack_api() as api, running_slack_env(server.url, api) as env:
                sim = simulate("mixed", recipients=args.recipients, campaign="bench-campaign")
                env.ingest(sim.events)
                env.set_now(sim.now)
                acks, verdicts, charts = [], [], []
                for i in range(args.commands):
                    started = time.perf_counter()
                    reply = env.command("why bench-campaign")
                    acks.append(time.perf_counter() - started)
                    assert reply.status == 200, reply
                    while len(verdict_updates(env.api)) < i + 1:
                        time.sleep(0.005)
                    verdicts.append(time.perf_counter() - started)
                    env.api.wait_for("files.completeUploadExternal", i + 1, timeout=120)
                    charts.append(time.perf_counter() - started)
                inv = env.deps.investigator().investigate("bench-campaign", env.deps.clock_ms())
                report = inv.to_json()
                renders = []
                for _ in range(50):
                    started = time.perf_counter()
                    as_dicts(verdict_blocks(report, steps=tuple(report["steps"]), delivery_window_s=900))
                    renders.append(time.perf_counter() - started)
        finally:
            server.stop()
    print(f"/ses why on a simulated campaign of {args.recipients:,} recipients (AWS and DNS not configured)")
    for name, values in (("ack", acks), ("verdict", verdicts), ("charts", charts), ("render", renders)):
        print(figures(name, values))


if __name__ == "__main__":
    main()
