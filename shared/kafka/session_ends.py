"""A Kafka session ending with its token is routine: logged at INFO, not as an error.

The broker closes an OAUTHBEARER connection when the token it was opened with expires
(KIP-368). aiokafka cannot re-authenticate an open connection, so its client, fetcher,
group coordinator and producer each log the closed connection as an error or a warning
("Failed fetch messages from 1: KafkaConnectionError: Connection at ... closed", "...
-- marking coordinator dead", "Unable to update metadata from [1]") and reconnect with a
fresh token. With the realm's 15-minute tokens every service would log errors every
quarter of an hour, and operators who learn to pass over them miss the real outage.

The token provider notes when each token it hands out expires (``SESSION_ENDS.note``);
``ExpectedSessionEnd``, a filter on those aiokafka loggers, logs a record about a closed
connection, a dead coordinator or a metadata update that failed on one at INFO, saying
why, when it comes within ``WINDOW_BEFORE_S``/``WINDOW_AFTER_S`` of such a moment. A
connection closed at any other time keeps its level, and so does every failure to
connect again (a refused token, a broker that is down), whenever it happens.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable

# The broker's clock and ours differ by the token request's latency; the clients notice a
# closed connection at their next request (a fetch waits at most a few hundred ms, an
# offset commit follows the next batch).
WINDOW_BEFORE_S = 5.0
WINDOW_AFTER_S = 30.0
SUFFIX = " (the Kafka session ended with its token; the client reconnects with a fresh one)"
# Where aiokafka logs a connection the broker closed.
LOGGERS = (
    "aiokafka",  # the client's metadata updates
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.sender",
)


class SessionEnds:
    """When the tokens this process handed to Kafka clients expire (monotonic seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, kept: int = 64) -> None:
        self._clock = clock
        self._expiries: deque[float] = deque(maxlen=kept)

    def note(self, lifetime_s: float) -> None:
        """A token valid for ``lifetime_s`` from now was handed out."""
        self._expiries.append(self._clock() + lifetime_s)

    def expected_now(self) -> bool:
        """Whether a session may have ended with its token about now."""
        now = self._clock()
        return any(end - WINDOW_BEFORE_S <= now <= end + WINDOW_AFTER_S for end in self._expiries)


SESSION_ENDS = SessionEnds()


def about_a_closed_connection(message: str) -> bool:
    """aiokafka's report of an open connection the broker closed, or of the metadata
    update that failed on it; not of a failure to connect again ("Unable connect to ...",
    which keeps its level)."""
    if message.startswith("Unable connect"):
        return False
    return (
        "coordinator dead" in message
        or ("Connection at " in message and " closed" in message)
        or message.startswith("Unable to update metadata")
    )


class ExpectedSessionEnd(logging.Filter):
    """Logs aiokafka's report of a session ended with its token at INFO, saying why."""

    def __init__(self, ends: SessionEnds = SESSION_ENDS) -> None:
        super().__init__()
        self._ends = ends

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.INFO:
            return True
        message = record.getMessage()
        if about_a_closed_connection(message) and self._ends.expected_now():
            record.msg, record.args = message + SUFFIX, ()
            record.levelno, record.levelname = logging.INFO, logging.getLevelName(logging.INFO)
        return True


def report_session_ends() -> None:
    """Put ``ExpectedSessionEnd`` on aiokafka's loggers (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ExpectedSessionEnd) for f in logger.filters):
            logger.addFilter(ExpectedSessionEnd())
