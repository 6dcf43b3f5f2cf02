"""The order the steps list their findings in: most severe first."""

from __future__ import annotations

from checks.findings import Finding, Severity

SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


def severity_rank(finding: Finding) -> int:
    """A sort key: `findings.sort(key=severity_rank)` puts critical, then warning, then info (stable within each)."""
    return SEVERITY_RANK[finding.severity]
