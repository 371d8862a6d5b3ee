"""``python -m bench.store_shapes``'s command line: the words after ``--`` go to the store
as they are (argparse alone took them for shape names, and the store ran without them),
and an unknown shape is refused before any store starts, where it measured nothing."""

from __future__ import annotations

import pytest

from bench.store_shapes import main, split_server_flags


def test_words_after_the_separator_are_the_stores_flags() -> None:
    argv = ["--count", "9", "counter_update", "--", "--checkpoint-seconds", "300"]
    assert split_server_flags(argv) == (
        ["--count", "9", "counter_update"],
        ["--checkpoint-seconds", "300"],
    )
    assert split_server_flags(["counter_update"]) == (["counter_update"], [])


def test_an_unknown_shape_is_refused_before_a_store_starts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["no_such_shape", "--", "--cache-size", "1G"])
    assert exit_.value.code == 2
    assert "unknown shape no_such_shape" in capsys.readouterr().err
