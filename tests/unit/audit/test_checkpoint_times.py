"""A checkpoint's ``time`` line decides which log key may have signed it: it must be an
RFC 3339 time with its offset, compared with key windows as an instant; and the witnesses
must have cosigned it while that key could still sign (plus a short grace).

The auditor's review found ``time 2026-11-26T09:05:00.000-07:00`` (16:05Z) accepted in a
window ending 09:10Z because the times were compared as text, ``time !garbage`` accepted,
and a retired key's checkpoint, backdated into its window and cosigned a week later,
trusted.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from audit.domain import format_log_time, parse_log_time, read_checkpoint
from audit.trust import COSIGNATURE_GRACE, PinnedKey, TrustPolicy
from audit.verify import Failed, verify_document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.transparency.note import NoteError
from tests.unit.audit.builders import T0, Doc, build_bundle, build_log, checkpoint, trust, vkey_of

KEY = Ed25519PrivateKey.generate()
UNTIL = T0 + timedelta(minutes=10)  # the key was retired at 09:10Z
WINDOWED = replace(
    trust(KEY),
    log_keys=(PinnedKey(vkey_of(KEY), "2026-01-01T00:00:00.000Z", format_log_time(UNTIL)),),
)


def bundle_with(**options: object) -> Doc:
    """A bundle of D-2 under a checkpoint at size 8 built with these ``checkpoint`` options."""
    log = build_log(8, [KEY], [8])
    log["checkpoints"][0] = checkpoint(log["entries"], 8, KEY, **options)  # type: ignore[arg-type]
    return build_bundle(log, "D-2")


def refusal(doc: Doc, policy: TrustPolicy = WINDOWED) -> str:
    with pytest.raises(Failed) as caught:
        verify_document(doc, policy)
    return caught.value.message


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-11-26T09:00:00.123Z", datetime(2026, 11, 26, 9, 0, 0, 123000, UTC)),
        ("2026-11-26T16:05:00+07:00", datetime(2026, 11, 26, 9, 5, tzinfo=UTC)),
        ("2026-11-26T09:05:00.000-07:00", datetime(2026, 11, 26, 16, 5, tzinfo=UTC)),
        ("2026-11-26T09:05:00.123456789Z", datetime(2026, 11, 26, 9, 5, 0, 123456, UTC)),
    ],
)
def test_rfc_3339_times_are_read_as_instants(text: str, instant: datetime) -> None:
    assert parse_log_time(text) == instant


@pytest.mark.parametrize(
    "text",
    [
        "2026-1",
        "2026-11-26 23:59",
        "2026-11-26T09:0",
        "2026-11-26T09:05:00",  # no offset
        "2026-11-26 09:05:00Z",
        "2026-11-26T09:05Z",  # no seconds
        "2026-13-26T09:05:00Z",
        "2026-11-26T09:05:60Z",
        "2026-11-26T09:05:00+7:00",
        "2026-11-26T09:05:00Z ",
        "２０２６-11-26T09:05:00Z",  # non-ASCII digits
        "!garbage",
        "",
    ],
)
def test_anything_else_is_not_a_checkpoint_time(text: str) -> None:
    with pytest.raises(ValueError):
        parse_log_time(text)
    log = build_log(8, [KEY], [8])
    note = checkpoint(log["entries"], 8, KEY, time_line=text)["note"]
    with pytest.raises(NoteError, match="time line"):
        read_checkpoint(note)
    for policy in (WINDOWED, trust(KEY)):  # a window or none: a malformed time is refused
        message = refusal(bundle_with(time_line=text), policy)
        assert message.startswith("not a signed checkpoint note: the checkpoint's time line")


def test_key_windows_compare_instants_not_text() -> None:
    outside = bundle_with(time_line="2026-11-26T09:05:00.000-07:00")  # 16:05Z
    assert refusal(outside) == (
        f"signed at 2026-11-26T09:05:00.000-07:00 by key {vkey_of(KEY).key_hash}, outside "
        f"its validity window [2026-01-01T00:00:00.000Z, {format_log_time(UNTIL)})"
    )
    inside = bundle_with(time_line="2026-11-26T16:05:00+07:00")  # 09:05Z
    assert verify_document(inside, WINDOWED).startswith("bundle of dossier D-2")


def test_a_retired_key_backdating_a_checkpoint_gets_no_late_cosignature_counted() -> None:
    last_moment = UNTIL - timedelta(seconds=1)
    backdated = bundle_with(at=last_moment, cosigned_at=datetime(2026, 12, 1, 8, tzinfo=UTC))
    assert refusal(backdated) == (
        "cosigned by 0 of 2 pinned witnesses (none); the quorum is 2"
        "; witness-1 cosigned at 2026-12-01T08:00:00.000Z, later than the log key's window "
        "end 2026-11-26T09:10:00.000Z plus 0:10:00, not counted"
        "; witness-2 cosigned at 2026-12-01T08:00:00.000Z, later than the log key's window "
        "end 2026-11-26T09:10:00.000Z plus 0:10:00, not counted"
    )
    # Cosigned just after the rotation, within the grace: the ordinary case.
    just_after = bundle_with(at=last_moment, cosigned_at=UNTIL + timedelta(seconds=2))
    assert verify_document(just_after, WINDOWED).startswith("bundle of dossier D-2")
    at_the_end = bundle_with(at=last_moment, cosigned_at=UNTIL + COSIGNATURE_GRACE)
    assert "not counted" in refusal(at_the_end)
    # A key with no end to its window: no cosignature is late.
    assert verify_document(backdated, trust(KEY)).startswith("bundle of dossier D-2")
