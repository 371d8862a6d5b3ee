"""The commands the docs name answer ``--help`` with their usage and do nothing else: no
signing key generated, no witness started, no file written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PORTAL_SCHEMAS = ROOT / "docs" / "contracts" / "portal"


@pytest.mark.parametrize("module", ["audit.keys", "witness.main", "notification.portal_mapping"])
def test_help_prints_the_usage_and_does_nothing(module: str, tmp_path: Path) -> None:
    schemas = {p: p.stat().st_mtime_ns for p in PORTAL_SCHEMAS.glob("*.json")}
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}",
        "HOME": str(tmp_path),
        "LT_AUDIT_SIGNING_KEY_PATH": str(tmp_path / "audit" / "signing-key.pem"),
        "LT_WITNESS_KEY_PATH": str(tmp_path / "witness" / "key.pem"),
        "LT_WITNESS_STATE_PATH": str(tmp_path / "witness" / "state.json"),
        "LT_WITNESS_HOST": "192.0.2.1",  # were it to start, it could not listen there
    }
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {module} [-h]")
    assert list(tmp_path.iterdir()) == []
    assert {p: p.stat().st_mtime_ns for p in PORTAL_SCHEMAS.glob("*.json")} == schemas
