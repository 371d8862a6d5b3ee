"""Routing's domain stays pure: no store, broker or HTTP imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[3] / "services" / "routing" / "domain"
FORBIDDEN = {"pymongo", "aiokafka", "fastapi", "httpx", "starlette", "asyncio", "uvicorn"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
            if node.module.startswith("shared.") and node.module.split(".")[1] in {
                "mongo",
                "kafka",
                "http",
                "app",
                "runtime",
            }:
                roots.add(node.module)
    return roots


@pytest.mark.parametrize("module", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_domain_module_imports_no_io(module: Path) -> None:
    bad = {root for root in imported_roots(module) if root in FORBIDDEN or "." in root}
    assert not bad, f"{module.name} imports {bad}"


def test_the_domain_has_modules() -> None:
    assert len(list(DOMAIN.glob("*.py"))) >= 5
