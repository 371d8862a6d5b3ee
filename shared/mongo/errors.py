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
