"""Which units' agency feeds get the facts intake emits about a dossier."""

from __future__ import annotations

from intake.model import IntakeDossier


def feed_audience(dossier: IntakeDossier) -> tuple[str, ...]:
    """The units whose agency feed gets the facts intake emits about a dossier: its
    receiving desk, and every unit intake's view has seen hold it (the facts it applied):
    the one holding it must stop it on a withdrawal request, and those that held it
    learn of it, as of routing's facts (docs/design.md "Agency feeds"). Before the desk
    received it that is the desk alone."""
    held = [step.holding_unit for step in dossier.history]
    return tuple(dict.fromkeys([dossier.receiving_unit, *held, dossier.holding_unit]))
