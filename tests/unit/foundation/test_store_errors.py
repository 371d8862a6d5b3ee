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

from shared.mongo.errors import outlasted_its_deadline, store_unavailable


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


def deadline_passed_after(last_error: Exception) -> ExecutionTimeout:
    """What the driver raises when a transaction's deadline passes while it retries:
    an ExecutionTimeout carrying the last error's message, raised from it (as
    ``with_transaction`` does; seen against a closed port and a store that answers)."""
    try:
        try:
            raise last_error
        except Exception as cause:
            raise ExecutionTimeout(str(cause), 50, {"ok": 0, "code": 50}) from cause
    except ExecutionTimeout as timeout:
        return timeout


def timed_out_reading() -> NetworkTimeout:
    try:
        try:
            raise TimeoutError("timed out")
        except TimeoutError as cause:
            raise NetworkTimeout("127.0.0.1:27017: timed out") from cause
    except NetworkTimeout as timeout:
        return timeout


@pytest.mark.parametrize(
    "error",
    [
        deadline_passed_after(ServerSelectionTimeoutError("Connect call failed")),
        deadline_passed_after(AutoReconnect("connection refused")),
        deadline_passed_after(AutoReconnect("connection reset by peer")),
        ServerSelectionTimeoutError("no servers"),
        WTimeoutError("waiting for replication timed out", 64),
        DuplicateKeyError("E11000 duplicate key", 11000),
    ],
    ids=[
        "timeout-after-no-server",
        "timeout-after-refused",
        "timeout-after-reset",
        "no-server",
        "write-concern",
        "not-a-timeout",
    ],
)
def test_a_store_out_of_reach_is_never_taken_for_a_long_batch(error: Exception) -> None:
    assert not outlasted_its_deadline(error)


@pytest.mark.parametrize(
    "error",
    [
        deadline_passed_after(timed_out_reading()),  # the driver's own deadline, mid-run
        ExecutionTimeout("operation exceeded time limit", 50),  # the server's (maxTimeMS)
    ],
    ids=["client-deadline", "server-time-limit"],
)
def test_a_deadline_passed_waiting_for_replies_may_be_a_long_batch(error: Exception) -> None:
    """Left for the consumer to settle by asking the store (a hung store looks the same)."""
    assert outlasted_its_deadline(error)
