"""Income source: the port to outside income data, and the record of what it reported.

Rule: the income a member is insured on comes from outside the ledger (social
insurance data; the real service is out of reach, a file-backed fake stands in).
What the source said is recorded as an event (`IncomeReport.Reported`, one per
organisation and month checked) beside the income the ledger assessed, so a
finding of under-assessment rests on recorded evidence and a rebuilt read model
finds exactly the same; asking the source again with the same answers records
nothing.
"""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.ids import NAMESPACE

# [member, branch, reported income, income the assessment used, rule id, amount assessed,
#  the roll event the assessment is in ("id@version")]
ReportEntry = list[Any]


class IncomeSource(Protocol):
    """Outside income data for members (social insurance: the insured salary)."""

    name: str

    def income(self, member_code: str, period: str) -> int | None:
        """The income reported for the member as the base of `period`; None if unknown."""


def income_report_id(org_code: str, period: str) -> UUID:
    return uuid5(NAMESPACE, f"income-report/{org_code}/{period}")


class IncomeReport(Aggregate):
    @staticmethod
    def create_id(org_code: str, period: str, **_: Any) -> UUID:
        return income_report_id(org_code, period)

    @event("Started")
    def __init__(self, org_code: str, period: str) -> None:
        self.org_code = org_code
        self.period = period
        self.last: dict[str, list[ReportEntry]] = {}  # source -> entries last reported

    def report(self, source: str, entries: list[ReportEntry], at: str) -> bool:
        """Record what the source said; False (nothing recorded) if it said the same before."""
        if self.last.get(source) == entries:
            return False
        self._reported(source, self.period, entries, at)
        return True

    @event("Reported")
    def _reported(self, source: str, period: str, entries: list[ReportEntry], at: str) -> None:
        self.last[source] = entries
