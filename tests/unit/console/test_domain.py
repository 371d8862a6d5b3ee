"""The console's pure rules: the flow diagram, consumer lag (and on which partitions),
outbox figures, letter filters, and where a sign-in may lead and when its token is
refreshed."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain import (
    LetterFilter,
    by_topic,
    flow_diagram,
    lag_partitions,
    needs_refresh,
    outbox_figures,
    partition_lag,
    safe_next,
)


def test_flow_diagram_separates_senders_from_receivers_so_round_trips_draw() -> None:
    diagram = flow_diagram(
        [
            {"from_level": "commune", "to_level": "district", "requested": 3, "accepted": 2},
            {"from_level": "district", "to_level": "commune", "requested": 2, "accepted": 2},
            {"from_level": "province", "to_level": "district", "requested": 0},
        ]
    )
    names = [node["name"] for node in diagram["nodes"]]
    assert names == ["commune ▸", "district ▸", "▸ commune", "▸ district"]
    assert {(link["source"], link["target"], link["value"]) for link in diagram["links"]} == {
        ("commune ▸", "▸ district", 3),
        ("district ▸", "▸ commune", 2),
    }


def test_partition_lag_counts_from_the_committed_offset_or_from_the_start() -> None:
    rows = partition_lag(
        "routing",
        {("dossier.events", 0): 5, ("dossier.events", 1): -1},
        {("dossier.events", 0): 8, ("dossier.events", 1): 4, ("dossier.events", 2): 0},
    )
    assert [(r.partition, r.lag) for r in rows] == [(0, 3), (1, 4), (2, 0)]


def test_lag_covers_every_partition_of_every_topic_a_group_committed_on() -> None:
    committed = {("dossier.events", 0): 5, ("notification.events", 2): 1, ("ops", 1): 4}
    described = {"dossier.events": {0, 1, 2}, "notification.events": {0, 1, 2}}
    # "ops" was not described (the broker could not say now): its committed partition stays.
    assert lag_partitions(committed, described) == [
        ("dossier.events", 0),
        ("dossier.events", 1),
        ("dossier.events", 2),
        ("notification.events", 0),
        ("notification.events", 1),
        ("notification.events", 2),
        ("ops", 1),
    ]
    # A topic the broker no longer has (described without partitions) has nothing to read.
    assert lag_partitions({("gone", 0): 3}, {"gone": set()}) == []


def test_outbox_figures_come_from_the_prometheus_text() -> None:
    text = (
        "# TYPE lt_outbox_pending gauge\n"
        'lt_outbox_pending{service="routing"} 7.0\n'
        "# TYPE lt_outbox_oldest_age_seconds gauge\n"
        'lt_outbox_oldest_age_seconds{service="routing"} 2.5\n'
    )
    figures = outbox_figures(text)
    assert (figures.pending, figures.oldest_age_seconds) == (7.0, 2.5)
    assert outbox_figures("").pending is None


@dataclass
class Letter:
    original_topic: str
    error_kind: str
    consumer_group: str
    key: str | None = None


def test_a_filter_takes_letters_matching_every_given_field() -> None:
    letters = [
        Letter("dossier.events", "handler_failed", "routing"),
        Letter("dossier.events", "malformed", "audit"),
        Letter("notification.events", "handler_failed", "routing"),
    ]
    assert LetterFilter().empty()
    wanted = LetterFilter(original_topic="dossier.events", error_kind="handler_failed")
    assert [wanted.matches(letter) for letter in letters] == [True, False, False]
    assert by_topic(letters) == {"dossier.events": 2, "notification.events": 1}


def test_after_sign_in_only_a_path_of_this_console_is_followed() -> None:
    assert safe_next("/#deadletters") == "/#deadletters"
    assert safe_next("/api/flows?since=x") == "/api/flows?since=x"
    for elsewhere in (
        None,
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil",
        "x",
        "/a\r\nb",
        "/" + "x" * 1024,  # longer than a page of this console, and than a cookie may be
    ):
        assert safe_next(elsewhere) == "/"


def test_a_token_is_refreshed_within_the_margin_of_its_expiry() -> None:
    assert not needs_refresh(expires_at=1000.0, now=900.0, margin_s=60)
    assert needs_refresh(expires_at=1000.0, now=940.0, margin_s=60)
    assert needs_refresh(expires_at=1000.0, now=1200.0, margin_s=60)


def test_a_personal_topics_message_is_outlined_never_shown() -> None:
    from console.domain import letter_message

    from shared.error_text import OLD_ERROR_WITHHELD, letter_error

    value = b'{"id": "e-1", "type": "t.v1", "subject": "D-1", "data": {"phone": "0901234567"}}'
    shown = letter_message(value, "phone numbers")
    assert shown["message"] is None and shown["message_withheld"] == "phone numbers"
    assert shown["message_outline"] == {
        "bytes": len(value),
        "id": "e-1",
        "type": "t.v1",
        "subject": "D-1",
        "data_fields": ["phone"],
    }
    assert letter_message(b"\xff not json 0901234567", "x")["message_outline"] == {"bytes": 21}
    deep = b"[" * 100_000 + b"]" * 100_000  # deeper than json recurses: outlined as bytes
    assert letter_message(deep, "x")["message_outline"] == {"bytes": 200_000}
    assert letter_message(value, "")["message"] == value.decode()
    # A letter kept before its writer redacted errors: its error's class alone.
    old = "ValueError: bad [type=value_error, input_value={'phone': '0901"  # cut at 2,000
    assert letter_error(old, "x", redacted=False) == f"ValueError: {OLD_ERROR_WITHHELD}"
    for odd in ("0901234567 unknown", "Nguyễn: unknown"):
        assert letter_error(odd, "x", redacted=False) == f"error: {OLD_ERROR_WITHHELD}"
    redacted = "ValueError at services/x.py:3 in on_it: message withheld"
    assert letter_error(redacted, "x", redacted=True) == redacted  # its writer did
    assert letter_error(old, "", redacted=False) == old  # a topic without personal data


def test_which_topics_carry_personal_data() -> None:
    from shared.topics import personal_data_of

    assert personal_data_of("t-", "t-applicant.contacts")
    assert personal_data_of("t-", "t-dossier.commands.001.21.31.H59")
    # An agency's feed carries what dossier.events carries, and is known as such.
    from shared.topics import DOSSIER_EVENTS, spec_of

    feed = spec_of("t-", "t-dossier.events.001.21.31.H59")
    assert feed is not None and feed.name == "dossier.events.001.21.31.H59"
    assert (feed.partitions, feed.retention_ms) == (1, DOSSIER_EVENTS.retention_ms)
    assert personal_data_of("t-", feed.name.join(["t-", ""])) == DOSSIER_EVENTS.personal_data
    assert personal_data_of("t-", "t-somewhere.else")  # unknown: assumed to
    assert personal_data_of("t-", "t-audit.events") == ""
