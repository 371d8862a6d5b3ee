"""Our dossier facts as the national public service portal's messages (pure, no I/O).

Provinces report every dossier and every status change to the National Public Service
Portal (Cổng Dịch vụ công quốc gia). Two messages, after the portal's one-stop
integration guide (field names as we know them: check them against the version of the
guide you connect to, docs/notification.md):

* ``DossierSync`` (đồng bộ hồ sơ, ``DongBoHoSoMC``): the dossier's record, sent when it
  is submitted, received or refused at intake, and again when it reaches a final state;
* ``ProgressUpdate`` (cập nhật tiến độ, ``CapNhatTienDoHoSoMC``): one per status change or
  processing step, with the portal status code (1-10) of the state after the fact.

Personal data does not travel on dossier events (it reaches notification only for
messages to the applicant), so the applicant is reported by keyed hash, not by name.
Dates are ``yyyyMMddHHmmss`` in Vietnam time, as the portal expects.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from shared.envelope import Envelope
from shared.events.dossier import (
    DossierDenied,
    DossierDone,
    DossierFact,
    DossierReceived,
    DossierStopped,
    DossierSubmitted,
    DossierWithdrawn,
    ResultReady,
)
from shared.events.portal import portal_status

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Facts that change the dossier's record (a sync), beyond the progress update.
RECORD_FACTS = (
    DossierSubmitted,
    DossierReceived,
    DossierDenied,
    ResultReady,
    DossierDone,
    DossierStopped,
    DossierWithdrawn,
)
# Bookkeeping that is no progress the portal tracks.
NOT_PROGRESS = frozenset({"dossier.step.due_soon.v1", "dossier.route.planned.v1"})

MessageKind = Literal["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DossierSync(_Message):
    """The dossier's record on the portal (service ``DongBoHoSoMC``)."""

    service: Literal["DongBoHoSoMC"] = "DongBoHoSoMC"
    MaHoSo: str = Field(description="Dossier code.")
    MaTTHC: str | None = Field(description="National procedure code.")
    MaDonVi: str = Field(description="Unit holding the dossier (agency code).")
    TrangThaiHoSo: int = Field(ge=1, le=10, description="Portal status code.")
    TenTrangThai: str = Field(description="The portal's label of the status.")
    NgayTiepNhan: str | None = Field(description="Reception, yyyyMMddHHmmss.")
    NgayHenTra: str | None = Field(description="Appointment date, yyyyMMdd.")
    NgayTra: str | None = Field(description="Result handed over, yyyyMMddHHmmss.")
    KenhNop: str | None = Field(description="desk, online or agency.")
    ChuHoSoHash: str | None = Field(description="Keyed hash of the applicant's identity.")
    TaiLieuNop: list[str] = Field(description="Document names submitted.")
    LyDo: str | None = Field(description="Reason of a refusal or stop.")


class ProgressUpdate(_Message):
    """One status change or step of the dossier (service ``CapNhatTienDoHoSoMC``)."""

    service: Literal["CapNhatTienDoHoSoMC"] = "CapNhatTienDoHoSoMC"
    MaHoSo: str
    TrangThai: int = Field(ge=1, le=10, description="Portal status code after the fact.")
    TenTrangThai: str
    ThoiDiemXuLy: str = Field(description="When, yyyyMMddHHmmss.")
    DonViXuLy: str = Field(description="Unit holding the dossier after the fact.")
    NoiDungXuLy: str = Field(description="What happened (our fact type).")
    NgayKetThucTheoQuyDinh: str | None = Field(description="Due date now in force, yyyyMMdd.")
    MaSuKien: str = Field(description="Our event id: the portal can ignore a repeat.")


PortalMessage = DossierSync | ProgressUpdate


def moment(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def day(value: date | None) -> str | None:
    return None if value is None else value.strftime("%Y%m%d")


def messages_for(envelope: Envelope, fact: DossierFact) -> list[PortalMessage]:
    """The portal messages one fact calls for, in order (none for internal bookkeeping)."""
    out: list[PortalMessage] = []
    if isinstance(fact, RECORD_FACTS):
        out.append(dossier_sync(envelope, fact))
    if envelope.type not in NOT_PROGRESS:
        out.append(progress_update(envelope, fact))
    return out


def dossier_sync(envelope: Envelope, fact: DossierFact) -> DossierSync:
    status = portal_status(fact.state)
    received = fact if isinstance(fact, DossierReceived) else None
    documents = getattr(fact, "documents", None) or []
    return DossierSync(
        MaHoSo=fact.dossier_code,
        MaTTHC=getattr(fact, "procedure_code", None),
        MaDonVi=fact.holding_unit,
        TrangThaiHoSo=int(status),
        TenTrangThai=status.label,
        NgayTiepNhan=moment(received.received_at) if received else None,
        NgayHenTra=day(received.appointment_date) if received else None,
        NgayTra=moment(fact.done_at) if isinstance(fact, DossierDone) else None,
        KenhNop=received.channel if received else None,
        ChuHoSoHash=_applicant_hash(fact),
        TaiLieuNop=[d.name for d in documents],
        LyDo=fact.reason if isinstance(fact, DossierDenied | DossierStopped) else None,
    )


def progress_update(envelope: Envelope, fact: DossierFact) -> ProgressUpdate:
    status = portal_status(fact.state)
    return ProgressUpdate(
        MaHoSo=fact.dossier_code,
        TrangThai=int(status),
        TenTrangThai=status.label,
        ThoiDiemXuLy=moment(envelope.time) or "",
        DonViXuLy=fact.holding_unit,
        NoiDungXuLy=envelope.type,
        NgayKetThucTheoQuyDinh=day(_due_date(fact)),
        MaSuKien=envelope.id,
    )


def _due_date(fact: DossierFact) -> date | None:
    for name in ("appointment_date", "step_due_date", "due_date"):
        value = getattr(fact, name, None)
        if isinstance(value, date):
            return value
    apology = getattr(fact, "apology", None)
    return apology.new_appointment_date if apology is not None else None


def _applicant_hash(fact: DossierFact) -> str | None:
    applicant = getattr(fact, "applicant", None)
    return getattr(applicant, "identity_hash", None)


SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "portal"


def schemas() -> dict[str, str]:
    """The JSON Schema of each portal message, as committed under docs/contracts/portal."""
    return {
        f"{model.__name__}.json": json.dumps(
            model.model_json_schema(), indent=2, ensure_ascii=False
        )
        + "\n"
        for model in (DossierSync, ProgressUpdate)
    }


if __name__ == "__main__":  # python -m notification.portal_mapping: write the schemas
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in schemas().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
