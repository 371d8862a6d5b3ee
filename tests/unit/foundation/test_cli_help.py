"""The commands the docs name answer ``--help`` with their usage and do nothing else: no
service started, no signing key generated, no witness started, no file written; and an
argument they do not take is refused (exit 2) before anything starts. They share one
mechanism (``shared.command_line``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PORTAL_SCHEMAS = ROOT / "docs" / "contracts" / "portal"
SERVICES = ["intake", "routing", "notification", "audit", "console"]
MODULES = [
    *(f"{service}.main" for service in SERVICES),
    "audit.keys",
    "audit.wrap_keys",
    "witness.main",
    "notification.portal_mapping",
]
UNREACHABLE = (
    "192.0.2.1"  # TEST-NET-1: were a command to start, it could neither listen nor connect
)


def run(module: str, argument: str, home: Path) -> subprocess.CompletedProcess[str]:
    environ = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT}:{ROOT / 'services'}",
        "HOME": str(home),
        "LT_AUDIT_SIGNING_KEY_PATH": str(home / "audit" / "signing-key.pem"),
        "LT_WITNESS_KEY_PATH": str(home / "witness" / "key.pem"),
        "LT_WITNESS_STATE_PATH": str(home / "witness" / "state.json"),
        "LT_KAFKA_BOOTSTRAP_SERVERS": f"{UNREACHABLE}:9",
        "LT_MONGO_URI": f"mongodb://{UNREACHABLE}:9/",
        **{f"LT_{name.upper()}_HOST": UNREACHABLE for name in [*SERVICES, "witness"]},
    }
    return subprocess.run(
        [sys.executable, "-m", module, argument],
        env=environ,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("module", MODULES)
def test_help_prints_the_usage_and_does_nothing(module: str, tmp_path: Path) -> None:
    schemas = {p: p.stat().st_mtime_ns for p in PORTAL_SCHEMAS.glob("*.json")}
    done = run(module, "--help", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: python -m {module} [-h]")
    assert done.stderr == ""  # no log line: nothing started
    assert list(tmp_path.iterdir()) == []
    assert {p: p.stat().st_mtime_ns for p in PORTAL_SCHEMAS.glob("*.json")} == schemas


@pytest.mark.parametrize("module", MODULES)
def test_an_unknown_argument_is_refused_and_does_nothing(module: str, tmp_path: Path) -> None:
    done = run(module, "--port=9", tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"usage: python -m {module} [-h]")
    assert "unrecognized arguments: --port=9" in done.stderr
    assert list(tmp_path.iterdir()) == []
