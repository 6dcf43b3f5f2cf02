"""Who may use sesbot where, and who may see full recipient addresses.

SESBOT_ALLOWED_CHANNELS (channel ids or names; empty: everywhere) and SESBOT_PII_USERS (user ids `U...`/`W...` or
user-group ids `S...`, resolved with usergroups.users.list and cached for a few minutes). A group that cannot be
resolved grants nothing (fail closed).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cli import UsageError
from handlers.text import escape

log = logging.getLogger(__name__)

GROUP_TTL_S = 300.0
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{6,}")


class NotAllowedHere(UsageError):
    """A command used outside SESBOT_ALLOWED_CHANNELS."""

    mrkdwn_safe = True  # channel links are built (and names escaped) by `_channel_link`


class Access:
    def __init__(self, allowed_channels: tuple[str, ...], pii_users: tuple[str, ...],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.allowed_channels = {c.lstrip("#").lower() for c in allowed_channels}
        self._shown = tuple(c.lstrip("#") for c in allowed_channels)
        self.pii_users = {u for u in pii_users if not u.startswith("S")}
        self.pii_groups = tuple(u for u in pii_users if u.startswith("S"))
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def channel_allowed(self, channel_id: str | None, channel_name: str | None = None) -> bool:
        if not self.allowed_channels:
            return True
        names = {(channel_id or "").lower(), (channel_name or "").lstrip("#").lower()} - {""}
        return bool(names & self.allowed_channels)

    def require_channel(self, channel_id: str | None, channel_name: str | None = None) -> None:
        if not self.channel_allowed(channel_id, channel_name):
            where = ", ".join(_channel_link(c) for c in self._shown)
            raise NotAllowedHere(f"sesbot is not enabled in this channel. Use it in {where}.")

    def sees_addresses(self, user_id: str | None, client: Any) -> bool:
        """True when `user_id` is in SESBOT_PII_USERS directly or through one of its user groups."""
        if not user_id:
            return False
        if user_id in self.pii_users:
            return True
        return any(user_id in self._group_members(group, client) for group in self.pii_groups)

    def _group_members(self, group: str, client: Any) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._groups.get(group)
            if cached and now - cached[0] < GROUP_TTL_S:
                return cached[1]
        try:
            members = frozenset(client.usergroups_users_list(usergroup=group).get("users") or ())
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not resolve user group %s for SESBOT_PII_USERS: %s", group, exc)
            return frozenset()
        with self._lock:
            self._groups[group] = (now, members)
        return members


def _channel_link(channel: str) -> str:
    """A channel id becomes a link Slack renders with its name; a name is shown as typed (escaped)."""
    if CHANNEL_ID.fullmatch(channel):
        return f"<#{channel}>"
    return "#" + escape(channel)
