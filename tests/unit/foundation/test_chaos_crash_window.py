"""The fault matrix tells the documented crash window from a duplicate
(``chaos.checks.in_crash_window``): one copy the store never heard of, after notification
was killed, and nothing more."""

from __future__ import annotations

import pytest

from chaos.checks import in_crash_window


def test_one_copy_the_record_never_heard_of_after_a_kill_is_the_crash_window() -> None:
    assert in_crash_window(2, 1, sender_killed=True)


@pytest.mark.parametrize(
    ("copies", "stored", "sender_killed"),
    [
        (2, 1, False),  # nobody was killed: no window to fall into
        (2, 2, True),  # both copies were on record: the sender knew and sent again
        (3, 1, True),  # a window holds one message once
        (2, 0, True),  # sent twice and never proven
    ],
)
def test_anything_else_is_a_duplicate(copies: int, stored: int, sender_killed: bool) -> None:
    assert not in_crash_window(copies, stored, sender_killed=sender_killed)
