"""Our dossier facts as the national public service portal's messages (pure, no I/O).

Provinces report every dossier and every status change to the National Public Service
Portal (Cổng Dịch vụ công quốc gia, DVCQG). Two services of its integration API:

* ``DongBoHoSoMC`` (đồng bộ hồ sơ một cửa): the dossier's record, sent when it is
  submitted, received, refused or asked to supplement at intake (Mẫu 02: the first fact
  of a dossier handed in at the desk), and again when it reaches a final state;
  ``isUpdating`` is ``"False"`` the first time the dossier is sent, ``"True"`` after;
* ``CapNhatTienDoHoSoMC`` (cập nhật tiến độ): one per status change or processing step,
  with the portal status code (1-10) of the state after the fact.

Each message is ``{"service": ..., "data": [record]}``. Field names, nesting, string
values and ``yyyyMMddHHmmss`` times follow the one public implementation we could read,
OpenCPS (``VietOpenCPS/opencps-v2``, ``DVCQGIntegrationActionImpl.java``), not the
Government Office's specification itself, which we did not find published; the gaps are
listed in docs/notification.md. Personal data does not travel on dossier events, so the
applicant's name, e-mail and phone (``ChuHoSo``, ``Email``, ``SoDienThoai``) are sent
empty: filling them is a decision about personal data that is not made here.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from notification.templates import DisplayNames
from shared.command_line import no_arguments
from shared.envelope import Envelope
from shared.events.closing import DossierDone, DossierStopped, ResultReady
from shared.events.dossier import DossierFact, DossierState, Language, ResultDelivery
from shared.events.portal import PortalStatus, portal_status
from shared.events.reception import (
    DossierDenied,
    DossierReceived,
    DossierSubmitted,
    IntakeSupplementRequested,
)
from shared.events.withdrawal import DossierWithdrawn, WithdrawalDeclined

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# Facts that change the dossier's record (a sync), beyond the progress update. A supplement
# asked for before reception may be a dossier's first fact: the portal must get its record
# (status 5, the documents handed in) before any progress. The supplement itself is
# progress only (status 1 again, like routing's supplement facts): it names no procedure
# for a record, and the desk's reception or refusal that follows sends the record again.
RECORD_FACTS = (
    DossierSubmitted,
    DossierReceived,
    DossierDenied,
    IntakeSupplementRequested,
    ResultReady,
    DossierDone,
    DossierStopped,
    DossierWithdrawn,
)
# Bookkeeping that is no progress the portal tracks.
NOT_PROGRESS = frozenset({"dossier.step.due_soon.v1", "dossier.route.planned.v1"})
CITIZEN = "1"  # LoaiDoiTuong: 1 citizen, 2 organisation (dossier facts name no organisation)

MessageKind = Literal["DongBoHoSoMC", "CapNhatTienDoHoSoMC"]
# What ends an applicant's withdrawal request besides routing's decline: the stop (or a
# withdrawal), as in intake's view (``intake.domain.public_view.ENDS_A_WITHDRAWAL_REQUEST``).
ENDS_A_WITHDRAWAL_REQUEST = frozenset({DossierState.STOPPED, DossierState.WITHDRAWN})


def withdrawal_stands(standing: bool, fact: DossierFact) -> bool:
    """Whether the applicant's withdrawal request stands once ``fact`` is reported, given
    whether it stood before (``standing``).

    It stands from the request (status 7) until routing ends it: the stop (8), or its
    decline (``dossier.withdrawal.declined.v1``, which names the state it kept). Routing
    takes a request without a fact of its own and, once it has, allows nothing but the
    stop; so any other fact that reaches the connector meanwhile was decided before
    routing read the request (a step completed a moment before the applicant asked,
    published by routing's relay after intake's request): later on the topic, earlier
    in fact. The rule is intake's (``intake.domain.public_view.state_after``)."""
    if fact.state is DossierState.WITHDRAWAL_REQUESTED:
        return True
    ends = isinstance(fact, WithdrawalDeclined) or fact.state in ENDS_A_WITHDRAWAL_REQUEST
    return standing and not ends


def status_of(fact: DossierFact, standing: bool) -> PortalStatus:
    """The portal status a fact reports: its state's, or 7 while the applicant's
    withdrawal request stands (``withdrawal_stands``): a fact that request overtook does
    not take the portal's status back to processing."""
    if withdrawal_stands(standing, fact):
        return PortalStatus.WITHDRAWAL_REQUESTED
    return portal_status(fact.state)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SubmittedDocument(_Message):
    """One entry of ``TaiLieuNop``: the document by name; the file stays with its holder."""

    TepDinhKemId: str = Field(description="Our reference: the document's SHA-256.")
    TenTepDinhKem: str = Field(description="The document's name.")
    IsDeleted: str = "False"
    MaThanhPhanHoSo: str = Field(description="Our document type code.")
    DuongDanTaiTepTin: str = Field("", description="Download path: none, files stay put.")


class DossierRecord(_Message):
    """One dossier in ``DongBoHoSoMC.data``."""

    MaHoSo: str = Field(description="Dossier code.")
    MaTTHC: str = Field(description="National procedure code.")
    TenTTHC: str = Field(description="Procedure name (catalogue).")
    MaLinhVuc: str = Field("", description="Field code: not in our catalogue.")
    TenLinhVuc: str = Field("", description="Field name: not in our facts.")
    ChuHoSo: str = Field("", description="Applicant's name: not sent (personal data).")
    LoaiDoiTuong: str = Field(CITIZEN, description="1 citizen, 2 organisation.")
    MaDoiTuong: str = ""
    ThongTinKhac: str = ""
    Email: str = Field("", description="Not sent (personal data).")
    Fax: str = ""
    SoDienThoai: str = Field("", description="Not sent (personal data).")
    TrichYeuHoSo: str = Field(description="Summary: the procedure's name.")
    NgayTiepNhan: str = Field(description="Reception, yyyyMMddHHmmss (empty before it).")
    NgayHenTra: str = Field(description="Appointment day, yyyyMMdd000000 (empty before it).")
    TrangThaiHoSo: str = Field(description="Portal status code, 1-10.")
    NgayTra: str = Field(description="Result handed over, yyyyMMddHHmmss.")
    ThongTinTra: str = ""
    HinhThuc: str = Field("0", description="1 when the result goes by post, else 0.")
    NgayKetThucXuLy: str = Field(description="Processing finished (result ready).")
    DonViXuLy: str = Field(description="Name of the unit holding the dossier.")
    GhiChu: str = Field(description="Reason of a refusal or stop; the portal status label.")
    TaiLieuNop: list[SubmittedDocument]
    DanhSachLePhi: list[dict[str, str]] = Field(default_factory=list)
    DanhSachTepDinhKemKhac: list[dict[str, str]] = Field(default_factory=list)
    DanhSachHoSoBoSung: list[dict[str, str]] = Field(default_factory=list)
    DanhSachGiayToKetQua: list[dict[str, str]] = Field(default_factory=list)


class DossierSync(_Message):
    """The dossier's record on the portal (service ``DongBoHoSoMC``)."""

    service: Literal["DongBoHoSoMC"] = "DongBoHoSoMC"
    isUpdating: Literal["True", "False"] = Field(description="False the first time.")
    data: list[DossierRecord] = Field(min_length=1, max_length=1)


class ProgressEntry(_Message):
    """One status change or step in ``CapNhatTienDoHoSoMC.data``."""

    MaHoSo: str
    NguoiXuLy: str = Field("", description="Who acted: the unit's name (no person on facts).")
    ChucDanh: str = ""
    ThoiDiemXuLy: str = Field(description="When, yyyyMMddHHmmss.")
    PhongBanXuLy: str = Field(description="Name of the unit holding the dossier after it.")
    NoiDungXuLy: str = Field(description="What happened: the status label and our fact type.")
    TrangThai: str = Field(description="Portal status code after the fact, 1-10.")
    NgayBatDau: str = ""
    NgayKetThucTheoQuyDinh: str = Field(description="Due day in force, yyyyMMdd000000.")


class ProgressUpdate(_Message):
    """Progress of the dossier (service ``CapNhatTienDoHoSoMC``)."""

    service: Literal["CapNhatTienDoHoSoMC"] = "CapNhatTienDoHoSoMC"
    data: list[ProgressEntry] = Field(min_length=1, max_length=1)


PortalMessage = DossierSync | ProgressUpdate


def moment(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(VIETNAM).strftime("%Y%m%d%H%M%S")


def day(value: date | None) -> str:
    """A day in the portal's time format; the time part carries nothing."""
    return "" if value is None else value.strftime("%Y%m%d") + "000000"


def reported(model: type[DossierFact]) -> bool:
    """Whether facts of this contract are told to the portal at all (others are ignored)."""
    return issubclass(model, RECORD_FACTS) or model.EVENT_TYPE not in NOT_PROGRESS


def messages_for(
    envelope: Envelope,
    fact: DossierFact,
    *,
    names: DisplayNames | None = None,
    updating: bool = True,
    withdrawal_standing: bool = False,
) -> list[PortalMessage]:
    """The portal messages one fact calls for, in order (none for internal bookkeeping).

    ``updating`` is False for the dossier's first message (``isUpdating``);
    ``withdrawal_standing``: the applicant's withdrawal request stood before this fact
    (``withdrawal_stands``), which then reports status 7 unless it ends the request."""
    names = names or DisplayNames()
    status = status_of(fact, withdrawal_standing)
    out: list[PortalMessage] = []
    if isinstance(fact, RECORD_FACTS):
        record = dossier_record(fact, names, status)
        out.append(DossierSync(isUpdating="True" if updating else "False", data=[record]))
    if envelope.type not in NOT_PROGRESS:
        out.append(ProgressUpdate(data=[progress_entry(envelope, fact, names, status)]))
    return out


def dossier_record(fact: DossierFact, names: DisplayNames, status: PortalStatus) -> DossierRecord:
    received = fact if isinstance(fact, DossierReceived) else None
    procedure = str(getattr(fact, "procedure_code", "") or "")
    procedure_name = names.procedures.get(procedure, (procedure, procedure))[0]
    documents = getattr(fact, "documents", None) or []
    reason = fact.reason if isinstance(fact, DossierDenied | DossierStopped) else None
    by_post = getattr(fact, "result_delivery", None) == ResultDelivery.POST
    return DossierRecord(
        MaHoSo=fact.dossier_code,
        MaTTHC=procedure,
        TenTTHC=procedure_name,
        TrichYeuHoSo=procedure_name,
        NgayTiepNhan=moment(received.received_at) if received else "",
        NgayHenTra=day(received.appointment_date) if received else "",
        TrangThaiHoSo=str(int(status)),
        NgayTra=moment(fact.done_at) if isinstance(fact, DossierDone) else "",
        HinhThuc="1" if by_post else "0",
        NgayKetThucXuLy=moment(fact.ready_at) if isinstance(fact, ResultReady) else "",
        DonViXuLy=names.unit(fact.holding_unit, Language.VI),
        GhiChu=reason or status.label,
        TaiLieuNop=[
            SubmittedDocument(TepDinhKemId=d.sha256, TenTepDinhKem=d.name, MaThanhPhanHoSo=d.type)
            for d in documents
        ],
    )


def progress_entry(
    envelope: Envelope, fact: DossierFact, names: DisplayNames, status: PortalStatus
) -> ProgressEntry:
    unit = names.unit(fact.holding_unit, Language.VI)
    return ProgressEntry(
        MaHoSo=fact.dossier_code,
        NguoiXuLy=unit,
        ThoiDiemXuLy=moment(envelope.time),
        PhongBanXuLy=unit,
        NoiDungXuLy=f"{status.label} ({envelope.type})",
        TrangThai=str(int(status)),
        NgayKetThucTheoQuyDinh=day(_due_date(fact)),
    )


def _due_date(fact: DossierFact) -> date | None:
    for name in ("appointment_date", "step_due_date", "due_date"):
        value = getattr(fact, name, None)
        if isinstance(value, date):
            return value
    apology = getattr(fact, "apology", None)
    return apology.new_appointment_date if apology is not None else None


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


def main(argv: list[str] | None = None) -> None:
    """Write the portal messages' JSON Schemas under docs/contracts/portal."""
    no_arguments(
        "python -m notification.portal_mapping",
        f"Write the JSON Schemas of the portal's messages under {SCHEMA_DIR}.",
        argv,
    )  # --help says so, and writes nothing
    SCHEMA_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in schemas().items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":  # python -m notification.portal_mapping: write the schemas
    main()
