"""A file-backed stand-in for the social insurance income service (`ledger.income_source`).

Rule: the real service is out of reach, so the income each member is insured on
comes from a CSV file `member_code,period,income` (income in whole đồng, period
`YYYY-MM`: the dues month the income is the base of). The whole file is checked
before it is used: any bad row rejects it, with every bad line listed, in
Vietnamese and English. A member and month given twice is a bad row.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from ledger.errors import ImportRejected, InvalidInput, LedgerError
from ledger.period import parse_period

COLUMNS = ("member_code", "period", "income")
_WHOLE = re.compile(r"^\d+$")


class CsvIncomeSource:
    """Incomes from a CSV file; `name` says which file answered (recorded as evidence)."""

    def __init__(self, path: Path) -> None:
        self.name = f"file:{path.name}"
        self.incomes: dict[tuple[str, str], int] = {}
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as e:
            raise InvalidInput(
                f"Không đọc được tệp thu nhập {path}: {e.strerror or e}",
                f"Cannot read the income file {path}: {e.strerror or e}",
                field="file",
            ) from None
        rows = list(csv.DictReader(text.splitlines()))
        header = list(rows[0].keys()) if rows else next(csv.reader(text.splitlines()), [])
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidInput(
                f"Tệp thu nhập {path} thiếu cột: {', '.join(missing)}",
                f"The income file {path} lacks columns: {', '.join(missing)}",
                field="file",
            )
        problems: list[tuple[int, str, str]] = []
        for line, row in enumerate(rows, start=2):
            for vi, en in self._add(row):
                problems.append((line, vi, en))
        if problems:
            raise ImportRejected(problems, "thu nhập / incomes")

    def _add(self, row: dict[str, str]) -> list[tuple[str, str]]:
        code = (row.get("member_code") or "").strip()
        income = (row.get("income") or "").strip().replace(",", "")
        out: list[tuple[str, str]] = []
        if not code:
            out.append(("thiếu mã đảng viên", "member_code is empty"))
        try:
            period = parse_period(row.get("period") or "")
        except LedgerError as e:
            out.append((e.message_vi, e.message_en))
            period = ""
        if not _WHOLE.match(income):
            out.append(
                (
                    f"thu nhập '{income}' không phải số đồng nguyên",
                    f"income '{income}' is not a whole number of đồng",
                )
            )
        if out:
            return out
        if (code, period) in self.incomes:
            return [(f"{code} {period} lặp lại", f"{code} {period} appears twice")]
        self.incomes[(code, period)] = int(income)
        return []

    def income(self, member_code: str, period: str) -> int | None:
        return self.incomes.get((member_code, period))
