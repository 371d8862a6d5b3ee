"""No update or delete path to the log: not in the code, not in the API; pure modules stay pure."""

from __future__ import annotations

import ast
from pathlib import Path

from audit.config import AuditSettings
from audit.main import create_app

AUDIT = Path(__file__).resolve().parents[3] / "services" / "audit"
SHARED_TRANSPARENCY = AUDIT.parents[1] / "shared" / "transparency"
MUTATIONS = {
    "update_one",
    "update_many",
    "delete_one",
    "delete_many",
    "replace_one",
    "find_one_and_update",
    "find_one_and_replace",
    "find_one_and_delete",
    "bulk_write",
    "drop",
    "rename",
}


def calls_to(attribute_names: set[str]) -> list[tuple[str, int, str]]:
    """Every call ``<receiver>.<name>(...)`` in services/audit: file, line, receiver source."""
    found = []
    for path in sorted(AUDIT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in attribute_names
            ):
                found.append((path.name, node.lineno, ast.unparse(node.func.value)))
    return found


def test_no_code_updates_or_deletes_entries() -> None:
    mutations = calls_to(MUTATIONS)
    assert mutations, "the scan found no mutation at all: is it looking at the right files?"
    on_entries = [m for m in mutations if "entries" in m[2]]
    assert on_entries == []
    # The bookkeeping that may change: the head, the signing keys, the checkpoints' notes
    # (witnesses' cosignatures are added to what the log signed) and the dossier keys
    # (destroyed at erasure; they are not part of the log), nothing else.
    assert {receiver for _, _, receiver in mutations} <= {
        "self._head",
        "self._keys",
        "self._checkpoints",
        "self._dossier_keys",
    }


def test_entries_are_only_inserted_through_one_function() -> None:
    inserts = [c for c in calls_to({"insert_one", "insert_many"}) if "entries" in c[2]]
    assert [(name, receiver) for name, _, receiver in inserts] == [("store.py", "self._entries")]


def test_the_auditor_api_only_reads() -> None:
    paths = create_app(AuditSettings()).openapi()["paths"]
    audit = {path: set(ops) for path, ops in paths.items() if path.startswith("/v1/audit/")}
    assert len(audit) >= 10
    assert set().union(*audit.values()) == {"get"}


def test_pure_modules_import_no_io() -> None:
    # shared.events: the contracts (models, no I/O) say which fields personal.py seals.
    allowed = {"__future__", "hashlib", "base64", "binascii", "dataclasses", "datetime",
               "typing", "json", "collections", "rfc8785", "cryptography", "audit",
               "shared.transparency", "copy", "secrets", "re", "functools",
               "shared.events"}  # fmt: skip
    pure = [
        AUDIT / "domain.py",
        AUDIT / "trust.py",
        AUDIT / "key_chain.py",
        AUDIT / "personal.py",
        AUDIT / "key_wrapping.py",
        *SHARED_TRANSPARENCY.glob("*.py"),
    ]
    for path in pure:
        tree = ast.parse(path.read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(_package(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(_package(node.module))
        assert imported <= allowed, (path.name, imported - allowed)


def _package(module: str) -> str:
    """The top package, or ``shared.<part>`` for the shared mechanisms."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "shared" else parts[0]
