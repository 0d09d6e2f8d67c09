"""Dues roll: one branch, one month, like one page of the dues book.

Rule: opening assesses every member of the branch in one event (policy
version and rule recorded per line); payments are applied line by line;
closing allocates what was collected into the retained share and the share
payable to the parent (largest remainder, exact). Money applied to a month
after it closed is allocated at once, at the share fixed when it closed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import Conflict
from ledger.ids import roll_id
from ledger.money import split_retained
from ledger.postings import (
    Posting,
    acct,
    check_balanced,
    credit,
    debit,
    prepaid_branch,
    swapped,
)

LINE_FIELDS = ("code", "assessed", "rule", "income", "exempt", "reduction", "credit_used")


def allocation_postings(branch: str, amount: int, retained: int, payable: int) -> list[Posting]:
    return [
        debit(acct(branch, "income", "dues_assessed"), amount),
        credit(acct(branch, "equity", "retained"), retained),
        credit(acct(branch, "liabilities", "payable_to_parent"), payable),
    ]


def roll_line(code: str, a: Any, credit_used: int = 0) -> list[Any]:
    """A member's line on a roll (`LINE_FIELDS`) from their assessment `a`."""
    return [code, a.amount, a.rule_id, a.income, a.exempt_kind, a.reduction_percent, credit_used]


def opening_postings(branch: str, lines: list[list[Any]]) -> list[Posting]:
    postings: list[Posting] = []
    total = 0
    for code, assessed, *_rest, credit_used in lines:
        receivable = acct(branch, "assets", "receivable", code)
        postings.append(debit(receivable, assessed))
        total += assessed
        if credit_used:
            postings.append(debit(acct(branch, "liabilities", "prepaid", code), credit_used))
            postings.append(credit(receivable, credit_used))
    postings.append(credit(acct(branch, "income", "dues_assessed"), total))
    return check_balanced(postings)


class Roll(Aggregate):
    @staticmethod
    def create_id(branch_code: str, period: str, **_: Any) -> UUID:
        return roll_id(branch_code, period)

    @event("Opened")
    def __init__(
        self,
        branch_code: str,
        period: str,
        org_type: str,
        policy_version: int,
        lines: list[list[Any]],
        postings: list[Posting],
    ) -> None:
        self.branch_code = branch_code
        self.period = period
        self.org_type = org_type
        self.policy_version = policy_version
        self.lines: dict[str, dict[str, Any]] = {}
        for line in lines:
            row = dict(zip(LINE_FIELDS, line, strict=True))
            row["paid"] = line[6]  # credit used counts as paid for this month
            row["arrears"] = 0
            self.lines[line[0]] = row
        self.closed = False
        self.retained_percent: str | None = None
        self.retained = 0
        self.payable = 0

    @property
    def assessed(self) -> int:
        return sum(int(r["assessed"]) for r in self.lines.values())

    @property
    def collected(self) -> int:
        return sum(int(r["paid"]) for r in self.lines.values())

    @property
    def outstanding(self) -> int:
        return sum(max(int(r["assessed"]) - int(r["paid"]), 0) for r in self.lines.values())

    def owed_by(self, code: str) -> int:
        row = self.lines.get(code)
        return 0 if row is None else max(int(row["assessed"]) - int(row["paid"]), 0)

    def check_open(self) -> None:
        if self.closed:
            raise Conflict(
                f"Tháng {self.period} của chi bộ {self.branch_code} đã khoá sổ",
                f"{self.period} is already closed for branch {self.branch_code}",
            )

    def _late_allocation(
        self, amount: int, sign: int = 1, earlier: tuple[int, int] = (0, 0)
    ) -> tuple[int, int, list[Posting]]:
        """After closing, money paid (`sign` 1) or taken back (-1) is allocated at once:
        its retained and payable shares (of `amount`) and the allocation postings; before
        closing, nothing yet. `earlier`: (collected, retained) of a batch's earlier
        payments, not applied yet."""
        if not self.closed:
            return 0, 0, []
        retained = self.late_share(amount, sign, earlier)
        payable = amount - retained
        return retained, payable, allocation_postings(self.branch_code, amount, retained, payable)

    def late_share(self, amount: int, sign: int, earlier: tuple[int, int] = (0, 0)) -> int:
        """The retained part of `amount` coming into (`sign` 1) or leaving (-1) a closed
        month: what keeps the month's retained share the split of all it collected, so the
        rounding is applied once, to the month's total. Before 2026-11-24 each amount was
        split on its own: reversing every payment of a closed month left retained -1 and
        payable +1, and `remit` sent that 1 đ (a helper's check). Kept within 0..amount
        (a month whose shares were split piecewise before drifts back no faster)."""
        collected = self.collected + earlier[0]
        retained_now = self.retained + earlier[1]
        percent = Decimal(str(self.retained_percent))
        target, _ = split_retained(max(collected + sign * amount, 0), percent)
        return min(max(sign * (target - retained_now), 0), amount)

    def apply_payment(self, code: str, amount: int, reference: str) -> None:
        retained, payable, postings = self._late_allocation(amount)
        self._apply_payment(code, amount, reference, retained, payable, check_balanced(postings))

    @event("PaymentApplied")
    def _apply_payment(
        self,
        code: str,
        amount: int,
        reference: str,
        retained: int,
        payable: int,
        postings: list[Posting],
    ) -> None:
        self.lines[code]["paid"] += amount
        self.retained += retained
        self.payable += payable

    def apply_many(self, payments: list[tuple[str, int, str]]) -> None:
        """Several payments (`(code, amount, reference)`, a chunk of a bank statement): one
        `PaymentsApplied` event, or the usual `PaymentApplied` for one."""
        if len(payments) == 1:
            self.apply_payment(*payments[0])
            return
        items: list[list[Any]] = []
        postings: list[Posting] = []
        collected = kept = 0  # what the earlier payments add, applied with the event
        for code, amount, reference in payments:
            retained, payable, allocation = self._late_allocation(amount, 1, (collected, kept))
            items.append([code, amount, reference, retained, payable])
            postings += allocation
            collected, kept = collected + amount, kept + retained
        self._apply_payments(items, check_balanced(postings))

    @event("PaymentsApplied")
    def _apply_payments(self, payments: list[list[Any]], postings: list[Posting]) -> None:
        """`payments`: `[code, amount, reference, retained, payable]`, each what one
        `PaymentApplied` records; `postings`: their late allocations together."""
        for code, amount, _reference, retained, payable in payments:
            self.lines[code]["paid"] += amount
            self.retained += retained
            self.payable += payable

    def apply_credit(self, code: str, amount: int, reference: str, postings: list[Posting]) -> None:
        """The member's credit (paid ahead) pays `amount` of this month, owed again after a
        reversal or a re-assessment; `postings` take it from the credit (prepaid) to the
        receivable. After closing, it is allocated at once, like a late payment."""
        retained, payable, late = self._late_allocation(amount)
        self._credit_applied(
            code, amount, reference, retained, payable, check_balanced(postings + late)
        )

    def release_credit(
        self, code: str, amount: int, reference: str, postings: list[Posting]
    ) -> None:
        """Undo `amount` of what `apply_credit` paid (the credit is needed back: the bank
        reversed the payment it came from): the month is owed again, its late allocation
        undone. Recorded as a `CreditApplied` of a negative amount."""
        retained, payable, late = self._late_allocation(amount, -1)
        self._credit_applied(
            code, -amount, reference, -retained, -payable, check_balanced(postings + swapped(late))
        )

    def credit_parts(self, code: str) -> list[tuple[int, str]]:
        """What the member's credit paid of this month and can be given back, with the
        branch whose credit it was: first what `apply_credit` paid (a month owed again),
        then what opening the month took from credit; no more than is paid."""
        row = self.lines.get(code)
        if row is None:
            return []
        paid = int(row["paid"])
        parts = []
        for amount, branch in (
            (int(row.get("credit_applied", 0)), str(row.get("credit_from", self.branch_code))),
            (_opening_credit(row), self.branch_code),
        ):
            take = min(amount, paid)
            if take > 0:
                parts.append((take, branch))
                paid -= take
        return parts

    @event("CreditApplied")
    def _credit_applied(
        self,
        code: str,
        amount: int,
        reference: str,
        retained: int,
        payable: int,
        postings: list[Posting],
    ) -> None:
        """`amount` < 0: a release (`release_credit`), which takes back what credit paid
        of the month in the order `credit_parts` lists it."""
        row = self.lines[code]
        row["paid"] += amount
        if amount < 0:
            _take_credit(row, -amount)
        else:
            row["credit_applied"] = row.get("credit_applied", 0) + amount
        if amount > 0 and (gave := prepaid_branch(postings, code, "D")) is not None:
            row["credit_from"] = gave  # the branch whose prepaid account gave the credit
        self.retained += retained
        self.payable += payable

    def reverse_payment(self, code: str, amount: int, reference: str) -> None:
        """Undo a payment the bank reversed; after closing, its allocation is undone too."""
        retained, payable, postings = self._late_allocation(amount, -1)
        self._reverse_payment(
            code, amount, reference, retained, payable, check_balanced(swapped(postings))
        )

    @event("PaymentReversed")
    def _reverse_payment(
        self,
        code: str,
        amount: int,
        reference: str,
        retained: int,
        payable: int,
        postings: list[Posting],
    ) -> None:
        self.lines[code]["paid"] -= amount
        self.retained -= retained
        self.payable -= payable

    def close(self, retained_percent: Decimal) -> None:
        self.check_open()
        collected = self.collected
        retained, payable = split_retained(collected, retained_percent)
        postings = check_balanced(
            allocation_postings(self.branch_code, collected, retained, payable)
        )
        self._close(str(retained_percent), collected, retained, payable, postings)

    @event("Closed")
    def _close(
        self,
        retained_percent: str,
        collected: int,
        retained: int,
        payable: int,
        postings: list[Posting],
    ) -> None:
        self.closed = True
        self.retained_percent = retained_percent
        self.retained += retained
        self.payable += payable

    @event("Adjusted")
    def adjust(
        self,
        code: str,
        line: list[Any],
        refund: int,
        refund_retained: int,
        refund_payable: int,
        postings: list[Posting],
    ) -> None:
        """A back-dated re-assessment of one member; `refund` paid money becomes credit."""
        row = self.lines.get(code)
        paid = 0 if row is None else int(row["paid"])
        new = dict(zip(LINE_FIELDS, line, strict=True))
        new["paid"] = paid - refund
        new["arrears"] = 0 if row is None else row["arrears"]
        if row is not None:  # what credit paid of the month, less what the refund frees
            for key in ("credit_applied", "credit_from", "opening_taken", "refund_to"):
                if key in row:
                    new[key] = row[key]
            if refund:
                _take_credit(new, refund)
        to = prepaid_branch(postings, code, "C") if refund else None
        if to is not None:  # the branch whose credit the refund became (the member's then)
            new["refund_to"] = to
        elif row is not None and "refund_to" in row:
            new["refund_to"] = row["refund_to"]
        self.lines[code] = new
        self.retained -= refund_retained
        self.payable -= refund_payable


def _opening_credit(row: dict[str, Any]) -> int:
    """What opening the month took from credit and is still in it."""
    return int(row["credit_used"]) - int(row.get("opening_taken", 0))


def _take_credit(row: dict[str, Any], amount: int) -> None:
    """`amount` of what credit paid of the month leaves it (given back, or freed by a
    refund): what `apply_credit` paid first, then what opening the month took."""
    applied = int(row.get("credit_applied", 0))
    from_applied = min(amount, max(applied, 0))
    row["credit_applied"] = applied - from_applied
    from_opening = min(amount - from_applied, max(_opening_credit(row), 0))
    if from_opening:
        row["opening_taken"] = int(row.get("opening_taken", 0)) + from_opening
