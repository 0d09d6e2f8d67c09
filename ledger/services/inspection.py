"""Inspection commands: review notes on findings, the checks' thresholds, outside incomes.

Rule: the inspection committee's findings are a read model (projections/findings.py);
what an inspector or an outside source adds is recorded here as events, never by
changing a finding: a review note (`FindingReview.Reviewed`), a threshold from a
month (`InspectionPolicy.ParameterChanged`), what the income source reported beside
what the ledger assessed (`IncomeReport.Reported`). Whether a finding id exists is
the read model's knowledge, so callers check it before `review_finding`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.errors import InvalidInput, NotFound
from ledger.finding_review import FindingReview, review_id
from ledger.ids import roll_id
from ledger.income_source import IncomeReport, IncomeSource, ReportEntry, income_report_id
from ledger.inspection_policy import (
    DEFAULT_PARAMETERS,
    InspectionParameters,
    InspectionPolicy,
    check_parameter,
    inspection_policy_id,
)
from ledger.period import Period, parse_period
from ledger.roll import Roll
from ledger.services.base import LedgerBase


def check_finding_id(finding_id: str) -> str:
    try:
        return str(UUID(finding_id.strip()))
    except ValueError:
        raise InvalidInput(
            f"Mã phát hiện '{finding_id}' không hợp lệ",
            f"Invalid finding id '{finding_id}'",
            field="finding_id",
        ) from None


class InspectionCommands(LedgerBase):
    def review_finding(self, finding_id: str, note: str, reviewer: str = "") -> dict[str, Any]:
        """Record an inspector's note on a finding (the finding itself never changes)."""
        fid = check_finding_id(finding_id)
        note = (note or "").strip()
        if not note:
            raise InvalidInput("Cần ghi chú", "A note is required", field="note")
        who = (reviewer or "").strip() or "unknown"
        review = self.get_or_none(review_id(fid), FindingReview) or FindingReview(finding_id=fid)
        at = self.clock.now().isoformat()
        review.review(fid, note, who, at)
        self.save(review)
        return {"finding": fid, "note": note, "reviewer": who, "at": at}

    # -- thresholds -------------------------------------------------------------------
    def inspection_parameters(self) -> InspectionParameters:
        found = self.get_or_none(inspection_policy_id(), InspectionPolicy)
        return InspectionParameters(found.entries if found else DEFAULT_PARAMETERS)

    def change_inspection_parameter(
        self, name: str, value: Any, from_period: Period, basis: str
    ) -> None:
        """A threshold from a month on (months before keep the value they had)."""
        entry = {
            "name": name,
            "from": parse_period(from_period, field="from_period"),
            "value": value,
            "basis": (basis or "").strip(),
        }
        check_parameter(entry)
        policy = self.get_or_none(inspection_policy_id(), InspectionPolicy)
        policy = policy or InspectionPolicy(entries=DEFAULT_PARAMETERS)
        policy.change(entry)
        self.save(policy)

    # -- outside incomes --------------------------------------------------------------
    def record_reported_incomes(
        self, source: IncomeSource, org_code: str, period: Period
    ) -> dict[str, Any]:
        """Ask the income source about every member assessed under `org_code` in `period`
        and record its answers beside what each assessment used."""
        period = parse_period(period)
        self.get_org(org_code)
        branches = [b.code for b in self.branches(period, org_code)]
        rolls = self.load_many([roll_id(b, period) for b in branches], Roll)
        if not rolls:
            raise NotFound(
                f"Chưa mở sổ tháng {period} ở {org_code}",
                f"{period} has not been opened under {org_code}",
                field="period",
            )
        entries: list[ReportEntry] = []
        for roll in sorted(rolls.values(), key=lambda r: r.branch_code):
            for code, line in sorted(roll.lines.items()):
                reported = source.income(code, period)
                if reported is None:
                    continue
                entries.append(
                    [
                        code,
                        roll.branch_code,
                        int(reported),
                        int(line["income"]),
                        str(line["rule"]),
                        int(line["assessed"]),
                        f"{roll.id}@{roll.version}",
                    ]
                )
        report = self.get_or_none(income_report_id(org_code, period), IncomeReport)
        report = report or IncomeReport(org_code=org_code, period=period)
        recorded = report.report(source.name, entries, self.clock.now().isoformat())
        if recorded:
            self.save(report)
        below = sum(1 for e in entries if e[3] < e[2])
        return {
            "org": org_code,
            "period": period,
            "source": source.name,
            "members": len(entries),
            "income_below_reported": below,
            "recorded": recorded,
        }
