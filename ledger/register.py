"""Register: a branch's book of members, their dues facts and their running account.

Rule: opening a month reads one Register per branch, never one aggregate per
member, so a province of 100,000 members is a few thousand reads. Each member
record keeps, as plain data: category and income base over time (effective
month), region, date joined, exemptions and reductions, the credit paid ahead,
and the unpaid months (`[branch, period, amount]`, oldest first), which is what
a payment is applied to.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.batching import record_applied
from ledger.errors import Conflict, NotFound
from ledger.ids import register_id
from ledger.policy_rules import Exemption, MemberFacts
from ledger.postings import Posting

MemberRecord = dict[str, Any]


def new_record(
    code: str,
    name: str,
    from_period: str,
    category: str,
    monthly_base: int | None,
    region: str,
    joined: str,
) -> MemberRecord:
    return {
        "code": code,
        "name": name,
        "region": region,
        "joined": joined,
        "from": from_period,
        "until": None,
        "facts": [[from_period, category, monthly_base]],
        "exemptions": [],
        "credit": 0,
        "unpaid": [],
    }


class Register(Aggregate):
    @staticmethod
    def create_id(branch_code: str, **_: Any) -> UUID:
        return register_id(branch_code)

    @event("Started")
    def __init__(self, branch_code: str) -> None:
        self.branch_code = branch_code
        self.members: dict[str, MemberRecord] = {}
        self.opened: list[str] = []

    # -- queries -------------------------------------------------------------
    def record(self, code: str) -> MemberRecord:
        try:
            return self.members[code]
        except KeyError:
            raise NotFound(
                f"Chi bộ {self.branch_code} không có đảng viên {code}",
                f"Branch {self.branch_code} has no member {code}",
            ) from None

    def active_codes(self, period: str) -> list[str]:
        return [
            c
            for c, r in self.members.items()
            if r["from"] <= period and (r["until"] is None or period < r["until"])
        ]

    def facts_at(self, code: str, period: str) -> MemberFacts:
        # Called once per member when a month opens: the common case (one facts entry,
        # no exemption) takes no loop and builds no generator.
        rec = self.members[code]
        facts = rec["facts"]
        _, category, base = facts[0]
        if len(facts) > 1:
            for since, cat, amount in facts:
                if since <= period:
                    category, base = cat, amount
        found = rec["exemptions"]
        exemptions = tuple(Exemption(k, p, ref, f, t) for k, p, ref, f, t in found) if found else ()
        return MemberFacts(
            category=category,
            monthly_base=base,
            region=rec["region"],
            party_joined_on=date.fromisoformat(rec["joined"]),
            exemptions=exemptions,
        )

    def unpaid_total(self, code: str) -> int:
        return sum(int(a) for _, _, a in self.members[code]["unpaid"])

    # -- commands ------------------------------------------------------------
    @event("Enrolled")
    def enrol(self, members: list[MemberRecord]) -> None:
        # a copy: the event holds `members` until it is saved, and a command may change the
        # record before then (a late enrolment's assessment); the stored event must say what
        # was enrolled, not what the record became
        for rec in members:
            self.members[rec["code"]] = copy.deepcopy(rec)

    @event("FactsChanged")
    def change_facts(
        self, code: str, from_period: str, category: str, monthly_base: int | None
    ) -> None:
        facts = [f for f in self.members[code]["facts"] if f[0] < from_period]
        facts.append([from_period, category, monthly_base])
        self.members[code]["facts"] = facts

    @event("ExemptionRecorded")
    def record_exemption(
        self,
        code: str,
        kind: str,
        percent: int,
        decision_ref: str,
        from_period: str,
        to_period: str,
    ) -> None:
        self.members[code]["exemptions"].append(
            [kind, percent, decision_ref, from_period, to_period]
        )

    def leave(self, code: str, from_period: str) -> None:
        rec = self.record(code)
        if rec["until"] is not None:
            raise Conflict(
                f"Đảng viên {code} đã rời chi bộ {self.branch_code}",
                f"Member {code} already left branch {self.branch_code}",
            )
        self._leave(code, from_period)

    @event("Left")
    def _leave(self, code: str, from_period: str) -> None:
        self.members[code]["until"] = from_period

    @event("MonthAssessed")
    def assess_month(self, period: str, lines: list[list[Any]]) -> None:
        """`lines`: `[code, assessed, credit_used]` for every member assessed."""
        for code, assessed, credit_used in lines:
            rec = self.members[code]
            rec["credit"] -= credit_used
            if assessed - credit_used > 0:
                rec["unpaid"].append([self.branch_code, period, assessed - credit_used])
        self.opened.append(period)
        self.opened.sort()

    @event("PaymentRecorded")
    def record_payment(
        self, code: str, reference: str, applied: list[list[Any]], to_credit: int
    ) -> None:
        _take_payment(self.members[code], applied, to_credit)

    def take_payment(
        self, code: str, reference: str, applied: list[list[Any]], to_credit: int
    ) -> list[Any]:
        """What `record_payment` does, without its event yet: a bulk command records the
        payments it took as one event when it saves (`record_taken`). Returns the item.
        Only through `UnitOfWork.record_on_register`, whose `flush` records it: until
        then the register's state is ahead of its events."""
        _take_payment(self.members[code], applied, to_credit)
        return [code, reference, applied, to_credit]

    def record_taken(self, payments: list[list[Any]]) -> None:
        """Record the payments `take_payment` already applied: one `PaymentsRecorded`, or
        the usual `PaymentRecorded` for one (`ledger.batching`)."""
        if len(payments) == 1:
            code, reference, applied, to_credit = payments[0]
            record_applied(
                self,
                Register.PaymentRecorded,  # type: ignore[attr-defined]
                code=code,
                reference=reference,
                applied=applied,
                to_credit=to_credit,
            )
        elif payments:
            record_applied(self, Register.PaymentsRecorded, payments=payments)  # type: ignore[attr-defined]

    @event("PaymentsRecorded")
    def _payments_recorded(self, payments: list[list[Any]]) -> None:
        """`payments`: `[code, reference, applied, to_credit]`, each what one
        `PaymentRecorded` records, in the order they were taken."""
        for code, _reference, applied, to_credit in payments:
            _take_payment(self.members[code], applied, to_credit)

    @event("PaymentReversed")
    def reverse_payment(
        self, code: str, reference: str, applied: list[list[Any]], from_credit: int
    ) -> None:
        """The bank took the money back: the months it paid are owed again, its credit removed."""
        rec = self.members[code]
        _owe_again(rec, applied)
        rec["credit"] -= from_credit

    @event("CreditApplied")
    def apply_credit(
        self, code: str, reference: str, applied: list[list[Any]], from_credit: int
    ) -> None:
        """Months owed again (after a reversal or a re-assessment) paid from the member's
        credit: `applied` are this register's months, `from_credit` what its credit gives
        (the member's own branch holds the credit; another branch only its months)."""
        _take_payment(self.members[code], applied, -from_credit)

    @event("CreditReleased")
    def release_credit(
        self, code: str, reference: str, applied: list[list[Any]], to_credit: int
    ) -> None:
        """What `apply_credit` paid, undone: `applied` are this register's months owed again,
        `to_credit` the credit given back (at the member's own branch)."""
        rec = self.members[code]
        _owe_again(rec, applied)
        rec["credit"] += to_credit

    @event("Adjusted")
    def adjust(self, code: str, branch: str, period: str, delta: int, to_credit: int) -> None:
        """A back-dated change: `delta` more (or less) owed for the month; `to_credit` refunded as credit."""
        rec = self.members[code]
        for item in rec["unpaid"]:
            if item[0] == branch and item[1] == period:
                item[2] += delta
                break
        else:
            if delta > 0:
                rec["unpaid"].append([branch, period, delta])
        rec["unpaid"] = sorted((i for i in rec["unpaid"] if i[2] > 0), key=lambda i: i[1])
        rec["credit"] += to_credit

    @event("CreditTransferred")
    def move_credit(self, code: str, to_branch: str, amount: int, postings: list[Posting]) -> None:
        """A transferring member's credit leaves with them: this branch now owes it to `to_branch`."""
        self.members[code]["credit"] -= amount

    @event("TransferredIn")
    def transfer_in(self, record: MemberRecord) -> None:
        self.members[record["code"]] = copy.deepcopy(record)  # as `enrol`


def _owe_again(rec: MemberRecord, applied: list[list[Any]]) -> None:
    """Months paid, owed again: each amount back on its unpaid item (made if gone)."""
    for branch, period, amount in applied:
        for item in rec["unpaid"]:
            if item[0] == branch and item[1] == period:
                item[2] += amount
                break
        else:
            rec["unpaid"].append([branch, period, amount])
    rec["unpaid"].sort(key=lambda i: (i[1], i[0]))


def _take_payment(rec: MemberRecord, applied: list[list[Any]], to_credit: int) -> None:
    """A payment on a member's record: the months it paid, less owed; the rest, credit."""
    for branch, period, amount in applied:
        for item in rec["unpaid"]:
            if item[0] == branch and item[1] == period:
                item[2] -= amount
    rec["unpaid"] = [i for i in rec["unpaid"] if i[2] > 0]
    rec["credit"] += to_credit
