"""The fault matrix tells the documented crash window from a duplicate
(``chaos.checks.in_crash_window``): one copy the store never heard of as sent, after
notification was killed or a stop cut a send off, and nothing more."""

from __future__ import annotations

import pytest

from chaos.checks import in_crash_window


def test_one_copy_the_record_never_heard_of_after_a_kill_is_the_crash_window() -> None:
    assert in_crash_window(2, 1, sender_killed=True)


def test_one_copy_of_a_send_cut_off_by_a_stop_is_a_documented_window() -> None:
    """The record holds the cut-off send as ``unknown``: it may have gone out."""
    assert in_crash_window(2, 1, sender_killed=False, cut_off=1)


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


@pytest.mark.parametrize(("copies", "stored"), [(3, 1), (2, 2)])
def test_a_cut_off_send_explains_one_copy_only(copies: int, stored: int) -> None:
    assert not in_crash_window(copies, stored, sender_killed=False, cut_off=1)
