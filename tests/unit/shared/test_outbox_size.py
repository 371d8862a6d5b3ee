"""An event the broker could never take is refused before its transaction commits."""

from __future__ import annotations

import pytest

from shared.mongo.outbox_entry import MAX_EVENT_BYTES, EventTooLarge, check_size


def test_an_envelope_over_the_limit_in_utf8_is_refused() -> None:
    check_size("dossier.stopped.v1", "a" * MAX_EVENT_BYTES)  # at the limit: taken
    check_size("dossier.stopped.v1", "đ" * (MAX_EVENT_BYTES // 2))  # two bytes each
    with pytest.raises(EventTooLarge) as refused:
        check_size("dossier.stopped.v1", "đ" * (MAX_EVENT_BYTES // 2 + 1))
    assert refused.value.code == "event_too_large"
    assert "dossier.stopped.v1" in refused.value.detail
