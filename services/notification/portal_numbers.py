"""The portal connector's memory of the message numbers it gave each dossier.

The connector numbers each dossier's messages (1, 2, ...; the first tells the portal
the dossier is new), reading the last number from the stored messages. Most facts
belong to dossiers it numbered moments ago, so it remembers the numbers it committed
and reads only those of the dossiers it does not remember.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from typing import NamedTuple


class Last(NamedTuple):
    """A dossier's last message number, and whether the applicant's withdrawal request
    stood after its fact (``portal_mapping.withdrawal_stands``): its next fact needs both."""

    number: int
    withdrawal_standing: bool = False


class LastNumbers:
    """Each dossier's last message number as this process committed it, for the
    ``size`` dossiers numbered most recently: their next facts need no read.

    Only committed numbers are kept (after the commit), and messages are never deleted,
    so a number remembered is never ahead of the store. It is behind when another
    instance numbered the dossier meanwhile (its partition moved away and back): the
    next number then exists already, the unique index refuses it, the dossiers of that
    write are forgotten, and the events, applied again, read their numbers.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._numbers: OrderedDict[str, Last] = OrderedDict()

    def known(self, codes: Collection[str]) -> dict[str, Last]:
        return {code: self._numbers[code] for code in codes if code in self._numbers}

    def committed(self, numbers: dict[str, Last]) -> None:
        for code, number in numbers.items():
            self._numbers[code] = number
            self._numbers.move_to_end(code)
        while len(self._numbers) > self._size:
            self._numbers.popitem(last=False)

    def forget(self, codes: Collection[str]) -> None:
        for code in codes:
            self._numbers.pop(code, None)
