"""Which agencies' feeds get a dossier's facts (docs/design.md "Agency feeds").

Each agency system reads only its own feed, ``dossier.events.<unit>``; the relay copies
there the facts the emitting service names that unit for. Routing names:

* for a dossier's facts: every unit on its way so far (those that hold or held it, from
  the receiving desk on, ``holdings``), and the unit of a hand-over pending before or
  after the decision (the one it is handed to learns of it, and of its end when it
  refuses it or the hand-over is cancelled); never a unit further down the route that
  has not been handed the dossier yet;
* for a refused command: the unit that sent it (the one its agency topic proves on a
  secured broker), alone;
* for intake's withdrawal request, which intake names from its view of the dossier (a
  consumer's latency behind routing): the unit holding the dossier and the receiver of
  a pending hand-over, when intake's view named another holder; routing copies the
  request itself to their feeds (``UnitOfWork.forward``).
"""

from __future__ import annotations

from routing.domain.model import Dossier


def dossier_audience(after: Dossier, before: Dossier | None = None) -> tuple[str, ...]:
    """The units whose feeds get the facts of a decision that took ``before`` (None for
    a new dossier) to ``after``, in the order they came to the dossier."""
    units = [holding.unit for holding in after.holdings]
    for dossier in (before, after):
        if dossier is not None and dossier.transfer is not None:
            units.append(dossier.transfer.to_unit)
    return tuple(dict.fromkeys(units))


def refusal_audience(unit: str | None) -> tuple[str, ...]:
    """The feed a command's refusal goes to: its sender's."""
    return (unit,) if unit else ()


def withdrawal_missed_by(request_holder: str, dossier: Dossier) -> tuple[str, ...]:
    """The units a withdrawal request must reach that intake, whose view named
    ``request_holder`` as holder, may have missed: the holder routing knows and the
    receiver of a pending hand-over (intake never names one), but the holder intake
    named, which it told."""
    units = [dossier.holding_unit]
    if dossier.transfer is not None:
        units.append(dossier.transfer.to_unit)
    return tuple(unit for unit in dict.fromkeys(units) if unit != request_holder)
