"""Intake's rules are pure: its domain modules import no store, broker or web framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PURE_MODULES = [
    "domain.admission",
    "domain.codes_and_dates",
    "domain.state_checks",
    "domain.public_view",
    "domain.retention",
    "domain.contact_correction",
    "model",
    "tokens",
    "schemas.requests",
    "schemas.responses",
    "schemas.catalogue",
    "schemas.subject_access",
    "schemas.contact_correction",
    "dossiers",
    "dossier_facts",
    "views",
    "examples",
]
IO_PACKAGES = {"pymongo", "bson", "motor", "aiokafka", "fastapi", "starlette", "httpx", "uvicorn"}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_module_imports_no_io_package_even_indirectly(module: str) -> None:
    probe = (
        "import sys\n"
        f"import intake.{module}\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT}:{ROOT / 'services'}"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert set(out.split()) & IO_PACKAGES == set()
