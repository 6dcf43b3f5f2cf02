"""The one-step subcommands over HTTP with the whole engine behind them: AWS through boto3 to the local SESv2
emulator, DNS from a real NSD, events in a real Redis; the investigator is the production one (build_investigator
from the settings), as `sesbot serve` builds it."""

from __future__ import annotations

import json
from typing import Any

from bot.aws_emulator import LocalAws
from tests.aws_fixtures import REGION
from tests.dns_server import NsdServer
from tests.scenario_env import stage
from tests.slack_env import SlackEnv
from tests.test_slack_app import blocks_valid


def production_env(slack_env: Any, dns_server: NsdServer, **overrides: Any) -> SlackEnv:
    env: SlackEnv = slack_env(dns_nameservers=dns_server.nameserver, aws_region=REGION, **overrides)
    env.deps.investigator_factory = None  # bot.investigate.build_investigator(settings, store)
    return env


def replies(env: SlackEnv, n: int) -> list[dict[str, Any]]:
    found = [c.args for c in env.api.wait_for("response_url", n)]
    for reply in found:
        assert "Something went wrong" not in reply.get("text", ""), reply
        if "blocks" in reply:
            blocks_valid(reply["blocks"])
    return found


def test_account_routing_domains_auth(slack_env: Any, redis_url: str, local_aws: LocalAws,
                                      dns_server: NsdServer) -> None:
    sim = stage("account_paused", redis_url, local_aws, dns_server, recipients=300)
    env = production_env(slack_env, dns_server)
    env.set_now(sim.now)
    env.command("account")
    env.command(f"routing {sim.configuration_set}")
    env.command(f"domains {sim.campaign}")
    env.command(f"auth {sim.aws.identity['domain']}")
    by_step = {r["text"].split(":")[0]: r for r in replies(env, 4)}
    assert set(by_step) == {"account", "routing", "domains", "authentication"}
    assert all(r["response_type"] == "in_channel" for r in by_step.values())
    assert by_step["account"]["text"] == "account: finding"
    assert "paused" in json.dumps(by_step["account"]["blocks"]).lower()
    assert by_step["routing"]["text"] == "routing: ok"
    assert "mail-google.test" in json.dumps(by_step["domains"]["blocks"])
    assert "Google" in json.dumps(by_step["domains"]["blocks"])
    assert by_step["authentication"]["text"] == "authentication: ok"


def test_suppression_for_a_campaign_and_for_one_address(slack_env: Any, redis_url: str, local_aws: LocalAws,
                                                         dns_server: NsdServer) -> None:
    sim = stage("suppression_no_bounce_events", redis_url, local_aws, dns_server, recipients=200)
    env = production_env(slack_env, dns_server, pii_users=("U0PII",))
    env.set_now(sim.now)
    listed = sim.aws.suppressed_destinations[0][0]
    env.command(f"suppression {sim.campaign}")
    [campaign_reply] = replies(env, 1)
    assert campaign_reply["response_type"] == "in_channel" and campaign_reply["text"] == "suppression: finding"
    assert "@" not in json.dumps(campaign_reply["blocks"]).replace("***@", "")  # channel: addresses masked

    env.command(f"suppression {listed}", user_id="U0NOBODY")
    masked = replies(env, 2)[1]  # answered from a worker thread: wait before the next command so the order is known
    env.command(f"suppression {listed}", user_id="U0PII")
    full = replies(env, 3)[2]
    assert masked["response_type"] == full["response_type"] == "ephemeral"
    assert listed not in json.dumps(masked) and listed.split("@")[1] in json.dumps(masked)
    assert listed in json.dumps(full["blocks"])
    assert "is on the account suppression list" in json.dumps(full["blocks"])
