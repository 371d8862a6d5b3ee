"""Which store errors pause work (the store's state) and which are the work's own fault."""

from __future__ import annotations

import pytest
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteConcernError,
    WriteError,
    WTimeoutError,
)

from shared.mongo.errors import store_unavailable


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("connection reset"),
        NetworkTimeout("timed out"),
        ServerSelectionTimeoutError("no servers"),
        NotPrimaryError("not primary"),
        ExecutionTimeout("operation exceeded time limit", 50),
        WTimeoutError("waiting for replication timed out", 64),
        WriteConcernError("write concern not satisfied", 64, {}),
        OperationFailure("not writable primary", 10107),
        OperationFailure("primary stepped down", 189),
        OperationFailure("interrupted due to repl state change", 11602),
        OperationFailure("shutting down", 91),
        OperationFailure("some transient error", 1, {"errorLabels": ["TransientTransactionError"]}),
        WriteError("not primary", 10107),
    ],
    ids=lambda error: f"{type(error).__name__}-{getattr(error, 'code', None)}",
)
def test_errors_of_the_store_pause_and_retry(error: Exception) -> None:
    assert store_unavailable(error)


@pytest.mark.parametrize(
    "error",
    [
        DuplicateKeyError("E11000 duplicate key", 11000),
        OperationFailure("document failed validation", 121),
        WriteError("bad update", 9),
        ValueError("a handler's own bug"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_of_the_work_itself_are_not_outages(error: Exception) -> None:
    assert not store_unavailable(error)
