"""``python -m bench.store_shapes`` keeps working: it measures each shape on its own store.

No figure is asserted (they depend on the machine): what must hold is that every shape
named runs against a private store, sends the commands it stands for, and that the
store is stopped and its folder removed afterwards.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.store_shapes import run


def test_each_shape_runs_on_a_private_store_that_is_removed_after() -> None:
    before = set(Path(tempfile.gettempdir()).glob("lt-store-shapes-*"))

    results = run(3, ["dossier_save_checked", "outbox_count_pending"], ["--cache-size", "256M"])

    assert [name for name, _, _ in results] == ["dossier_save_checked", "outbox_count_pending"]
    commands = {name: per_op for name, _, per_op in results}
    assert commands == {"dossier_save_checked": 2.0, "outbox_count_pending": 1.0}
    assert all(cpu_ms >= 0 for _, cpu_ms, _ in results)
    assert set(Path(tempfile.gettempdir()).glob("lt-store-shapes-*")) == before
