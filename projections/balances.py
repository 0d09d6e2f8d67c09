"""Read model: each organisation's figures per month, and every change to them.

`rm_balance` holds, per organisation and month: assessed, collected, outstanding,
retained, payable to parent, remitted to parent, received from children, in transit,
suspense, bank and cash movements, money held for or by other branches (due to,
due from), spending, and the member counts behind the
collection rate (members on the roll, exempt, due, paid in full). `rm_balance_moves`
holds the same figures as changes, one row per event and organisation-month, stamped
with the event's position and recorded time: summing the moves recorded by a time
gives the figures as the ledger knew them then. `rm_bal_lines` keeps each roll line's
assessed and paid amounts (what a change is measured against).

The month of a figure is the month it belongs to: the roll's or remittance's month;
for bank lines, their value date; otherwise the month the event was recorded
(Vietnam time). Roll-ups to ancestors are summed when asked, over the tree as it was
in that month (`projections.tree`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ledger.account_index import AccountIndex
from ledger.bank_transaction import BankTransaction
from ledger.organisation import Organisation
from ledger.payment import Payment
from ledger.payment_request import PaymentRequest
from ledger.register import Register
from ledger.remittance import Remittance
from ledger.roll import Roll
from ledger.suspense import SuspenseQueue
from projections.base import ReadModel, collect_handlers, handles, month_of_timestamp
from projections.store import Table

FIGURES = (
    "assessed",
    "collected",
    "outstanding",
    "retained",
    "payable_to_parent",
    "remitted_to_parent",
    "received_from_children",
    "in_transit",
    "suspense",
    "bank",
    "cash",
    "due_to",
    "due_from",
    "spent",
    "members",
    "members_exempt",
    "members_due",
    "members_paid",
)
N = len(FIGURES)
IX = {f: i for i, f in enumerate(FIGURES)}

BALANCE = Table(
    "rm_balance",
    [("org", "TEXT"), ("period", "TEXT")]
    + [(f, "INTEGER") for f in FIGURES]
    + [("remitted_on", "TEXT")],
    ["org", "period"],
)
MOVES = Table(
    "rm_balance_moves",
    [("position", "INTEGER"), ("recorded_at", "TEXT"), ("org", "TEXT"), ("period", "TEXT")]
    + [(f, "INTEGER") for f in FIGURES],
    [],
)
LINES = Table(
    "rm_bal_lines",
    [
        ("branch", "TEXT"),
        ("period", "TEXT"),
        ("member", "TEXT"),
        ("assessed", "INTEGER"),
        ("paid", "INTEGER"),
        ("exempt", "INTEGER"),
    ],
    ["branch", "period", "member"],
)
IDS = Table(
    "rm_bal_ids",
    [("id", "TEXT"), ("kind", "TEXT"), ("k1", "TEXT"), ("k2", "TEXT"), ("k3", "TEXT")],
    ["id"],
)


def _counts(assessed: int, paid: int, exempt: bool) -> tuple[int, int, int, int]:
    """members, exempt, due, paid in full: one line's part of the collection counts."""
    due = 1 if assessed > 0 else 0
    return 1, 1 if exempt else 0, due, 1 if due and paid >= assessed else 0


class BalancesModel(ReadModel):
    name = "balances"
    tables: ClassVar[list[Table]] = [BALANCE, MOVES, LINES, IDS]
    indexes: ClassVar[list[str]] = [
        "CREATE INDEX IF NOT EXISTS rm_balance_moves_org ON rm_balance_moves (org, period)",
        "CREATE INDEX IF NOT EXISTS rm_balance_period ON rm_balance (period)",
    ]
    groups: ClassVar[dict[str, int]] = {"rm_bal_lines": 2}

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self._moves: dict[tuple[str, str], list[int]] = {}
        # A month opened with nobody to assess is still a month with figures (zeros).
        self._opening: tuple[str, str] | None = None

    # -- figures -------------------------------------------------------------------
    def add(self, org: str, period: str, **deltas: int) -> None:
        move = self._moves.get((org, period))
        if move is None:
            move = self._moves[(org, period)] = [0] * N
        for k, v in deltas.items():
            move[IX[k]] += v

    def _end_event(self, pos: int, at: str) -> None:
        """The event's changes: into the balance rows and one move row per org-month."""
        for (org, period), move in self._moves.items():
            if not any(move) and (org, period) != self._opening:
                continue
            row = self.get("rm_balance", (org, period))
            if row is None:
                row = [0] * N + [None]
            for i in range(N):
                row[i] += move[i]
            self.put("rm_balance", (org, period), row)
            self.insert("rm_balance_moves", (pos, at, org, period, *move))
        self._moves = {}
        self._opening = None

    def process_event(self, domain_event: Any, tracking: Any) -> None:
        super().process_event(domain_event, tracking)
        if self._moves:
            from projections.base import recorded_at

            self._end_event(tracking.notification_id, recorded_at(domain_event))

    def _id(self, e: Any) -> list[Any]:
        row = self.get("rm_bal_ids", (str(e.originator_id),))
        assert row is not None, f"{e.originator_id} seen before it was created"
        return row

    def _postings(self, e: Any, period: str) -> None:
        for account, side, amount in getattr(e, "postings", None) or ():
            parts = account.split(":")
            signed = amount if side == "D" else -amount
            if len(parts) < 3:
                continue
            org, kind, name = parts[0], parts[1], parts[2]
            if kind == "assets" and name == "bank":
                self.add(org, period, bank=signed)
            elif kind == "assets" and name == "cash":
                self.add(org, period, cash=signed)
            elif kind == "liabilities" and name == "suspense":
                self.add(org, period, suspense=-signed)
            elif kind == "liabilities" and name == "due_to":
                self.add(org, period, due_to=-signed)  # collected for another branch
            elif kind == "assets" and name == "due_from":
                self.add(org, period, due_from=signed)  # another branch collected for it
            elif kind == "expenses" and name == "spending":
                self.add(org, period, spent=signed)

    # -- rolls -----------------------------------------------------------------------
    def _line(self, branch: str, period: str, code: str) -> list[Any] | None:
        return self.get("rm_bal_lines", (branch, period, code))

    def _set_line(
        self, branch: str, period: str, code: str, old: list[Any] | None, new: list[Any]
    ) -> None:
        before = _counts(*old) if old is not None else (0, 0, 0, 0)
        after = _counts(*new)
        self.add(
            branch,
            period,
            members=after[0] - before[0],
            members_exempt=after[1] - before[1],
            members_due=after[2] - before[2],
            members_paid=after[3] - before[3],
        )
        self.put("rm_bal_lines", (branch, period, code), new)

    @handles(Roll.Opened)  # type: ignore[attr-defined]
    def _opened(self, e: Any, pos: int, at: str) -> None:
        b, p = e.branch_code, e.period
        self.put("rm_bal_ids", (str(e.originator_id),), ["roll", b, p, None])
        self._opening = (b, p)
        self.add(b, p)
        assessed = credit_used = 0
        for code, amount, _rule, _income, exempt, _reduction, used in e.lines:
            assessed += amount
            credit_used += used
            self._set_line(b, p, code, None, [amount, used, 1 if exempt else 0])
        self.add(b, p, assessed=assessed, collected=credit_used, outstanding=assessed - credit_used)
        self._postings(e, p)

    def _paid(self, e: Any, sign: int) -> None:
        _, b, p, _ = self._id(e)
        self._paid_line(b, p, e.code, sign * e.amount, sign * e.retained, sign * e.payable)
        self._postings(e, p)

    def _paid_line(
        self, b: str, p: str, code: str, amount: int, retained: int, payable: int
    ) -> None:
        line = self._line(b, p, code)
        assert line is not None
        self._set_line(b, p, code, line, [line[0], line[1] + amount, line[2]])
        self.add(
            b,
            p,
            collected=amount,
            outstanding=-amount,
            retained=retained,
            payable_to_parent=payable,
        )

    @handles(Roll.PaymentApplied, Roll.CreditApplied)  # type: ignore[attr-defined]
    def _applied(self, e: Any, pos: int, at: str) -> None:
        self._paid(e, 1)

    @handles(Roll.PaymentsApplied)  # type: ignore[attr-defined]
    def _applied_many(self, e: Any, pos: int, at: str) -> None:
        _, b, p, _ = self._id(e)
        for code, amount, _reference, retained, payable in e.payments:
            self._paid_line(b, p, code, amount, retained, payable)
        self._postings(e, p)

    @handles(Roll.PaymentReversed)  # type: ignore[attr-defined]
    def _reversed(self, e: Any, pos: int, at: str) -> None:
        self._paid(e, -1)

    @handles(Roll.Closed)  # type: ignore[attr-defined]
    def _closed(self, e: Any, pos: int, at: str) -> None:
        _, b, p, _ = self._id(e)
        self.add(b, p, retained=e.retained, payable_to_parent=e.payable)
        self._postings(e, p)

    @handles(Roll.Adjusted)  # type: ignore[attr-defined]
    def _adjusted(self, e: Any, pos: int, at: str) -> None:
        _, b, p, _ = self._id(e)
        old = self._line(b, p, e.code)
        old_assessed, old_paid = (int(old[0]), int(old[1])) if old else (0, 0)
        new_assessed, new_paid = int(e.line[1]), old_paid - e.refund
        self._set_line(b, p, e.code, old, [new_assessed, new_paid, 1 if e.line[4] else 0])
        self.add(
            b,
            p,
            assessed=new_assessed - old_assessed,
            collected=-e.refund,
            outstanding=(new_assessed - new_paid) - (old_assessed - old_paid),
            retained=-e.refund_retained,
            payable_to_parent=-e.refund_payable,
        )
        self._postings(e, p)

    # -- remittances -----------------------------------------------------------------
    @handles(Remittance.Started)  # type: ignore[attr-defined]
    def _remittance(self, e: Any, pos: int, at: str) -> None:
        self.put("rm_bal_ids", (str(e.originator_id),), ["remittance", e.org_code, e.period, None])

    @handles(Remittance.Remitted)  # type: ignore[attr-defined]
    def _remitted(self, e: Any, pos: int, at: str) -> None:
        ids = self._id(e)
        _, child, p, _ = ids
        self.put("rm_bal_ids", (str(e.originator_id),), ["remittance", child, p, e.parent_code])
        self.add(child, p, remitted_to_parent=e.amount)
        if e.via == "bank":
            self.add(e.parent_code, p, in_transit=e.amount)
        else:
            self.add(e.parent_code, p, received_from_children=e.amount)
        self.add(e.parent_code, p, retained=e.parent_retained, payable_to_parent=e.parent_payable)
        self._postings(e, p)
        self._remitted_on(child, p, e.remitted_on)

    def _remitted_on(self, org: str, period: str, on: str) -> None:
        row = self.get("rm_balance", (org, period))
        if row is None:
            row = [0] * N + [None]
        if row[N] is None or str(on) > str(row[N]):
            row[N] = str(on)
        self.put("rm_balance", (org, period), row)

    @handles(Remittance.Received)  # type: ignore[attr-defined]
    def _received(self, e: Any, pos: int, at: str) -> None:
        _, _child, p, parent = self._id(e)
        self.add(
            parent,
            p,
            in_transit=-e.amount,
            received_from_children=e.amount,
            retained=e.parent_retained,
            payable_to_parent=e.parent_payable,
        )
        self._postings(e, p)

    # -- money elsewhere -----------------------------------------------------------------
    @handles(Payment.Received, Payment.Reversed)  # type: ignore[attr-defined]
    def _payment(self, e: Any, pos: int, at: str) -> None:
        if hasattr(e, "received_on"):
            period = str(e.received_on)[:7]
            self.put("rm_bal_ids", (str(e.originator_id),), ["payment", period, None, None])
        elif getattr(e, "on", None):  # a reversal, in the month the bank took it back
            period = str(e.on)[:7]
        else:  # a reversal stored before v2: in the month of the payment it undid
            period = str(self._id(e)[1])
        self._postings(e, period)

    @handles(BankTransaction.Recorded)  # type: ignore[attr-defined]
    def _bank_line(self, e: Any, pos: int, at: str) -> None:
        period = str(e.value_date)[:7]
        self.put("rm_bal_ids", (str(e.originator_id),), ["bank", period, None, None])
        self._postings(e, period)  # v4: a line held as it was recorded carries the hold's

    @handles(
        BankTransaction.Matched,  # type: ignore[attr-defined]
        BankTransaction.Cleared,  # type: ignore[attr-defined]
        BankTransaction.HeldInSuspense,  # type: ignore[attr-defined]
    )
    def _bank_money(self, e: Any, pos: int, at: str) -> None:
        if getattr(e, "postings", None):
            self._postings(e, str(self._id(e)[1]))

    @handles(
        Organisation.Spent,  # type: ignore[attr-defined]
        Organisation.SpendingCleared,  # type: ignore[attr-defined]
        SuspenseQueue.Resolved,  # type: ignore[attr-defined]
        AccountIndex.OpeningBalanceRecorded,  # type: ignore[attr-defined]
        AccountIndex.OpeningBalanceRevised,  # type: ignore[attr-defined]
        AccountIndex.LinesBeforeOpening,  # type: ignore[attr-defined]
        PaymentRequest.MoneyReceived,  # type: ignore[attr-defined]
        PaymentRequest.TransferSeen,  # type: ignore[attr-defined]
        PaymentRequest.CashDeposited,  # type: ignore[attr-defined]
        PaymentRequest.DepositCancelled,  # type: ignore[attr-defined]
        Register.CreditTransferred,  # type: ignore[attr-defined]
    )
    def _other_money(self, e: Any, pos: int, at: str) -> None:
        """Money moved by other events: the event's month, else its date's, else when it
        was recorded."""
        period = getattr(e, "period", None)
        if not period:
            on = (
                getattr(e, "on", None)
                or getattr(e, "value_date", None)
                or getattr(e, "received_at", None)
            )
            period = str(on)[:7] if on else month_of_timestamp(e)
        self._postings(e, str(period))


BalancesModel.handlers = collect_handlers(BalancesModel)
