"""What a `sesbot` subprocess left: exit code, stdout, stderr (shared by the CLI and contract tests)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any


@dataclass
class Result:
    code: int
    out: str
    err: str

    @classmethod
    def of(cls, done: subprocess.CompletedProcess[bytes]) -> Result:
        return cls(done.returncode, done.stdout.decode(), done.stderr.decode())

    def json(self) -> Any:
        return json.loads(self.out)

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()
