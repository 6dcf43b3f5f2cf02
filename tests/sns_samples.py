"""The public SES/SNS samples beside the repository (../shared/samples/ses-events), never copied into it."""

from __future__ import annotations

from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "ses-events"


def real_cert_dir(folder: Path) -> Path:
    """Make `folder` hold the samples' real AWS SNS signing certificates, named as their SigningCertURLs end
    (`SimpleNotificationService-<digest>`, what `CertificateStore(cert_dir=...)` looks up); skip the test when the
    samples folder is absent."""
    if not SAMPLES.is_dir():
        pytest.skip(f"AWS samples folder not found at {SAMPLES}")
    folder.mkdir()
    for pem in SAMPLES.glob("*__sns-signing-cert-*.pem"):
        digest = pem.name.rsplit("-", 1)[1]
        (folder / f"SimpleNotificationService-{digest}").symlink_to(pem)
    return folder
