"""The Rust store's command line: the project's defaults first (cache, oplog cap), then
``LT_STORE_EXTRA_ARGS``, so a flag tried there overrides a default (the server keeps the
last value of a repeated flag); the Python server takes none of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.store_server import OPLOG_MAX_ENTRIES, StoreServer


def test_extra_flags_follow_the_defaults_so_they_override_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LT_STORE_EXTRA_ARGS", "--oplog-max-entries 100000 --write-tickets 2")
    argv = StoreServer("rust", Path("/bin/secantusd-rs")).command("127.0.0.1", 1, Path("d"))
    caps = [i for i, word in enumerate(argv) if word == "--oplog-max-entries"]
    assert [argv[i + 1] for i in caps] == [OPLOG_MAX_ENTRIES, "100000"]
    assert argv[-2:] == ["--write-tickets", "2"]


def test_the_python_server_gets_only_its_own_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LT_STORE_EXTRA_ARGS", "--oplog-max-entries 100000")
    argv = StoreServer("python", Path("/bin/secantusd-py")).command("127.0.0.1", 1, Path("d"))
    assert "--oplog-max-entries" not in argv and "--cache-size" not in argv


def test_the_authenticated_store_runs_the_server_the_devstack_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``LT_STORE_SERVER=python`` names a kind, for make run's store as for the devstack's
    (it was once taken for a program there, and make run's store did not start)."""
    from infra.store_auth import server_command

    monkeypatch.delenv("LT_STORE_EXTRA_ARGS", raising=False)
    monkeypatch.setenv("LT_STORE_SERVER", "python")
    argv = server_command(27018, Path("d"), auth=True)
    assert Path(argv[0]).name == "secantusd-py" and argv[-1] == "--auth"
