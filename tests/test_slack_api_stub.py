"""The Slack Web API stub answers slack_sdk's WebClient like Slack does, so the app's tests can trust it."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.slack_api import SlackApi
from tests.slack_signing import signature


def client(api: SlackApi, **kwargs: object) -> WebClient:
    return WebClient(token="xoxb-test", base_url=api.url, **kwargs)  # type: ignore[arg-type]


def test_post_update_and_increasing_ts(slack_api: SlackApi) -> None:
    web = client(slack_api)
    first = web.chat_postMessage(channel="C1", text="one", blocks=[{"type": "section",
                                                                      "text": {"type": "mrkdwn", "text": "x"}}])
    second = web.chat_postMessage(channel="C1", text="two", thread_ts=first["ts"])
    assert float(second["ts"]) > float(first["ts"])
    web.chat_update(channel="C1", ts=first["ts"], text="edited")
    posted = slack_api.calls_to("chat.postMessage")
    assert posted[0].args["blocks"][0]["type"] == "section"
    assert posted[1].args["thread_ts"] == first["ts"]
    assert posted[0].token == "xoxb-test"
    assert slack_api.messages[("C1", first["ts"])]["text"] == "edited"
    with pytest.raises(SlackApiError, match="message_not_found"):
        web.chat_update(channel="C1", ts="1.000000", text="x")


def test_files_upload_v2_three_calls(slack_api: SlackApi) -> None:
    web = client(slack_api)
    web.files_upload_v2(channel="C1", thread_ts="1.1", filename="a.csv", content="x,y\n", title="A")
    assert slack_api.methods() == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [upload] = slack_api.uploaded()
    assert (upload["data"], upload["channel"], upload["thread_ts"], upload["title"]) == (b"x,y\n", "C1", "1.1", "A")


def test_429_once_then_retried_by_handler(slack_api: SlackApi) -> None:
    slack_api.fail_next("chat.postMessage", retry_after=0)
    web = client(slack_api, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    web.chat_postMessage(channel="C1", text="hello")
    statuses = [c.status for c in slack_api.calls if c.method == "chat.postMessage"]
    assert statuses == [429, 200]
    assert len(slack_api.messages) == 1


def test_429_without_retry_handler_surfaces(slack_api: SlackApi) -> None:
    slack_api.fail_next("chat.postMessage")
    with pytest.raises(SlackApiError, match="ratelimited"):
        client(slack_api, retry_handlers=[]).chat_postMessage(channel="C1", text="hello")


def test_usergroups_and_auth(slack_api: SlackApi) -> None:
    slack_api.usergroups["S1"] = ["U1", "U2"]
    web = client(slack_api)
    assert web.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError, match="no_such_subteam"):
        web.usergroups_users_list(usergroup="S2")
    assert web.auth_test()["user_id"] == slack_api.bot_user_id
    with pytest.raises(SlackApiError, match="not_authed"):
        WebClient(token="bad", base_url=slack_api.url).auth_test()


def test_signature_matches_slack_example() -> None:
    # Slack's documented example request (api.slack.com/authentication/verifying-requests-from-slack)
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
            "channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
            "response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F"
            "96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert signature(body, "8f742231b10e8888abcd99yyyzzz85a5", 1531420618) == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
