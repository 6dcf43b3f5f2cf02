"""Slack listeners: one module per /ses subcommand or action, each with `register(app)`.

Bolt runs only the first listener that matches a request, so every subcommand registers with a matcher on its word
and `handlers.help` (which answers every other text) comes last.
"""

MODULES: tuple[str, ...] = (
    "handlers.why",
    "handlers.campaigns",
    "handlers.recipient",
    "handlers.message",
    "handlers.suppression",
    "handlers.routing",
    "handlers.domains",
    "handlers.auth",
    "handlers.account",
    "handlers.send_only_csv",
    "handlers.details",
    "handlers.alerts",  # the channel alerts' buttons (Investigate, Snooze, Mute, Unmute)
    "handlers.help",  # last: answers "help" and every unknown word
)
