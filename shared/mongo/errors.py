"""Which store errors are the store's state, not the fault of the work that met them.

A consumer dead-letters a message only for errors of the message itself; an
unreachable store, a timeout, a write concern that could not be met or a primary
that stepped down say nothing about the message, so the work waits and is retried
like during an outage (and HTTP answers 503 with ``Retry-After``).
"""

from __future__ import annotations

from pymongo.errors import (
    ConnectionFailure,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
    WTimeoutError,
)

# Server error codes that describe the replica set or the server, never the document:
# https://github.com/mongodb/mongo/blob/master/src/mongo/base/error_codes.yml
UNAVAILABLE_CODES = frozenset(
    {
        6,  # HostUnreachable
        7,  # HostNotFound
        24,  # LockTimeout
        50,  # MaxTimeMSExpired
        64,  # WriteConcernFailed
        89,  # NetworkTimeout
        91,  # ShutdownInProgress
        112,  # WriteConflict (left over after the driver's own retries)
        189,  # PrimarySteppedDown
        262,  # ExceededTimeLimit
        290,  # TransactionExceededLifetimeLimitSeconds
        9001,  # SocketException
        10107,  # NotWritablePrimary
        11600,  # InterruptedAtShutdown
        11602,  # InterruptedDueToReplStateChange
        13435,  # NotPrimaryNoSecondaryOk
        13436,  # NotPrimaryOrSecondary
    }
)
UNAVAILABLE_LABELS = ("TransientTransactionError", "RetryableWriteError")


def store_unavailable(error: BaseException) -> bool:
    """True when ``error`` comes from the store's state (retry later), not from the work."""
    if isinstance(error, ConnectionFailure | ExecutionTimeout | WTimeoutError | WriteConcernError):
        return True
    if not isinstance(error, PyMongoError):
        return False
    if error.timeout:  # the client-side operation timeout expired
        return True
    if any(error.has_error_label(label) for label in UNAVAILABLE_LABELS):
        return True
    return isinstance(error, OperationFailure) and error.code in UNAVAILABLE_CODES


def outlasted_its_deadline(error: BaseException | None) -> bool:
    """Whether a store error may be work that took longer than its deadline, rather than
    the store being out of reach or its replicas behind (a write-concern timeout).

    Both surface as a client-side timeout: when the deadline passes while the driver
    retries a transaction whose store is out of reach, it raises an ``ExecutionTimeout``
    carrying the connection failure's message, caused by that failure (no server to
    select, connection refused or reset). So the causes are read: a connection failure
    among them means out of reach. A ``NetworkTimeout`` (a reply that did not come in
    time) is left open: a long run or a hung store, which the caller tells apart by
    asking the store.
    """
    if not (isinstance(error, PyMongoError) and error.timeout):
        return False
    for cause in _causes(error):
        if isinstance(cause, WTimeoutError):
            return False
        if isinstance(cause, ConnectionFailure) and not isinstance(cause, NetworkTimeout):
            return False
    return True


def _causes(error: BaseException) -> list[BaseException]:
    """The error and the chain of errors it was raised from or while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
