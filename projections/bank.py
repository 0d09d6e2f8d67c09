"""Read model: every bank line, as `reconcile` reports it.

`rm_bank_lines` holds one row per recorded bank line (a statement row or a gateway
notification): its account, source, date, direction, amount and narrative, how it
was matched or cleared, whether a statement showed a line a gateway reported first,
and whether the bank reversed it. `reconcile` reads an organisation's accounts from
here (`BankLinesReader`) instead of reading the whole event log each time; the
ledger's own `reconcile` (which does read the log) is what tests hold it to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from ledger.bank_transaction import BankTransaction
from ledger.services.statements import AccountLines
from projections.base import ReadModel, collect_handlers, handles
from projections.store import Table

if TYPE_CHECKING:
    from projections.reads import Reads

LINES = Table(
    "rm_bank_lines",
    [
        ("id", "TEXT"),
        ("account", "TEXT"),
        ("source", "TEXT"),
        ("external_id", "TEXT"),
        ("value_date", "TEXT"),
        ("direction", "TEXT"),
        ("amount", "INTEGER"),
        ("narrative", "TEXT"),
        ("recorded_at", "TEXT"),
        ("position", "INTEGER"),
        ("how", "TEXT"),
        ("on_statement", "TEXT"),
        ("reversed_by", "TEXT"),
        ("bin", "TEXT"),  # the bank the source named, if it named one
    ],
    ["id"],
)
# the value columns, in order (after the key)
HOW, ON_STATEMENT, REVERSED_BY = 9, 10, 11


class BankLinesModel(ReadModel):
    name = "bank"
    tables: ClassVar[list[Table]] = [LINES]
    indexes: ClassVar[list[str]] = [
        "CREATE INDEX IF NOT EXISTS rm_bank_lines_account ON rm_bank_lines "
        "(account, value_date, recorded_at, position)"
    ]

    def _set(self, e: Any, column: int, value: Any) -> None:
        key = (str(e.originator_id),)
        row = self.get("rm_bank_lines", key)
        assert row is not None, f"bank line {e.originator_id} changed before it was recorded"
        row = list(row)
        row[column] = value
        self.put("rm_bank_lines", key, row)

    @handles(BankTransaction.Recorded)  # type: ignore[attr-defined]
    def _recorded(self, e: Any, pos: int, at: str) -> None:
        self.put(
            "rm_bank_lines",
            (str(e.originator_id),),
            [
                e.account_number,
                e.source,
                e.external_id,
                e.value_date,
                e.direction,
                e.amount,
                e.narrative,
                e.recorded_at,
                pos,  # the log's order: lines recorded in the same instant keep it
                e.matched["how"] if e.matched else None,  # v3: matched as it was recorded
                None,
                None,
                e.bin_code,
            ],
        )

    @handles(BankTransaction.Matched, BankTransaction.Cleared)  # type: ignore[attr-defined]
    def _matched(self, e: Any, pos: int, at: str) -> None:
        self._set(e, HOW, e.how)

    @handles(BankTransaction.SeenOnStatement)  # type: ignore[attr-defined]
    def _seen(self, e: Any, pos: int, at: str) -> None:
        self._set(e, ON_STATEMENT, e.source)

    @handles(BankTransaction.Reversed)  # type: ignore[attr-defined]
    def _reversed(self, e: Any, pos: int, at: str) -> None:
        self._set(e, REVERSED_BY, e.by)


BankLinesModel.handlers = collect_handlers(BankLinesModel)

LINE_COLUMNS = "id, source, external_id, value_date, direction, amount, narrative"
ORDER = "ORDER BY value_date, recorded_at, position"


def _line(row: Sequence[Any]) -> dict[str, Any]:
    keys = ("id", "source", "external_id", "value_date", "direction", "amount", "narrative")
    line = dict(zip(keys, row, strict=True))
    line["amount"] = int(line["amount"])
    return line


class BankLinesReader:
    """The ledger's `BankLines` port over `rm_bank_lines` (read once the models have
    seen the whole log)."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads

    def matched(self, numbers: Sequence[str]) -> dict[str, int]:
        if not numbers:
            return {}
        where, params = self.reads.views.in_list("account", list(numbers))
        [rows] = self.reads._read(
            (
                f"SELECT how, COUNT(*) FROM rm_bank_lines WHERE {where} AND how IS NOT NULL "
                "GROUP BY how",
                params,
            ),
            models=self.reads.bank,
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def account(
        self,
        number: str,
        as_of: str | None,
        covered: Sequence[tuple[str, str]],
        bank: str | None = None,
    ) -> AccountLines:
        signed = "CASE WHEN direction = 'in' THEN amount ELSE -amount END"
        # a line whose source named another bank is another account with the same number
        here = "account = ? AND (bin IS NULL OR bin = ?)" if bank else "account = ?"
        at = [number, bank] if bank else [number]
        totals, heard, reversed_ = self.reads._read(
            (
                "SELECT COUNT(*), "
                f"SUM(CASE WHEN substr(value_date, 1, 10) <= ? THEN {signed} ELSE 0 END) "
                f"FROM rm_bank_lines WHERE {here}",
                [as_of or "", *at],
            ),
            (
                f"SELECT {LINE_COLUMNS} FROM rm_bank_lines WHERE {here} "
                f"AND source NOT LIKE ? AND on_statement IS NULL {ORDER}",
                [*at, "statement%"],
            ),
            (
                f"SELECT {LINE_COLUMNS} FROM rm_bank_lines WHERE {here} "
                f"AND reversed_by IS NOT NULL {ORDER}",
                at,
            ),
            models=self.reads.bank,
        )
        count, total = totals[0] if totals else (0, 0)
        return AccountLines(
            count=int(count or 0),
            signed_until=int(total or 0),
            not_on_statement=[
                _line(r) for r in heard if any(a <= str(r[3])[:10] <= b for a, b in covered)
            ],
            reversed=[_line(r) for r in reversed_],
        )
