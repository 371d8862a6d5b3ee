"""A Kafka session ending with its token is logged at INFO; other closed connections,
and failures to reconnect, keep their level."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.kafka.session_ends import (
    LOGGERS,
    SUFFIX,
    WINDOW_AFTER_S,
    WINDOW_BEFORE_S,
    ExpectedSessionEnd,
    SessionEnds,
    report_session_ends,
)

TOKEN_LIFETIME_S = 900.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fetch_failed() -> logging.LogRecord:
    """What aiokafka's fetcher logs when the broker closed its connection."""
    closed = KafkaConnectionError("Connection at 127.0.0.1:9094 closed")
    return logging.LogRecord(
        "aiokafka.consumer.fetcher", logging.ERROR, __file__, 1,
        "Failed fetch messages from %s: %s", (1, closed), None,
    )  # fmt: skip


def unable_to_connect(failure: str) -> logging.LogRecord:
    return logging.LogRecord(
        "aiokafka", logging.ERROR, __file__, 1,
        "Unable connect to node with id %s: %s", (1, failure), None,
    )  # fmt: skip


def filtered(record: logging.LogRecord, clock: Clock, at: float | None) -> logging.LogRecord:
    """``record`` through the filter, the token having been handed out at time 0 (None:
    no token was handed out), the clock at ``at`` seconds past it."""
    ends = SessionEnds(clock)
    if at is not None:
        ends.note(TOKEN_LIFETIME_S)
        clock.now += TOKEN_LIFETIME_S + at
    assert ExpectedSessionEnd(ends).filter(record)
    return record


@pytest.mark.parametrize("at", [-WINDOW_BEFORE_S, 0.0, 2.0, WINDOW_AFTER_S])
def test_a_connection_closed_as_its_token_expired_is_logged_at_info(at: float) -> None:
    record = filtered(fetch_failed(), Clock(), at)
    assert record.levelno == logging.INFO and record.levelname == "INFO"
    assert record.getMessage() == (
        "Failed fetch messages from 1: KafkaConnectionError: Connection at 127.0.0.1:9094 "
        "closed" + SUFFIX
    )


@pytest.mark.parametrize("at", [None, -WINDOW_BEFORE_S - 1, WINDOW_AFTER_S + 1, -600.0])
def test_a_connection_closed_at_another_time_keeps_its_level(at: float | None) -> None:
    record = filtered(fetch_failed(), Clock(), at)
    assert record.levelno == logging.ERROR
    assert SUFFIX not in record.getMessage()


@pytest.mark.parametrize(
    "failure", ["TokenUnavailable: 401", "KafkaConnectionError: Connection at 127.0.0.1:9 closed"]
)
def test_a_failure_to_reconnect_keeps_its_level_even_as_a_token_expires(failure: str) -> None:
    record = filtered(unable_to_connect(failure), Clock(), 1.0)
    assert record.levelno == logging.ERROR


def test_the_coordinator_marked_dead_as_the_session_ended_is_logged_at_info() -> None:
    record = logging.LogRecord(
        "aiokafka.consumer.group_coordinator", logging.WARNING, __file__, 1,
        "Marking the coordinator dead (node %s)for group %s.", (1, "g"), None,
    )  # fmt: skip
    assert filtered(record, Clock(), 3.0).levelno == logging.INFO


@pytest.mark.parametrize(
    ("message", "args"),
    [
        (
            "Unable to request metadata from node with id %s: %r",
            (1, KafkaConnectionError("Connection at 127.0.0.1:9094 closed")),
        ),
        ("Unable to update metadata from %s", ([1],)),
    ],
)
def test_a_metadata_update_failed_on_the_closed_connection_is_logged_at_info(
    message: str, args: tuple[object, ...]
) -> None:
    """Seen under make run: the client's metadata update, on the session that ended."""
    record = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, message, args, None)
    assert filtered(record, Clock(), 1.0).levelno == logging.INFO


def test_each_token_handed_out_opens_its_own_window() -> None:
    clock = Clock()
    ends = SessionEnds(clock)
    ends.note(TOKEN_LIFETIME_S)
    clock.now += 600
    ends.note(TOKEN_LIFETIME_S)  # a second client's token, ten minutes later
    clock.now += TOKEN_LIFETIME_S - 600  # the first expires
    assert ends.expected_now()
    clock.now += 300  # between the two
    assert not ends.expected_now()
    clock.now += 300  # the second expires
    assert ends.expected_now()


def test_the_filter_is_put_on_aiokafkas_loggers_once() -> None:
    report_session_ends()
    report_session_ends()
    for name in LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, ExpectedSessionEnd) for f in filters) == 1
