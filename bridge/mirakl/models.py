"""Values returned by the Mirakl client that are not orders (orders live in bridge.domain.orders)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.domain.orders import MiraklOrder
from bridge.errors import SkippableError

# OF02 / STO02 statuses. Unknown values are kept as plain strings (Mirakl adds enum values).
IMPORT_FINAL_STATUSES = frozenset({"COMPLETE", "FAILED"})


@dataclass(frozen=True)
class OfferImportStatus:
    """OF02 (offer import) or STO02 (stock import) status.

    STO02 has no ``lines_read`` / ``lines_in_pending``: the client fills ``lines_read`` with
    success + error and ``lines_in_pending`` with 0.
    """

    import_id: str
    status: str
    has_error_report: bool = False
    lines_read: int = 0
    lines_in_success: int = 0
    lines_in_error: int = 0
    lines_in_pending: int = 0
    reason_status: str = ""

    @property
    def is_final(self) -> bool:
        return self.status in IMPORT_FINAL_STATUSES


@dataclass(frozen=True)
class OfferLineError:
    """One rejected line of an OF03 (or STO03) error report."""

    sku: str
    message: str
    line: int | None = None
    row: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Carrier:
    """SH21 carrier."""

    code: str
    label: str = ""
    standard_code: str = ""
    tracking_url: str = ""


@dataclass(frozen=True)
class OrderPage:
    """One OR11 page: the orders that parsed, the ones that did not, where the page starts."""

    orders: list[MiraklOrder]
    invalid: list[SkippableError]
    offset: int
    total_count: int
