"""A hand-over answered by its receiver: accepted (with the receipt that proves who held
the dossier from when) or refused (the sender's step reopens)."""

from __future__ import annotations

from routing.domain.guards import allow, fact_base
from routing.domain.model import Context, Decision, Dossier, Holding, TransferRecord
from routing.domain.state_machine import Action
from shared.events.commands import AcceptTransfer, RefuseTransfer
from shared.events.handover import HandoverReceipt, TransferAccepted, TransferRefused


def decide_accept(dossier: Dossier, cmd: AcceptTransfer, ctx: Context) -> Decision:
    """The receiver takes the dossier over; the receipt proves who held it from when."""
    state = allow(dossier, Action.ACCEPT_TRANSFER, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    assert d.transfer is not None  # IN_TRANSFER always has a pending hand-over
    t, now = d.transfer, ctx.now
    d.holding().until = now
    d.holdings.append(
        Holding(unit=cmd.unit, step_index=t.step_index, since=now, how="transfer_accepted")
    )
    d.steps[t.step_index].unit = cmd.unit
    d.steps[t.step_index].accepted_at = now
    d.state, d.holding_unit, d.transfer = state, cmd.unit, None
    receipt = HandoverReceipt(
        receipt_id=ctx.new_id("receipt"),
        dossier_code=d.code,
        step_index=t.step_index,
        from_unit=t.from_unit,
        to_unit=cmd.unit,
        accepted_at=now,
        documents_hash=d.documents_hash,
    )
    record = _record_of(d, t.transfer_id)
    record.status, record.settled_at, record.receipt = "accepted", now, receipt
    accepted = TransferAccepted(
        **fact_base(d),
        transfer_id=t.transfer_id,
        step_index=t.step_index,
        from_unit=t.from_unit,
        to_unit=cmd.unit,
        accepted_at=now,
        receipt=receipt,
    )
    return Decision(d, (accepted,))


def decide_refuse(dossier: Dossier, cmd: RefuseTransfer, ctx: Context) -> Decision:
    """The receiver sends the dossier back: the sender's step reopens, to fix and resend."""
    state = allow(dossier, Action.REFUSE_TRANSFER, cmd.unit, ctx)
    d = dossier.copy_to_decide()
    assert d.transfer is not None
    t = d.transfer
    target = d.steps[t.step_index]
    target.started_at = target.due_date = target.accepted_at = None
    for skipped in d.steps[t.from_step + 1 : t.step_index]:
        skipped.skipped = False
    reopened = d.steps[t.from_step]
    reopened.completed_at = reopened.outcome = None
    d.outcome = None
    d.current_step, d.state, d.transfer = t.from_step, state, None
    record = _record_of(d, t.transfer_id)
    record.status, record.settled_at, record.reason = "refused", ctx.now, cmd.reason
    refused = TransferRefused(
        **fact_base(d),
        transfer_id=t.transfer_id,
        step_index=t.step_index,
        from_unit=t.from_unit,
        to_unit=t.to_unit,
        refused_at=ctx.now,
        reason=cmd.reason,
    )
    return Decision(d, (refused,))


def _record_of(d: Dossier, transfer_id: str) -> TransferRecord:
    return next(r for r in d.transfers if r.transfer_id == transfer_id)
