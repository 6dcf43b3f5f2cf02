"""`sesbot` entry point: parse the command line, hand over to bot.cli."""

from __future__ import annotations

import sys

from bot.cli import run


def main(argv: list[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
