"""The copies of dossiers routing keeps after its writes: newest version wins, bounded."""

from __future__ import annotations

from routing.recent import RecentDossiers
from routing.store import Loaded

from tests.unit.routing.builders import dossier_in


def copy(code: str, version: int) -> Loaded:
    d = dossier_in("processing").model_copy(update={"code": code, "version": version})
    return Loaded(d, {})


def test_a_later_version_replaces_a_kept_copy_and_an_earlier_one_does_not() -> None:
    recent = RecentDossiers(10)
    recent.keep(copy("A", 2))
    recent.keep(copy("A", 1))  # a slower writer's commit, older than what is kept
    kept = recent.get("A")
    assert kept is not None and kept.dossier.version == 2
    recent.keep(copy("A", 3))
    kept = recent.get("A")
    assert kept is not None and kept.dossier.version == 3


def test_the_least_recently_used_copy_goes_first() -> None:
    recent = RecentDossiers(2)
    recent.keep(copy("A", 1))
    recent.keep(copy("B", 1))
    assert recent.get("A") is not None  # A used: B is now the oldest
    recent.keep(copy("C", 1))
    assert (recent.holds("A"), recent.holds("B"), recent.holds("C")) == (True, False, True)
    assert len(recent) == 2


def test_a_forgotten_copy_is_gone_and_size_zero_keeps_nothing() -> None:
    recent = RecentDossiers(2)
    recent.keep(copy("A", 1))
    recent.forget("A")
    recent.forget("never kept")
    assert recent.get("A") is None
    none = RecentDossiers(0)
    none.keep(copy("A", 1))
    assert len(none) == 0 and not none.holds("A")
