"""The national public service portal's dossier status codes (1-10) and their exact labels.

Every state has one code; several of ours share one (IN_TRANSFER is "Đang xử lý" to the
portal: a hand-over between units is processing, not a status of its own). The labels
are the portal's, word for word; the look-up view and every dossier fact show them.
Source and validity: docs/legal.md (national portal integration, status list).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.events.dossier import DossierState


class PortalStatus(IntEnum):
    """Status codes of the national portal's dossier synchronisation."""

    NEW = 1
    RECEIVED = 2
    NOT_RECEIVED = 3
    PROCESSING = 4
    SUPPLEMENT_REQUESTED = 5
    FINANCIAL_OBLIGATION = 6
    WITHDRAWAL_REQUESTED = 7
    STOPPED = 8
    PROCESSED = 9
    RESULT_RETURNED = 10

    @property
    def label(self) -> str:
        """The portal's Vietnamese label, exactly."""
        return PORTAL_LABELS[self]


PORTAL_LABELS: dict[PortalStatus, str] = {
    PortalStatus.NEW: "Mới đăng ký",
    PortalStatus.RECEIVED: "Được tiếp nhận",
    PortalStatus.NOT_RECEIVED: "Không được tiếp nhận",
    PortalStatus.PROCESSING: "Đang xử lý",
    PortalStatus.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    PortalStatus.FINANCIAL_OBLIGATION: "Yêu cầu thực hiện nghĩa vụ tài chính",
    PortalStatus.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    PortalStatus.STOPPED: "Dừng xử lý",
    PortalStatus.PROCESSED: "Đã xử lý xong",
    PortalStatus.RESULT_RETURNED: "Đã trả kết quả",
}


def portal_status(state: DossierState) -> PortalStatus:
    """The portal status of one of our states."""
    return PortalStatus[_BY_STATE[state.value]]


_BY_STATE: dict[str, str] = {
    "SUBMITTED": "NEW",
    "RECEIVED": "RECEIVED",
    "DENIED": "NOT_RECEIVED",
    "IN_TRANSFER": "PROCESSING",
    "PROCESSING": "PROCESSING",
    "SUPPLEMENT_REQUESTED": "SUPPLEMENT_REQUESTED",
    "AWAITING_PAYMENT": "FINANCIAL_OBLIGATION",
    "WITHDRAWAL_REQUESTED": "WITHDRAWAL_REQUESTED",
    "WITHDRAWN": "STOPPED",
    "STOPPED": "STOPPED",
    "RESULT_READY": "PROCESSED",
    "DONE": "RESULT_RETURNED",
}
