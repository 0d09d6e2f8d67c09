"""Inspection policy: the thresholds the inspection committee's checks use, as versioned data.

Rule: every threshold is data with an effective month and its source (a basis
starting "UNCONFIRMED:" where the source is not known), never a constant in the
checks. The defaults below are what the ledger starts with; a change is an event
(`ParameterChanged`) effective from a month, so a check of any month uses the
value in force for that month. Obligations already being watched keep the value
they started with (their deadline was fixed when they arose).
"""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidInput
from ledger.ids import NAMESPACE
from ledger.period import parse_period

_SINCE = "1900-01"
_QD01_UNPAID = (
    "Quy định 01-QĐ/TW ngày 03/02/2026: đảng viên không nộp đảng phí 3 tháng trong năm mà "
    "không có lý do chính đáng thì chi bộ xem xét, đề nghị xoá tên (domain.md §4; nguồn: "
    "bài viết về 01-QĐ/TW trên vietnamnet.vn, dantri.com.vn, thuvienphapluat.vn, 2/2026)"
)

# Day of the month after the dues month by which each level remits its payable share.
_DEADLINE_DAYS = {
    "branch": 10,
    "grassroots_branch": 10,
    "sub_committee": 10,
    "grassroots_committee": 15,
    "above_grassroots": 20,
    "provincial": 25,
}

DEFAULT_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "cash_deposit_days",
        "from": _SINCE,
        "value": 7,
        "basis": "UNCONFIRMED: no rule found for how soon cash dues must be taken to the "
        "bank; 7 days is a placeholder",
    },
    {
        "name": "remittance_deadline_day",
        "from": _SINCE,
        "value": _DEADLINE_DAYS,
        "basis": "UNCONFIRMED: remittance deadlines are not confirmed (domain.md §5); "
        "placeholder days of the following month per level",
    },
    {
        "name": "remittance_transit_days",
        "from": _SINCE,
        "value": 5,
        "basis": "UNCONFIRMED: placeholder; a bank transfer between organisations normally "
        "arrives within a working day",
    },
    {
        "name": "retained_tolerance_dong",
        "from": _SINCE,
        "value": 0,
        "basis": "Ledger choice: the retained and payable shares are split exactly (largest "
        "remainder), so any shortfall in what is remitted is retained beyond the share",
    },
    {
        "name": "unpaid_months_in_year",
        "from": _SINCE,
        "value": 3,
        "basis": _QD01_UNPAID,
    },
]
NAMES = tuple(p["name"] for p in DEFAULT_PARAMETERS)


def inspection_policy_id() -> UUID:
    return uuid5(NAMESPACE, "policy/inspection")


def check_parameter(entry: dict[str, Any]) -> dict[str, Any]:
    """Refuse an unknown name, a bad month, an empty basis or a value of the wrong shape."""
    name = entry.get("name")
    if name not in NAMES:
        raise InvalidInput(
            f"Tham số kiểm tra '{name}' không tồn tại ({', '.join(NAMES)})",
            f"Unknown inspection parameter '{name}' ({', '.join(NAMES)})",
            field="name",
        )
    parse_period(str(entry.get("from", "")), field="from_period")
    if not str(entry.get("basis") or "").strip():
        raise InvalidInput("Cần nêu căn cứ", "A basis is required", field="basis")
    value = entry.get("value")
    if name == "remittance_deadline_day":
        ok = isinstance(value, dict) and all(
            isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 28 for v in value.values()
        )
    elif isinstance(value, int) and not isinstance(value, bool):
        ok = value >= (1 if name == "unpaid_months_in_year" else 0)
    else:
        ok = False
    if not ok:
        raise InvalidInput(
            f"Giá trị không hợp lệ cho '{name}': {value!r}",
            f"Invalid value for '{name}': {value!r}",
            field="value",
        )
    return entry


class InspectionParameters:
    """Reads the parameter in force for a month: the entry with the greatest `from` ≤ month
    (of entries with the same `from`, the later one)."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries

    def value(self, name: str, period: str) -> Any:
        found: dict[str, Any] | None = None
        for e in self.entries:
            later = found is None or e["from"] >= found["from"]
            if e["name"] == name and e["from"] <= period and later:
                found = e
        if found is None:
            raise KeyError(name)
        return found["value"]

    def with_entry(self, entry: dict[str, Any]) -> list[dict[str, Any]]:
        return [*copy.deepcopy(self.entries), copy.deepcopy(entry)]


class InspectionPolicy(Aggregate):
    @staticmethod
    def create_id(**_: Any) -> UUID:
        return inspection_policy_id()

    @event("Adopted")
    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = copy.deepcopy(entries)

    @property
    def parameters(self) -> InspectionParameters:
        return InspectionParameters(self.entries)

    def change(self, entry: dict[str, Any]) -> None:
        self._changed(check_parameter(entry))

    @event("ParameterChanged")
    def _changed(self, entry: dict[str, Any]) -> None:
        self.entries = InspectionParameters(self.entries).with_entry(entry)
