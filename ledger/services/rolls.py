"""Month commands: open (assess every member), close (allocate), re-assess back-dated changes.

Rule: opening a month writes one Roll and one Register event per branch, all
in one save, so a province opens in one transaction or not at all. Credit a
member paid ahead is used by the month as it opens. A back-dated change to a
month already assessed is an adjustment on that month's roll: more owed is
arrears; less owed frees what was paid beyond the new amount as credit (for a
closed month, taken back from that month's allocation).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.ids import register_id, roll_id
from ledger.loading import gc_paused
from ledger.member import Member
from ledger.period import Period, add_months, parse_period
from ledger.postings import Posting, acct, check_balanced, credit, debit, refund_postings
from ledger.register import Register
from ledger.roll import LINE_FIELDS, Roll, opening_postings, roll_line
from ledger.services.base import LedgerBase, UnitOfWork

# How far ahead of this month a month may be opened (a choice: docs/cli.md `month open`).
MONTHS_AHEAD = 12


@dataclass(frozen=True)
class MonthResult:
    period: Period
    branches: int
    members: int
    skipped: list[str]
    amount: int


class RollCommands(LedgerBase):
    def open_month(self, period: Period, org_code: str | None = None) -> MonthResult:
        period = parse_period(period)
        latest = add_months(self.current_period(), MONTHS_AHEAD)
        if period > latest:  # a typo in the year would assess every member, for good
            raise InvalidInput(
                f"Tháng {period} quá xa: chỉ mở sổ được đến {latest} "
                f"({MONTHS_AHEAD} tháng sau tháng này)",
                f"{period} is too far ahead: months can be opened up to {latest} "
                f"({MONTHS_AHEAD} months after this one)",
                field="period",
            )
        with gc_paused():
            return self._open_month(period, org_code)

    def _open_month(self, period: Period, org_code: str | None) -> MonthResult:
        branches = self.branches(period, org_code)
        if not branches:
            raise NotFound(
                f"Không có chi bộ nào hoạt động trong tháng {period}",
                f"No branch is active in {period}",
            )
        registers = self.load_many([register_id(b.code) for b in branches], Register)
        policy = self.policy()
        book = policy.book
        touched: list[Aggregate] = [policy] if policy.pending_events else []
        skipped: list[str] = []
        members = amount = 0
        # members leaving the branch from a later month (a transfer recorded ahead): their
        # credit went with the papers to the new branch, which pays this month from it
        leaving: list[tuple[str, str, int]] = []
        for branch in branches:
            register = registers.get(register_id(branch.code)) or Register(branch_code=branch.code)
            if period in register.opened:
                skipped.append(branch.code)
                continue
            lines, register_lines = [], []
            for code in register.active_codes(period):
                a = book.assess(register.facts_at(code, period), period)
                used = min(int(register.members[code]["credit"]), a.amount)
                lines.append(
                    [code, a.amount, a.rule_id, a.income, a.exempt_kind, a.reduction_percent, used]
                )
                register_lines.append([code, a.amount, used])
                amount += a.amount
                if a.amount > used and register.members[code]["until"] is not None:
                    leaving.append((code, branch.code, a.amount - used))
            members += len(lines)
            roll = Roll(
                branch_code=branch.code,
                period=period,
                org_type=branch.org_type,
                policy_version=book.version,
                lines=lines,
                postings=opening_postings(branch.code, lines),
            )
            register.assess_month(period, register_lines)
            touched += [roll, register]
        if len(skipped) == len(branches):
            raise Conflict(
                f"Tháng {period} đã được mở cho mọi chi bộ ({len(skipped)})",
                f"{period} is already open for every branch ({len(skipped)})",
            )
        if leaving:
            touched = self._credit_from_new_branch(touched, leaving, period)
        self.save(*touched)
        return MonthResult(period, len(branches) - len(skipped), members, skipped, amount)

    def _credit_from_new_branch(
        self, touched: list[Aggregate], leaving: list[tuple[str, str, int]], period: Period
    ) -> list[Aggregate]:
        """The month just opened, for members whose transfer from a later month is already
        recorded, paid from the credit they hold at the new branch (`use_credit`, through
        due_to/due_from), as their own branch's credit pays it for everyone else."""
        uow = UnitOfWork(self)
        for aggregate in touched:
            uow.add(aggregate)
        for code, b, owed in leaving:
            member = uow.member(code)
            if member.branch_code != b:
                self.use_credit(uow, member, {(b, period): owed}, f"open/{period}")
        return uow.pending()

    def close_month(self, period: Period, org_code: str) -> MonthResult:
        period = parse_period(period)
        branches = self.branches(period, org_code)
        rolls = self.load_many([roll_id(b.code, period) for b in branches], Roll)
        open_rolls = [r for r in rolls.values() if not r.closed]
        if not open_rolls:
            raise Conflict(
                f"Tháng {period} chưa mở (hoặc đã khoá sổ) ở {org_code}",
                f"{period} is not open under {org_code} (never opened, or already closed)",
            )
        book = self.policy().book
        collected = 0
        for roll in open_rolls:
            collected += roll.collected
            roll.close(book.retained_percent(roll.org_type, period))
        self.save(*open_rolls)
        skipped = sorted(r.branch_code for r in rolls.values() if r not in open_rolls)
        return MonthResult(
            period, len(open_rolls), sum(len(r.lines) for r in open_rolls), skipped, collected
        )

    def reassess(self, code: str, from_period: Period, uow: UnitOfWork | None = None) -> int:
        """Re-assess every month from `from_period` already assessed, each with the facts of
        the branch that assessed it; returns the adjustments made. With `uow` nothing is
        saved here: the caller saves the change and its adjustments together."""
        own = uow is None
        uow = uow or UnitOfWork(self)
        member = self.get_member(code)
        registers, periods, rolls = self._assessed_from(uow, member, from_period)
        policy = self.policy()
        book = policy.book
        adjusted = refunds = 0
        raised: dict[tuple[str, str], int] = {}
        for p, b in periods:
            roll = rolls.get(roll_id(b, p))
            if roll is None or code not in roll.lines:
                continue
            a = book.assess(registers[b].facts_at(code, p), p)
            line: list[object] = roll_line(code, a)
            home = registers.get(member.branch_code, registers[b])
            changed, owed_more, refunded = self._adjust(roll, registers[b], home, code, line)
            adjusted += changed
            refunds += refunded
            if owed_more > 0:
                raised[(b, p)] = owed_more
        by = f"reassess/{from_period}"
        if raised:  # what a month now asks more is paid from credit, as opening it was
            self.use_credit(uow, member, raised, by)
        if refunds:  # money a cut frees pays what the re-assessed months still ask, as a
            # payment would (oldest first); credit the member had before stays for later
            owed = {
                (b, p): roll_owed for p, b in periods if (roll_owed := _owed(rolls, b, p, code))
            }
            self.use_credit(uow, member, owed, by, limit=refunds)
        if adjusted and policy.pending_events:
            uow.add(policy)
        if own:
            self.save(*uow.pending())
        return adjusted

    def _assessed_from(
        self, uow: UnitOfWork, member: Member, from_period: Period
    ) -> tuple[dict[str, Register], list[tuple[str, str]], dict[UUID, Roll]]:
        """The member's registers by branch, the months (month, branch) opened from
        `from_period` at the branch the member was in then, and those months' rolls."""
        registers = {r.branch_code: r for r in self.member_registers(uow, member)}
        periods = sorted(
            (p, b)
            for b, r in registers.items()
            for p in r.opened
            if p >= from_period and member.branch_at(p) == b
        )
        return registers, periods, uow.load_many([roll_id(b, p) for p, b in periods], Roll)

    def withdraw_unpaid(self, code: str, from_period: Period, uow: UnitOfWork) -> int:
        """The member leaves the party list from `from_period`: each month already opened
        from then (at the branch that assessed it) asks no more than was paid of it, so
        the unpaid part is withdrawn from the roll and the register (`Roll.Adjusted`: D
        dues assessed / C receivable); what was paid stays paid. Nothing is saved here.
        Returns the adjustments made. Before 2026-11-24 these months stayed on the
        branch's outstanding, while the member could no longer pay them."""
        member = uow.member(code)
        registers, periods, rolls = self._assessed_from(uow, member, from_period)
        home = registers.get(member.branch_code)
        adjusted = 0
        for p, b in periods:
            roll = rolls.get(roll_id(b, p))
            row = None if roll is None else roll.lines.get(code)
            if roll is None or row is None:
                continue
            paid = max(int(row["paid"]), 0)
            if int(row["assessed"]) <= paid:
                continue
            line: list[object] = [code, paid, *(row[k] for k in LINE_FIELDS[2:])]
            changed, _, _ = self._adjust(roll, registers[b], home or registers[b], code, line)
            adjusted += changed
        return adjusted

    @staticmethod
    def _adjust(
        roll: Roll, register: Register, home: Register, code: str, line: list[object]
    ) -> tuple[bool, int, int]:
        """Re-assess one line. A refund becomes credit at the member's own branch (`home`),
        where later months are assessed; if another branch holds the money, it owes it home.
        Returns whether it changed, how much more the month now asks, and the refund."""
        row = roll.lines[code]
        old, new = int(row["assessed"]), int(str(line[1]))
        line[6] = row["credit_used"]
        if old == new and row["rule"] == line[2]:
            return False, 0, 0
        paid, b = int(row["paid"]), roll.branch_code
        refund = max(paid - new, 0)
        receivable = acct(b, "assets", "receivable", code)
        dues = acct(b, "income", "dues_assessed")
        postings: list[Posting] = []
        if new > old:
            postings += [debit(receivable, new - old), credit(dues, new - old)]
        elif old > new:
            postings += [debit(dues, old - new), credit(receivable, old - new)]
        refund_retained = refund_payable = 0
        if refund:
            h = home.branch_code
            postings += refund_postings(b, h, code, refund)
            if roll.closed:  # taken back as a reversal is: the month's split stays exact
                refund_retained = roll.late_share(refund, -1)
                refund_payable = refund - refund_retained
                postings += [
                    debit(acct(b, "equity", "retained"), refund_retained),
                    debit(acct(b, "liabilities", "payable_to_parent"), refund_payable),
                    credit(dues, refund),
                ]
        delta_unpaid = max(new - paid, 0) - max(old - paid, 0)
        roll.adjust(code, line, refund, refund_retained, refund_payable, check_balanced(postings))
        register.adjust(code, b, roll.period, delta_unpaid, refund if home is register else 0)
        if refund and home is not register:
            home.adjust(code, b, roll.period, 0, refund)
        return True, delta_unpaid, refund


def _owed(rolls: dict[UUID, Roll], branch: str, period: str, code: str) -> int:
    roll = rolls.get(roll_id(branch, period))
    return 0 if roll is None else roll.owed_by(code)
