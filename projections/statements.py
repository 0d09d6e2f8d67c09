"""Read model: each member's statement, month by month.

`rm_lines` holds every roll line: what the month assessed when it opened and now (a
back-dated change makes the difference: arrears, *truy thu*), what was paid, the rule
and policy version, the income used, exemption and reduction, whether the month is
closed. `rm_line_moves` keeps every change to assessed and paid with its position and
recorded time, and `rm_credit_moves` every change to a member's credit, so a statement
can be given as known at any time. `rm_members` and `rm_credit` hold the member's
name, branch history and, per branch register, the credit and the dues facts (the
record the register keeps), from which the paid-through month is carried forward.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ledger.member import Member
from ledger.register import Register
from ledger.roll import Roll
from projections.base import ReadModel, collect_handlers, handles
from projections.store import Table

MEMBERS = Table(
    "rm_members",
    [
        ("code", "TEXT"),
        ("full_name", "TEXT"),
        ("branches", "TEXT"),
        ("ended_from", "TEXT"),
        ("recorded_at", "TEXT"),
    ],
    ["code"],
)
IDS = Table("rm_st_ids", [("id", "TEXT"), ("kind", "TEXT"), ("k1", "TEXT"), ("k2", "TEXT")], ["id"])
LINES = Table(
    "rm_lines",
    [
        ("branch", "TEXT"),
        ("period", "TEXT"),
        ("member", "TEXT"),
        ("assessed_open", "INTEGER"),
        ("assessed", "INTEGER"),
        ("paid", "INTEGER"),
        ("rule", "TEXT"),
        ("policy_version", "INTEGER"),
        ("income", "INTEGER"),
        ("exempt", "TEXT"),
        ("reduction", "INTEGER"),
        ("recorded_at", "TEXT"),
    ],
    ["branch", "period", "member"],
)
ROLLS = Table(
    "rm_rolls",
    [("branch", "TEXT"), ("period", "TEXT"), ("policy_version", "INTEGER"), ("closed", "INTEGER")],
    ["branch", "period"],
)
LINE_MOVES = Table(
    "rm_line_moves",
    [
        ("position", "INTEGER"),
        ("recorded_at", "TEXT"),
        ("member", "TEXT"),
        ("branch", "TEXT"),
        ("period", "TEXT"),
        ("assessed", "INTEGER"),
        ("paid", "INTEGER"),
        # what of `paid` the member's credit paid (opening the month, `CreditApplied`), so
        # a statement as effective by a date counts it as credit still held then
        ("credit", "INTEGER"),
    ],
    [],
)
CREDIT = Table(
    "rm_credit",
    [("member", "TEXT"), ("branch", "TEXT"), ("credit", "INTEGER"), ("record", "TEXT")],
    ["member", "branch"],
)
CREDIT_MOVES = Table(
    "rm_credit_moves",
    [
        ("position", "INTEGER"),
        ("recorded_at", "TEXT"),
        ("member", "TEXT"),
        ("branch", "TEXT"),
        ("credit", "INTEGER"),
    ],
    [],
)

RECORDS = Table(
    "rm_record_history",
    [
        ("position", "INTEGER"),
        ("recorded_at", "TEXT"),
        ("member", "TEXT"),
        ("branch", "TEXT"),
        ("record", "TEXT"),
    ],
    [],
)
MEMBER_HISTORY = Table(
    "rm_member_history",
    [
        ("position", "INTEGER"),
        ("recorded_at", "TEXT"),
        ("code", "TEXT"),
        ("branches", "TEXT"),
        ("ended_from", "TEXT"),
    ],
    [],
)


def _income(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


class StatementsModel(ReadModel):
    name = "statements"
    tables: ClassVar[list[Table]] = [
        MEMBERS,
        ROLLS,
        IDS,
        LINES,
        LINE_MOVES,
        CREDIT,
        CREDIT_MOVES,
        RECORDS,
        MEMBER_HISTORY,
    ]
    indexes: ClassVar[list[str]] = [
        "CREATE INDEX IF NOT EXISTS rm_lines_member ON rm_lines (member, period)",
        "CREATE INDEX IF NOT EXISTS rm_line_moves_member ON rm_line_moves (member)",
        "CREATE INDEX IF NOT EXISTS rm_credit_moves_member ON rm_credit_moves (member)",
        "CREATE INDEX IF NOT EXISTS rm_record_history_member ON rm_record_history (member)",
        "CREATE INDEX IF NOT EXISTS rm_member_history_code ON rm_member_history (code)",
    ]
    groups: ClassVar[dict[str, int]] = {"rm_lines": 2, "rm_credit": 1}

    def _ids(self, e: Any) -> list[Any]:
        row = self.get("rm_st_ids", (str(e.originator_id),))
        assert row is not None, f"{e.originator_id} seen before it was created"
        return row

    # -- members -------------------------------------------------------------------------
    @handles(Member.Registered)  # type: ignore[attr-defined]
    def _member(self, e: Any, pos: int, at: str) -> None:
        self.put("rm_st_ids", (str(e.originator_id),), ["member", e.code, None])
        branches = json.dumps([[e.from_period, e.branch_code]])
        self.put("rm_members", (e.code,), [e.full_name, branches, None, at])
        self.insert("rm_member_history", (pos, at, e.code, branches, None))

    @handles(Member.Transferred)  # type: ignore[attr-defined]
    def _transferred(self, e: Any, pos: int, at: str) -> None:
        code = self._ids(e)[1]
        row = self.get("rm_members", (code,))
        assert row is not None
        history = [b for b in json.loads(row[1]) if b[0] < e.from_period]
        history.append([e.from_period, e.to_branch])
        branches = json.dumps(history)
        self.put("rm_members", (code,), [row[0], branches, row[2], row[3]])
        self.insert("rm_member_history", (pos, at, code, branches, row[2]))

    @handles(Member.MembershipEnded)  # type: ignore[attr-defined]
    def _ended(self, e: Any, pos: int, at: str) -> None:
        code = self._ids(e)[1]
        row = self.get("rm_members", (code,))
        assert row is not None
        self.put("rm_members", (code,), [row[0], row[1], e.from_period, row[3]])
        self.insert("rm_member_history", (pos, at, code, row[1], e.from_period))

    # -- rolls ---------------------------------------------------------------------------
    def _move(
        self,
        pos: int,
        at: str,
        code: str,
        b: str,
        p: str,
        assessed: int,
        paid: int,
        credit: int = 0,
    ) -> None:
        if assessed or paid:
            self.insert("rm_line_moves", (pos, at, code, b, p, assessed, paid, credit))

    @handles(Roll.Opened)  # type: ignore[attr-defined]
    def _opened(self, e: Any, pos: int, at: str) -> None:
        b, p = e.branch_code, e.period
        self.put("rm_st_ids", (str(e.originator_id),), ["roll", b, p])
        self.put("rm_rolls", (b, p), [e.policy_version, 0])
        for code, amount, rule, income, exempt, reduction, used in e.lines:
            self.put(
                "rm_lines",
                (b, p, code),
                [
                    amount,
                    amount,
                    used,
                    rule,
                    e.policy_version,
                    _income(income),
                    exempt or None,
                    int(reduction or 0),
                    at,
                ],
            )
            # Always a move, even of nothing: the line is known from now (an exempt month).
            self.insert("rm_line_moves", (pos, at, code, b, p, amount, used, used))

    def _line(self, e: Any) -> tuple[tuple[str, str, str], list[Any]]:
        _, b, p = self._ids(e)
        key = (b, p, e.code)
        row = self.get("rm_lines", key)
        assert row is not None, f"no line for {key}"
        return key, row

    @handles(Roll.PaymentApplied, Roll.CreditApplied, Roll.PaymentReversed)  # type: ignore[attr-defined]
    def _paid(self, e: Any, pos: int, at: str) -> None:
        amount = -e.amount if type(e) is Roll.PaymentReversed else e.amount  # type: ignore[attr-defined]
        from_credit = amount if type(e) is Roll.CreditApplied else 0  # type: ignore[attr-defined]
        self._paid_line(e, pos, at, e.code, amount, from_credit)

    @handles(Roll.PaymentsApplied)  # type: ignore[attr-defined]
    def _paid_many(self, e: Any, pos: int, at: str) -> None:
        for code, amount, *_ in e.payments:
            self._paid_line(e, pos, at, code, amount)

    def _paid_line(
        self, e: Any, pos: int, at: str, code: str, amount: int, from_credit: int = 0
    ) -> None:
        _, b, p = self._ids(e)
        key = (b, p, code)
        row = self.get("rm_lines", key)
        assert row is not None, f"no line for {key}"
        row[2] += amount
        self.put("rm_lines", key, row)
        self._move(pos, at, code, b, p, 0, amount, from_credit)

    @handles(Roll.Closed)  # type: ignore[attr-defined]
    def _closed(self, e: Any, pos: int, at: str) -> None:
        _, b, p = self._ids(e)
        roll = self.get("rm_rolls", (b, p))
        assert roll is not None
        self.put("rm_rolls", (b, p), [roll[0], 1])

    @handles(Roll.Adjusted)  # type: ignore[attr-defined]
    def _adjusted(self, e: Any, pos: int, at: str) -> None:
        _, b, p = self._ids(e)
        key = (b, p, e.code)
        old = self.get("rm_lines", key)
        _code, amount, rule, income, exempt, reduction, _used = e.line
        if old is None:
            roll = self.get("rm_rolls", (b, p))
            old = [0, 0, 0, rule, roll[0] if roll else None, None, None, 0, at]
        new = list(old)
        new[1] = int(amount)
        new[2] = int(old[2]) - e.refund
        new[3:8] = [rule, old[4], _income(income), exempt or None, int(reduction or 0)]
        self.put("rm_lines", key, new)
        self._move(pos, at, e.code, b, p, int(amount) - int(old[1]), -e.refund)

    # -- credit and dues facts (the branch registers) ------------------------------------
    def _credit(self, e: Any, pos: int, at: str, code: str, delta: int) -> None:
        branch = self._ids(e)[1]
        row = self.get("rm_credit", (code, branch))
        assert row is not None, f"{code} not in register {branch}"
        row[0] += delta
        self.put("rm_credit", (code, branch), row)
        if delta:
            self.insert("rm_credit_moves", (pos, at, code, branch, delta))

    def _record(self, e: Any, pos: int, at: str, rec: dict[str, Any]) -> None:
        branch = self._ids(e)[1]
        old = self.get("rm_credit", (rec["code"], branch))
        kept = json.dumps({k: v for k, v in rec.items() if k not in ("unpaid", "credit")})
        self.put("rm_credit", (rec["code"], branch), [int(rec["credit"]), kept])
        self.insert("rm_record_history", (pos, at, rec["code"], branch, kept))
        delta = int(rec["credit"]) - (int(old[0]) if old else 0)
        if delta:
            self.insert("rm_credit_moves", (pos, at, rec["code"], branch, delta))

    def _update_record(self, e: Any, pos: int, at: str, code: str, change: Any) -> None:
        branch = self._ids(e)[1]
        row = self.get("rm_credit", (code, branch))
        assert row is not None
        rec = json.loads(row[1])
        change(rec)
        kept = json.dumps(rec)
        self.put("rm_credit", (code, branch), [row[0], kept])
        self.insert("rm_record_history", (pos, at, code, branch, kept))

    @handles(Register.Started)  # type: ignore[attr-defined]
    def _register(self, e: Any, pos: int, at: str) -> None:
        self.put("rm_st_ids", (str(e.originator_id),), ["register", e.branch_code, None])

    @handles(Register.Enrolled)  # type: ignore[attr-defined]
    def _enrolled(self, e: Any, pos: int, at: str) -> None:
        for rec in e.members:
            self._record(e, pos, at, rec)

    @handles(Register.TransferredIn)  # type: ignore[attr-defined]
    def _transferred_in(self, e: Any, pos: int, at: str) -> None:
        self._record(e, pos, at, e.record)

    @handles(Register.FactsChanged)  # type: ignore[attr-defined]
    def _facts(self, e: Any, pos: int, at: str) -> None:
        def change(rec: dict[str, Any]) -> None:
            facts = [f for f in rec["facts"] if f[0] < e.from_period]
            facts.append([e.from_period, e.category, e.monthly_base])
            rec["facts"] = facts

        self._update_record(e, pos, at, e.code, change)

    @handles(Register.ExemptionRecorded)  # type: ignore[attr-defined]
    def _exemption(self, e: Any, pos: int, at: str) -> None:
        item = [e.kind, e.percent, e.decision_ref, e.from_period, e.to_period]
        self._update_record(e, pos, at, e.code, lambda rec: rec["exemptions"].append(item))

    @handles(Register.Left)  # type: ignore[attr-defined]
    def _left(self, e: Any, pos: int, at: str) -> None:
        self._update_record(e, pos, at, e.code, lambda rec: rec.__setitem__("until", e.from_period))

    @handles(Register.MonthAssessed)  # type: ignore[attr-defined]
    def _assessed(self, e: Any, pos: int, at: str) -> None:
        for code, _assessed, used in e.lines:
            if used:
                self._credit(e, pos, at, code, -int(used))

    @handles(Register.PaymentRecorded)  # type: ignore[attr-defined]
    def _payment(self, e: Any, pos: int, at: str) -> None:
        if e.to_credit:
            self._credit(e, pos, at, e.code, int(e.to_credit))

    @handles(Register.PaymentsRecorded)  # type: ignore[attr-defined]
    def _payments(self, e: Any, pos: int, at: str) -> None:
        for code, _reference, _applied, to_credit in e.payments:
            if to_credit:
                self._credit(e, pos, at, code, int(to_credit))

    @handles(Register.PaymentReversed)  # type: ignore[attr-defined]
    def _payment_reversed(self, e: Any, pos: int, at: str) -> None:
        if e.from_credit:
            self._credit(e, pos, at, e.code, -int(e.from_credit))

    @handles(Register.CreditApplied)  # type: ignore[attr-defined]
    def _credit_applied(self, e: Any, pos: int, at: str) -> None:
        if e.from_credit:
            self._credit(e, pos, at, e.code, -int(e.from_credit))

    @handles(Register.CreditReleased)  # type: ignore[attr-defined]
    def _credit_released(self, e: Any, pos: int, at: str) -> None:
        if e.to_credit:
            self._credit(e, pos, at, e.code, int(e.to_credit))

    @handles(Register.Adjusted)  # type: ignore[attr-defined]
    def _register_adjusted(self, e: Any, pos: int, at: str) -> None:
        if e.to_credit:
            self._credit(e, pos, at, e.code, int(e.to_credit))

    @handles(Register.CreditTransferred)  # type: ignore[attr-defined]
    def _credit_moved(self, e: Any, pos: int, at: str) -> None:
        self._credit(e, pos, at, e.code, -int(e.amount))


StatementsModel.handlers = collect_handlers(StatementsModel)
