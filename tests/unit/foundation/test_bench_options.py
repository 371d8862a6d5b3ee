"""``python -m bench``'s options: ``--quick`` presets a short run, and a step flag given
with it wins (it was silently ignored); rates must be numbers above zero (a typo ended
in a traceback)."""

from __future__ import annotations

import pytest

from bench.__main__ import FULL, QUICK, options


def test_quick_presets_a_short_run_and_given_flags_win() -> None:
    quick = options(["--quick"])
    assert (quick.rates, quick.step_seconds, quick.warmup_seconds) == (
        QUICK["rates"],
        QUICK["step_seconds"],
        QUICK["warmup_seconds"],
    )
    tuned = options(["--quick", "--rates", "3", "--step-seconds", "30"])
    assert (tuned.rates, tuned.step_seconds, tuned.raw_count) == ([3.0], 30.0, QUICK["raw_count"])
    full = options(["--rates", "8,12", "--keep-going"])
    assert full.rates == [8.0, 12.0] and full.step_seconds == FULL["step_seconds"]
    assert full.stop_when_broken is False


@pytest.mark.parametrize("rates", ["8,x", "0", ","])
def test_rates_that_are_not_positive_numbers_are_refused(
    rates: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        options(["--rates", rates])
    assert exit_.value.code == 2
    assert "--rates" in capsys.readouterr().err
