"""A fetch over several partitions becomes one run in the order the records were written.

Each partition keeps its offset order; across partitions (a dossier's hand-over on one
topic, the notification about it on another) the records' timestamps decide.
"""

from __future__ import annotations

from typing import Any

from aiokafka.structs import ConsumerRecord

from shared.kafka.batch_handling import in_time_order
from shared.kafka.batching import Decoded


def item(topic: str, offset: int, timestamp: int) -> Decoded:
    record: ConsumerRecord[bytes, bytes] = ConsumerRecord(
        topic, 0, offset, timestamp, 0, b"D-1", b"{}", None, 3, 2, []
    )
    unused: Any = None  # the order depends on the record alone
    return Decoded(record, unused, unused, None)


def test_partitions_are_merged_by_timestamp_each_keeping_its_offset_order() -> None:
    events = [item("dossier.events", 0, 100), item("dossier.events", 1, 300)]
    notifications = [item("notification.events", 7, 200), item("notification.events", 8, 400)]

    merged = in_time_order([notifications, events])

    assert [(i.record.topic, i.record.offset) for i in merged] == [
        ("dossier.events", 0),
        ("notification.events", 7),
        ("dossier.events", 1),
        ("notification.events", 8),
    ]


def test_a_partition_whose_timestamps_go_back_keeps_its_offset_order() -> None:
    late = [item("dossier.events", 0, 500), item("dossier.events", 1, 100)]

    merged = in_time_order([late])

    assert [i.record.offset for i in merged] == [0, 1]
