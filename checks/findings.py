"""Typed results shared by every investigation step and scheduled check."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    OK = "ok"
    FINDING = "finding"
    SKIPPED = "skipped"
    ERROR = "error"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True)
class Finding:
    """One problem (or notable fact) a step found: data, never an exception."""

    code: str
    severity: Severity
    summary: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": str(self.severity), "summary": self.summary, "data": self.data}


@dataclass(frozen=True)
class StepResult:
    """The outcome of one investigation step.

    `ok`: checked, nothing wrong. `finding`: checked, see findings. `skipped`: could not run (no credentials,
    resolver unreachable, not applicable) and `summary` says why. `error`: tried and failed, `summary` says how.
    """

    step: str
    status: Status
    summary: str
    findings: tuple[Finding, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "summary": self.summary,
            "findings": [f.to_dict() for f in self.findings],
            "data": self.data,
        }

    @classmethod
    def skipped(cls, step: str, why: str) -> StepResult:
        return cls(step, Status.SKIPPED, why)

    @classmethod
    def error(cls, step: str, why: str) -> StepResult:
        return cls(step, Status.ERROR, why)
