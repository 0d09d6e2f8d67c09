"""Money commands: a member's payment, a remittance up the tree, spending the retained fund.

Rule: every command is keyed by a reference; the same reference again returns
the first result and records nothing. A payment goes to the oldest unpaid
month first (or only to the months named) and the rest becomes credit. A
remittance sends what is payable for a month and not yet sent; the parent
allocates what it receives at its own retained share at once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eventsourcing.persistence import RecordConflictError

from ledger.bank_transaction import reference_cases
from ledger.batching import create_new
from ledger.clock import today
from ledger.errors import Conflict, InvalidInput
from ledger.ids import payment_id, remittance_id, roll_id
from ledger.money import parse_amount, split_retained
from ledger.payment import CHANNELS, Payment
from ledger.payment_request import PaymentRequest, request_id
from ledger.period import Period, parse_period, period_of
from ledger.postings import Posting, acct, check_balanced, credit, debit, receivable_postings
from ledger.reference_code import code_for
from ledger.remittance import Remittance, in_transit_postings, remittance_postings
from ledger.roll import Roll
from ledger.services.base import LedgerBase, UnitOfWork


@dataclass(frozen=True)
class PaymentResult:
    reference: str
    member_code: str
    amount: int
    applied: list[list[Any]]
    to_credit: int
    duplicate: bool


@dataclass(frozen=True)
class RemitResult:
    org_code: str
    parent_code: str
    period: Period
    amount: int
    payable: int
    remitted_before: int
    duplicate: bool = False
    code: str | None = None  # by bank transfer: the code to put in the transfer's memo
    payload: str | None = None  # ... and a VietQR to the parent's account carrying it
    # sent by bank transfer and not yet seen at the parent: this transfer's, or (nothing
    # left to remit) the one still on its way, whose code and VietQR are given again
    in_transit: int = 0
    # earlier months' over-remittance deducted from this month's by this call: [month, đ]
    offsets: list[list[Any]] = field(default_factory=list)
    # of the month's payable, settled before this call without money sent for it: earlier
    # months' excess deducted from it, less its own excess deducted from later months
    netted_before: int = 0

    @property
    def offset(self) -> int:
        """Deducted by this call from what was sent: what the parent was over-paid before."""
        return sum(int(o[1]) for o in self.offsets)

    @property
    def over_remitted(self) -> int:
        """Remitted beyond the share now payable and not yet deducted from a later month's
        remittance: a payment of the month was taken back (a bank reversal, a re-assessment's
        refund) after the share was remitted. The level above holds it until the next month
        remitted to it deducts it; `remit` never sends a negative amount (docs/policy.md)."""
        return max(self.remitted_before + self.netted_before - self.payable, 0)


def check_channel(channel: str) -> None:
    if channel not in CHANNELS:
        raise InvalidInput(
            f"Kênh '{channel}' không hợp lệ",
            f"Unknown channel '{channel}' ({', '.join(CHANNELS)})",
            field="channel",
        )


def money_account(org: str, channel: str) -> str:
    return acct(org, "assets", "cash" if channel == "cash" else "bank")


def plan_allocation(
    unpaid: list[list[Any]], amount: int, months: list[Period] | None
) -> tuple[list[list[Any]], int]:
    """Oldest unpaid month first (or only `months`); returns (applied, left over for credit).
    `unpaid` is in that order already, month then branch, as `unpaid_items` gives it."""
    left, applied = amount, []
    for branch, period, owed in unpaid:
        if not left:
            break  # nothing more to apply (a month's dues paid: the common case)
        if months is not None and period not in months:
            continue
        take = min(left, int(owed))
        if take:
            applied.append([branch, period, take])
            left -= take
    return applied, left


def _in_transit(own: Remittance | None) -> dict[str, Any] | None:
    """The latest transfer by bank the parent has not yet (wholly) seen, if any."""
    if own is None:
        return None
    waiting = [
        t
        for t in own.transfers
        if t["via"] == "bank" and int(t.get("received", 0)) < int(t["amount"])
    ]
    return waiting[-1] if waiting else None


def _memo_code(own: Remittance, transfer: dict[str, Any]) -> str:
    """The code a bank transfer's memo carries: the transfer's reference, unless the
    caller named one, when `remit` derived the code from it (see `remit`)."""
    number = own.transfers.index(transfer) + 1
    seed = f"remittance/{own.org_code}/{own.period}/{number}/"
    plain = code_for(seed)
    return plain if transfer["reference"] == plain else code_for(seed + transfer["reference"])


def _transfer_with(own: Remittance | None, reference: str | None) -> dict[str, Any] | None:
    if own is None or reference is None:
        return None
    return next((t for t in own.transfers if t["reference"] == reference), None)


# References the ledger gives the payments it makes itself: money resolved from suspense,
# a request's transfer, a cash receipt, credit used. A payment recorded by hand under one
# of them would be taken for the ledger's own, which then records nothing (a helper's
# check: an item resolved "to M1" left its money in suspense).
LEDGER_REFERENCE = re.compile(r"^(SUSPENSE:|CASH:|CREDIT/|DP[0-9A-Z]{8}:)", re.IGNORECASE)


def check_reference(reference: str | None) -> None:
    """A reference typed for a payment must not be one of the ledger's own forms."""
    if reference is not None and LEDGER_REFERENCE.match(reference.strip()):
        raise InvalidInput(
            f"Mã tham chiếu '{reference}' có dạng sổ tự đặt (SUSPENSE:, CASH:, CREDIT/, "
            "mã yêu cầu + ':'); hãy dùng mã khác",
            f"Reference '{reference}' has a form the ledger gives its own payments "
            "(SUSPENSE:, CASH:, CREDIT/, a request's code + ':'); use another",
            field="reference",
        )


class PaymentCommands(LedgerBase):
    def pay(
        self,
        member_code: str,
        amount: int,
        *,
        channel: str = "bank",
        reference: str | None = None,
        months: list[Period] | None = None,
    ) -> PaymentResult:
        """A payment recorded by hand; `reference` (its idempotency key) is the treasurer's.
        Paid by bank under the bank's reference of a line already held in the branch's
        suspense, it is that line's money: the item is resolved to the member (before,
        the payment was booked as more bank money beside it, counted twice; a review)."""
        check_reference(reference)
        if channel == "bank" and reference is not None:
            # the bank's reference in another case is the same payment (a retry typed
            # `ft2…` after `FT2…` was recorded twice; a review)
            for key in reference_cases(reference):
                if key != reference and self.get_or_none(payment_id(key), Payment) is not None:
                    reference = key
                    break
            branch = self.get_member(member_code).branch_code
            item = self.held_line_for(branch, amount, reference)  # type: ignore[attr-defined]
            if item is not None and self.get_or_none(payment_id(reference), Payment) is None:
                self.resolve_suspense(  # type: ignore[attr-defined]
                    item, member=member_code, months=months, payment_reference=reference
                )
                made = self.get_or_none(payment_id(reference), Payment)
                assert made is not None  # the resolution saved it
                return PaymentResult(
                    reference, member_code, amount, made.applied, made.to_credit, False
                )
        result = self.record_own_payment(
            member_code, amount, channel=channel, reference=reference, months=months
        )
        if channel == "bank" and reference is not None:
            self._line_recorded_meanwhile(member_code, amount, reference)
        return result

    def _line_recorded_meanwhile(self, member_code: str, amount: int, reference: str) -> None:
        """After a payment by bank is saved: its line, recorded by a webhook at the same
        moment, is held in suspense (each looked for the other before saving, and they
        write nothing in common), so the money was counted twice (a helper's race test,
        2026-11-24). Whichever saved last finds the other and takes the line as the
        payment's money (`held_by_payment`, as the line does when it comes later)."""
        branch = self.get_member(member_code).branch_code
        item = self.held_line_for(branch, amount, reference)  # type: ignore[attr-defined]
        if item is None:
            return
        _, queue = self._item_queue(None, item)  # type: ignore[attr-defined]
        try:
            line = uuid.UUID(str(queue.item(item)["transaction"]))
            self.held_by_payment(line, reference)  # type: ignore[attr-defined]
        except RecordConflictError:
            pass  # the line's worker took it at the same moment

    def record_own_payment(
        self,
        member_code: str,
        amount: int,
        *,
        channel: str = "bank",
        reference: str | None = None,
        months: list[Period] | None = None,
    ) -> PaymentResult:
        """`pay` under a reference the ledger made (a cash receipt's, say)."""
        uow = UnitOfWork(self)
        result = self.prepare_payment(
            uow, member_code, amount, channel=channel, reference=reference, months=months
        )
        self.save(*uow.pending())
        return result

    def prepare_payment(
        self,
        uow: UnitOfWork,
        member_code: str,
        amount: int,
        *,
        channel: str = "bank",
        reference: str | None = None,
        months: list[Period] | None = None,
        received_by: str | None = None,
        paid_from: str | None = None,
        value_date: str | None = None,
    ) -> PaymentResult:
        """Build a payment's events in `uow` without saving (so several can share one save).

        `received_by`: the branch whose account the money reached (a request's target),
        if not the member's own branch; the member's credit still lives at their own branch.
        `value_date`: the bank line's, for money that arrived by a bank line: the payment
        is received that day (no later than today), so its receipt shows the bank's date
        and its postings fall in the month the statement shows them."""
        parse_amount(amount)
        check_channel(channel)
        reference = reference or f"PAY-{uuid.uuid4().hex[:12].upper()}"
        new_id = payment_id(reference)
        earlier = uow.get(new_id, Payment)
        if earlier is not None:
            return self._earlier_payment(earlier, member_code, amount)
        day = today(self.clock)
        period = period_of(day)
        received_on = day if value_date is None else min(day, date.fromisoformat(value_date[:10]))
        member = uow.member(member_code)
        member.check_active(period)
        # The member's own branch from the transfer papers on receives the money and keeps
        # any credit (so credit is where the next months will be assessed); arrears another
        # branch assessed are settled through due_to/due_from.
        branch = member.branch_code
        registers = self.member_registers(uow, member)
        if branch not in {r.branch_code for r in registers}:
            raise Conflict(
                f"{member_code} chưa có trong sổ chi bộ {branch}",
                f"{member_code} is not in the register of {branch}",
            )
        unpaid = self.unpaid_items(registers, member_code)
        if months is not None:
            months = [parse_period(m, field="months") for m in months]
            owed = {i[1] for i in unpaid}
            missing = [m for m in months if m not in owed]
            if missing:
                raise Conflict(
                    f"Không nợ đảng phí tháng {', '.join(missing)}",
                    f"Nothing is owed for {', '.join(missing)}",
                    field="months",
                )
        applied, to_credit = plan_allocation(unpaid, amount, months)
        rolls = uow.load_many([roll_id(b, p) for b, p, _ in applied], Roll)
        receiver = received_by or branch
        # `paid_from`: money already in the receiver's books (its suspense account, say).
        postings: list[Posting] = [debit(paid_from or money_account(receiver, channel), amount)]
        for b, p, take in applied:
            uow.apply_to_roll(rolls[roll_id(b, p)], member_code, take, reference)
            postings += receivable_postings(receiver, b, member_code, take)
        postings.append(credit(acct(branch, "liabilities", "prepaid", member_code), to_credit))
        if to_credit and receiver != branch:  # the receiver holds money the member's branch owes
            postings += [
                debit(acct(branch, "assets", "due_from", receiver), to_credit),
                credit(acct(receiver, "liabilities", "due_to", branch), to_credit),
            ]
        payment = create_new(  # what `Payment(...)` makes, in half the time (a statement's
            Payment,  # lines make one each)
            Payment.Received,  # type: ignore[attr-defined]
            new_id,
            reference=reference,
            member_code=member_code,
            branch_code=receiver,
            amount=amount,
            channel=channel,
            received_on=received_on.isoformat(),
            applied=applied,
            to_credit=to_credit,
            postings=check_balanced(postings),
        )
        uow.add(payment)
        for register in registers:
            own = [a for a in applied if a[0] == register.branch_code]
            credit_here = to_credit if register.branch_code == branch else 0
            if own or credit_here:
                uow.record_on_register(register, member_code, reference, own, credit_here)
        return PaymentResult(reference, member_code, amount, applied, to_credit, False)

    @staticmethod
    def _earlier_payment(earlier: Payment, member_code: str, amount: int) -> PaymentResult:
        if earlier.member_code != member_code or earlier.amount != amount:
            raise Conflict(
                f"Mã tham chiếu {earlier.reference} đã dùng cho khoản khác ({earlier.member_code}, {earlier.amount:,} đ)",
                f"Reference {earlier.reference} was already used for another payment ({earlier.member_code}, {earlier.amount:,} đ)",
                field="reference",
            )
        return PaymentResult(
            earlier.reference, member_code, amount, earlier.applied, earlier.to_credit, True
        )

    def payable_for(self, org_code: str, period: Period) -> tuple[int, int, Remittance | None]:
        """(whole share owed to the parent for `period`, already remitted, the remittance record)."""
        org = self.get_org(org_code)
        payable = 0
        roll = self.get_or_none(roll_id(org_code, period), Roll)
        if roll is not None:
            payable += roll.payable
        children = org.children_at(period)
        received = self.load_many([remittance_id(c, period) for c in children], Remittance)
        payable += sum(r.parent_payable for r in received.values() if r.parent_code == org_code)
        own = self.get_or_none(remittance_id(org_code, period), Remittance)
        return payable, (own.remitted if own else 0), own

    def over_remitted_before(
        self, org_code: str, parent_code: str, period: Period
    ) -> list[tuple[Remittance, int]]:
        """Earlier months' remittances to `parent_code` holding more than is now payable for
        their month and not yet netted, oldest first, with that excess (docs/policy.md)."""
        org = self.get_org(org_code)
        earlier = [p for p in self.periods_of(org_code) if p < period]  # type: ignore[attr-defined]
        own = self.load_many([remittance_id(org_code, p) for p in earlier], Remittance)
        mine = sorted(
            (r for r in own.values() if r.parent_code == parent_code and r.settled > 0),
            key=lambda r: r.period,
        )
        if not mine:
            return []
        rolls = self.load_many([roll_id(org_code, r.period) for r in mine], Roll)
        keys = [remittance_id(c, r.period) for r in mine for c in org.children_at(r.period)]
        received = self.load_many(keys, Remittance)
        out = []
        for r in mine:
            roll = rolls.get(roll_id(org_code, r.period))
            payable = roll.payable if roll is not None else 0
            payable += sum(
                c.parent_payable
                for c in received.values()
                if c.period == r.period and c.parent_code == org_code
            )
            if r.settled > payable:
                out.append((r, r.settled - payable))
        return out

    def remit(
        self, org_code: str, period: Period, *, via: str = "portal", reference: str | None = None
    ) -> RemitResult:
        if via not in ("portal", "bank"):
            raise InvalidInput(
                f"Cách nộp '{via}' không hợp lệ (portal, bank)",
                f"Unknown way to remit '{via}' (portal, bank)",
                field="via",
            )
        period = parse_period(period)
        org = self.get_org(org_code)
        parent_code = org.parent_at(period)
        if parent_code is None:
            raise Conflict(
                f"{org_code} là cấp cao nhất, không nộp lên ai",
                f"{org_code} is the top of the tree and has no parent to remit to",
            )
        parent = self.get_org(parent_code)
        payable, remitted, own = self.payable_for(org_code, period)
        netted = own.settled - own.remitted if own is not None else 0
        earlier = _transfer_with(own, reference)
        if earlier is not None and own is not None:  # a retry: nothing new is recorded
            return self._sent_again(
                own, earlier, parent_code, payable, remitted, int(earlier["amount"]), True
            )
        amount = payable - remitted - netted
        if amount <= 0:
            waiting = _in_transit(own)
            if waiting is None or own is None:
                return RemitResult(
                    org_code, parent_code, period, 0, payable, remitted, netted_before=netted
                )
            # a treasurer who lost the transfer's code asks again: the same code and VietQR
            return self._sent_again(own, waiting, parent_code, payable, remitted, 0, False)
        remittance = own or Remittance(org_code=org_code, period=period)
        # What earlier months sent this parent beyond their payable share is deducted first,
        # oldest first; what this month cannot take waits for the next (docs/policy.md).
        offsets: list[list[Any]] = []
        touched: list[Any] = []
        for before, excess in self.over_remitted_before(org_code, parent_code, period):
            take = min(excess, amount)
            if take <= 0:
                break
            before.netted(in_period=period, amount=take, on=self.today_iso())
            remittance.offset(
                parent_code=parent_code, from_period=before.period, amount=take, on=self.today_iso()
            )
            offsets.append([before.period, take])
            touched.append(before)
            amount -= take
        if amount == 0:  # all of it settled by earlier excess: no money moves
            self.save(remittance, *touched)
            return RemitResult(
                org_code,
                parent_code,
                period,
                0,
                payable,
                remitted,
                offsets=offsets,
                netted_before=netted,
            )
        percent = self.policy().book.retained_percent(parent.org_type, period)
        parent_retained, parent_payable = split_retained(amount, percent)
        number = len(remittance.transfers) + 1
        request = None
        if via == "bank":  # in transit until the parent's bank line with this code arrives
            request = self._create_request(  # type: ignore[attr-defined]
                "remittance",
                parent_code,
                org_code,
                None,
                [[org_code, [period], amount]],
                f"NOP DP {period[5:]}/{period[:4]} {org_code}",
                None,
                None,
                90,
                code=code_for(f"remittance/{org_code}/{period}/{number}/{reference or ''}"),
                save=False,
            )
            parent_retained = parent_payable = 0
            postings = in_transit_postings(org_code, parent_code, amount)
        else:
            postings = remittance_postings(
                org_code, parent_code, amount, parent_retained, parent_payable
            )
        remittance.remit(
            parent_code=parent_code,
            amount=amount,
            via=via,
            reference=reference
            or (request.code if request else f"REM-{org_code}-{period}-{number}"),
            remitted_on=self.today_iso(),
            parent_retained_percent=str(percent),
            parent_retained=parent_retained,
            parent_payable=parent_payable,
            postings=postings,
        )
        self.save(remittance, request, *touched)
        return RemitResult(
            org_code,
            parent_code,
            period,
            amount,
            payable,
            remitted,
            code=request.code if request else None,
            payload=request.payload if request else None,
            in_transit=amount if request else 0,
            offsets=offsets,
            netted_before=netted,
        )

    def _sent_again(
        self,
        own: Remittance,
        transfer: dict[str, Any],
        parent_code: str,
        payable: int,
        remitted: int,
        amount: int,
        duplicate: bool,
    ) -> RemitResult:
        """A transfer already recorded, told again: by bank, with its memo code, VietQR
        and what of it is still in transit."""
        code = payload = None
        in_transit = 0
        if transfer["via"] == "bank":
            code = _memo_code(own, transfer)
            sent = self.get_or_none(request_id(code), PaymentRequest)
            payload = sent.payload if sent is not None else None
            in_transit = int(transfer["amount"]) - int(transfer.get("received", 0))
        return RemitResult(
            own.org_code,
            parent_code,
            own.period,
            amount,
            payable,
            remitted,
            duplicate,
            code=code,
            payload=payload,
            in_transit=in_transit,
        )

    def spend(
        self, org_code: str, amount: int, purpose: str, reference: str, channel: str = "bank"
    ) -> bool:
        """Record spending from the retained fund; False if this reference was already recorded."""
        parse_amount(amount)
        check_channel(channel)
        if not purpose.strip() or not reference.strip():
            raise InvalidInput(
                "Cần nội dung chi và số chứng từ",
                "Purpose and reference are required",
                field="purpose",
            )
        reference = reference.strip()
        org = self.get_org(org_code)
        if reference in org.spending:
            if org.spending[reference] != amount:
                raise Conflict(
                    f"Số chứng từ {reference} đã dùng cho khoản chi {org.spending[reference]:,} đ",
                    f"Reference {reference} was already used for spending {org.spending[reference]:,} đ",
                    field="reference",
                )
            return False
        available = self.retained_available(org_code)  # type: ignore[attr-defined]
        if amount > available:
            raise Conflict(
                f"Quỹ giữ lại chỉ còn {available:,} đ",
                f"The retained fund holds only {available:,} đ",
                field="amount",
            )
        postings = check_balanced(
            [
                debit(acct(org_code, "expenses", "spending"), amount),
                credit(money_account(org_code, channel), amount),
            ]
        )
        org.spend(
            reference.strip(),
            amount,
            purpose.strip(),
            channel,
            self.today_iso(),
            self.current_period(),
            postings,
        )
        touched: list[Any] = [org]
        if channel == "bank":
            touched += self._line_already_out(org, reference, amount)
        self.save(*touched)
        return True

    def _line_already_out(self, org: Any, reference: str, amount: int) -> list[Any]:
        """Bank spending whose line a statement or gateway brought first: that line was
        flagged as unexplained and waits in suspense. The oldest one for this amount that
        prints the voucher is this spending: it clears it and resolves the item. Before, it
        stayed flagged and the money counted as spent twice (a helper's check)."""
        from ledger.services.matching import voucher_in

        code = org.code
        for item in self.suspense_items(code):  # type: ignore[attr-defined]
            if (
                item["direction"] == "out"
                and int(item["amount"]) == amount
                and voucher_in(reference, str(item.get("narrative") or ""))
            ):
                _, queue = self._item_queue(None, str(item["id"]))  # type: ignore[attr-defined]
                org.clear_spending(
                    reference,
                    str(item["transaction"]),
                    check_balanced(
                        [
                            debit(acct(code, "assets", "bank"), amount),
                            credit(acct(code, "assets", "unexplained_outflow"), amount),
                        ]
                    ),
                )
                # `by`: the line printed the voucher, so the ledger cleared it (a manual
                # `suspense resolve --spending` is the treasurer's word alone)
                queue.resolve(
                    str(item["id"]), "spending", {"reference": reference, "by": "voucher"}, []
                )
                return [queue]
        return []
