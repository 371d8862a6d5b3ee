"""The on-time tally: completed steps on time or late, per unit and procedure and month."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from routing.ontime import tally

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
VN = timedelta(hours=7)


def local_date(moment: datetime) -> date:
    return (moment + VN).date()


def step(
    unit: str, due: str | None, completed: str | None, skipped: bool = False
) -> dict[str, object]:
    return {"unit": unit, "due_date": due, "completed_at": completed, "skipped": skipped}


def test_steps_completed_by_their_due_day_are_on_time_per_unit_procedure_and_month() -> None:
    dossiers = [
        {
            "procedure_code": "1.001193",
            "steps": [
                step("desk", "2026-11-03", "2026-11-03T09:00:00+00:00"),  # on the day
                # 17:30 UTC on the 3rd is the 4th in Hà Nội: one day late.
                step("district", "2026-11-03", "2026-11-03T17:30:00+00:00"),
                step("desk", "2026-12-01", None),  # not completed yet
                step("desk", "2026-11-20", "2026-11-25T01:00:00+00:00", skipped=True),
            ],
        },
        {
            "procedure_code": "2.000720",
            "steps": [
                step("desk", "2026-12-02", "2026-12-01T02:00:00+00:00"),
                step("desk", "2026-09-30", "2026-09-29T02:00:00+00:00"),  # before the window
            ],
        },
    ]
    by_unit, by_procedure = tally(dossiers, local_date, SINCE)
    units = {(r.key, r.month): (r.completed, r.on_time, r.late, r.rate) for r in by_unit}
    assert units == {
        ("desk", "2026-11"): (1, 1, 0, 1.0),
        ("district", "2026-11"): (1, 0, 1, 0.0),
        ("desk", "2026-12"): (1, 1, 0, 1.0),
    }
    procedures = {(r.key, r.month): (r.on_time, r.late) for r in by_procedure}
    assert procedures == {("1.001193", "2026-11"): (1, 1), ("2.000720", "2026-12"): (1, 0)}
    assert [r.month for r in by_unit] == sorted(r.month for r in by_unit)
