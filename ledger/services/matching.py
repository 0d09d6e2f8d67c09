"""Matching bank lines: every line recorded once, explained or held, never lost or counted twice.

Rule: a line (a statement row or a gateway notification) is recorded once,
keyed by the bank's reference on its account (else its source's id), and
matched in this order:

Incoming:
1. a valid reference code of a dues request paid into that request's own
   account settles it (member: applied oldest first, excess is credit;
   batch: split exactly, short in proportion, excess held for the treasurer);
2. a code of a remittance: by bank transfer, the parent receives what was in
   transit and allocates it; through the portal (already allocated), the line
   only clears it onto the account; a cash deposit's code clears the deposit;
3. otherwise, if the narrative names a member (code or name) and the amount
   fits exactly one way of paying what that member owes, the line is held in
   suspense with that proposal, which a treasurer confirms (never applied
   automatically);
4. anything else is held in the owner's suspense account and queue.

Outgoing:
1. a line citing the bank reference of an earlier incoming line on the same
   account, for the same amount, is a reversal: what that line settled is
   undone (payments reversed, suspense released);
2. a remittance or refund code, or the voucher number of bank spending, with
   the same amount, clears what the books already hold;
3. anything else is flagged in suspense (the inspection issue builds on it).

Money moving through a registered account is booked to
`ORG:assets:bank:NUMBER`; what the treasurer recorded without a bank line yet
(a portal remittance, bank spending) sits in `ORG:assets:bank` until the
line that shows it clears it onto the account.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError
from eventsourcing.utils import get_topic

from ledger.account_index import (
    AccountIndex,
    PrintedLines,
    UnreferencedLines,
    WaitingLines,
    account_index_id,
    printed_lines_id,
    unreferenced_id,
    waiting_lines_id,
)
from ledger.bank_transaction import (
    BankTransaction,
    NotificationAlias,
    account_key,
    claimed_id,
    fact_id,
    notification_id,
    reference_cases,
    transaction_id,
)
from ledger.batching import create_new
from ledger.clock import today
from ledger.errors import Conflict, InvalidInput, LedgerError
from ledger.ids import org_id, payment_id, register_id, remittance_id, roll_id
from ledger.member import Member
from ledger.money import MAX_DONG, split_largest_remainder, split_retained, too_large
from ledger.organisation import Organisation
from ledger.payment import Payment
from ledger.payment_request import KINDS, PaymentRequest, request_id
from ledger.ports import BankTransactionFact
from ledger.postings import (
    Posting,
    acct,
    check_balanced,
    credit,
    credit_transfer_postings,
    debit,
    prepaid_branch,
    refund_postings,
    swapped,
)
from ledger.reference_code import find_codes
from ledger.register import Register
from ledger.remittance import Remittance, receipt_postings
from ledger.roll import Roll
from ledger.services.base import UnitOfWork
from ledger.services.requests import RequestCommands, paid_into_target
from ledger.suspense import SuspenseDays, SuspenseQueue, days_id, queue_id

TOKEN = re.compile(r"[0-9A-Z]+")
# Register events that leave the name index as it was: they change what members owe or
# paid, not who is on the register or under what code or name. Any other event
# (Started, Enrolled, Left, TransferredIn), or any event of an organisation under the
# owner (the tree may have changed), rebuilds it.
NAME_INDEX_KEEPS = frozenset(
    get_topic(e)
    for e in (
        Register.MonthAssessed,  # type: ignore[attr-defined]
        Register.PaymentRecorded,  # type: ignore[attr-defined]
        Register.PaymentsRecorded,  # type: ignore[attr-defined]
        Register.PaymentReversed,  # type: ignore[attr-defined]
        Register.Adjusted,  # type: ignore[attr-defined]
        Register.CreditApplied,  # type: ignore[attr-defined]
        Register.CreditReleased,  # type: ignore[attr-defined]
        Register.CreditTransferred,  # type: ignore[attr-defined]
        Register.FactsChanged,  # type: ignore[attr-defined]
        Register.ExemptionRecorded,  # type: ignore[attr-defined]
    )
)
MAX_NAME_WORDS = 6  # Vietnamese full names run to five or six words
# a line (or a statement's chunk) whose save meets another writer's events is matched
# again, from storage, at most this many times in all
CONFLICT_RETRIES = 3
# a line may be dated at most this many days after today (a weekend's transfer dated on
# the next working day); later is refused (docs/reconciliation.md)
FUTURE_GRACE_DAYS = 3
# and no earlier than this: a year 0001 or 1900 is a gateway's or an editor's default, and
# filed in a month no organisation existed in, its money would drop out of the roll-ups
EARLIEST_VALUE_DATE = date(2000, 1, 1)
# queues whose outgoing items' positions a process keeps (`_outgoing_positions`), at most
POSITIONS_LIMIT = 4096
# gateways whose own id names a payment link (which several transfers may pay), not one
# transfer: their notifications with different bank references are different lines
LINK_IDS = frozenset({"payos"})
# a bank's reversal recorded before its original (November's statement imported before
# October's) is found among the flagged lines dated up to this many days after it
REVERSAL_WINDOW_DAYS = 62


def fold(text: str) -> str:
    """Upper case, Vietnamese diacritics and punctuation dropped: how banks print names."""
    text = text.replace("đ", "d").replace("Đ", "D")
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(TOKEN.findall(plain.upper()))


def voucher_in(reference: str, text: str) -> bool:
    """A spending's voucher number printed in a bank line's text, as banks print it: case,
    spaces and punctuation aside ("UNC-0001" in "UNC0001", "unc 0001" or "UNC.0001"), and
    not inside a longer number ("UNC-00012"). Before 2026-11-24 "UNC0001" was not found,
    and the line was flagged while the spending stayed uncleared (a helper's check)."""
    runs = re.findall(r"[A-Z]+|[0-9]+", fold(reference))
    if not runs:
        return False
    pattern = r"(?<![0-9A-Z])" + " ?".join(re.escape(r) for r in runs) + r"(?![0-9A-Z])"
    return re.search(pattern, fold(text)) is not None


def note_early(index: AccountIndex | None, lines: Sequence[Any]) -> None:
    """Lines just booked on `index`'s account (each with `value_date` and `signed_amount`)
    that its opening holds, or will hold: dated before the opening's day, or any while
    there is none. Listed by day on the index in one event; with an opening, what they
    bring is taken back out of it, so the books' balance stays the bank's (they were
    counted twice: in the opening and as lines)."""
    if index is None:
        return
    days: dict[str, int] = {}
    for line in lines:
        day = str(line.value_date)[:10]
        if index.is_early(day):
            days[day] = days.get(day, 0) + int(line.signed_amount)
    if not days:
        return
    postings: list[Posting] = []
    signed = sum(days.values())
    on = str(index.opening["on"]) if index.opening is not None else None
    if index.opening is not None and signed:
        owner = str(index.opening["org"])
        bank, equity = bank_account(owner, index.number), acct(owner, "equity", "opening_balance")
        postings = (
            [debit(equity, signed), credit(bank, signed)]
            if signed > 0
            else [debit(bank, -signed), credit(equity, -signed)]
        )
    index.note_early(days, on, check_balanced(postings))


def bank_account(org: str, number: str) -> str:
    return acct(org, "assets", "bank", number.strip())


class MatchingCommands(RequestCommands):
    # -- recording ---------------------------------------------------------------
    def record_bank_transaction(self, fact: BankTransactionFact) -> tuple[BankTransaction, bool]:
        """Record a bank line or gateway notification once and match it.

        Returns the transaction and whether it was new (False: already recorded, nothing changed).
        """
        return self.record_bank_transactions([fact])[0]

    def record_bank_transactions(
        self, facts: Sequence[BankTransactionFact]
    ) -> list[tuple[BankTransaction, bool]]:
        """Record a notification's lines (a gateway may send several at once) all or none:
        every line is checked first, and the new ones are saved in one transaction.

        Returns each line's transaction and whether it was new. A line recorded before with
        another amount or direction is refused (`Conflict`): the same bank reference cannot
        be two transfers, and the first is kept."""
        now = today(self.clock)
        problems: list[LedgerError] = []
        for fact in facts:
            try:
                check_fact(fact, now)
            except InvalidInput as bad:
                problems.append(bad)
        if len(problems) == 1:
            raise problems[0]
        if problems:  # every bad line named, not the first only
            raise InvalidInput(
                "; ".join(p.message_vi for p in problems),
                "; ".join(p.message_en for p in problems),
                field=problems[0].field,
            )
        ids = [fact_id(f) for f in facts]
        for attempt in range(1, CONFLICT_RETRIES + 1):
            uow = UnitOfWork(self)
            made: dict[UUID, BankTransaction] = {}  # by line key, and by gateway key
            aliased: dict[UUID, BankTransaction] = {}  # gateway keys given to earlier lines
            out: list[tuple[BankTransaction, bool]] = []
            for fact, tx_id in zip(facts, ids, strict=True):
                own = transaction_id(fact.source, fact.external_id)
                gateway = not fact.source.startswith("statement")
                twice = made.get(tx_id) or (
                    (made.get(own) or aliased.get(own)) if gateway else None
                )
                if twice is not None:  # the same line twice in one notification
                    _check_same_line(twice, fact)
                    out.append((twice, False))
                    continue
                earlier, keyed = self._recorded_before(fact, tx_id)
                if earlier is not None:
                    _check_same_line(earlier, fact)
                    if not keyed:  # found by its bank reference only (another gateway's
                        # line, say): this gateway's id must find it too, next time
                        aliased[own] = earlier
                        uow.add(_alias(own, earlier.id))
                    out.append((earlier, False))
                    continue
                unreferenced = gateway and not (fact.reference or "").strip()
                printed = self._printed_line(uow, fact, own) if unreferenced else None
                if printed is not None:  # a statement, or another gateway, printed it
                    aliased[own] = printed
                    uow.add(_alias(own, printed.id))
                    out.append((printed, False))
                    continue
                heard = self._heard_without_reference(uow, fact, tx_id) if gateway else None
                if heard is not None:  # another gateway reported it without the reference
                    aliased[own] = heard
                    uow.add(_alias(own, heard.id))
                    out.append((heard, False))
                    continue
                made[tx_id] = tx = self.match_line(uow, fact, tx_id)
                if unreferenced:
                    self._note_unreferenced(uow, fact, tx_id)
                elif gateway:
                    self._note_printed(uow, fact, tx_id)
                alias = notification_id(fact)
                if alias is not None and not self._named_before(alias):
                    made[alias] = tx
                    uow.add(_alias(alias, tx_id))
                out.append((tx, True))
            if not made and not aliased:
                return out
            try:
                self.save(*uow.pending())
            except RecordConflictError:
                if attempt == CONFLICT_RETRIES:
                    raise
                # Another writer recorded events on what these lines read: most often the
                # same notification, sent again at once and taken by another worker. Look
                # again from storage; nothing of this try was stored or kept.
                continue
            self.keep_saved(uow)
            self._look_again_after_save([tx for tx, new in out if new])
            return out
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _look_again_after_save(self, lines: list[BankTransaction]) -> None:
        """Look again, after the save, for what another worker recorded at the same time
        that these new lines should have met: a line and its bank reversal, or a line and
        the payment the treasurer recorded by hand under its reference (`pay --channel
        bank`). Each writer looked for the other before saving, neither found it, and
        they write nothing in common, so both saves succeeded: the reversal flagged as an
        unexplained outflow beside the payment it undid, or the line held in suspense
        beside the payment it is, the money counted twice (a helper's race tests,
        2026-11-24). Whichever of the two saved last sees the other now and links them,
        as when they come one after the other (`reversal_recorded_before`,
        `held_by_payment`); if both do, one loses on a version and finds it done."""
        for tx in lines:
            try:
                if tx.direction == "in" and tx.reversed_by is None:
                    self.reversal_recorded_before(tx.id, None)
                    if tx.reference and tx.suspense is not None:
                        self.held_by_payment(tx.id, tx.reference)
                elif tx.direction == "out" and tx.suspense is not None and tx.suspense["flagged"]:
                    original = self._reversed_line(UnitOfWork(self), tx)
                    if original is not None:
                        self.reversal_recorded_before(original.id, None)
            except RecordConflictError:
                continue  # the other worker linked them at the same moment

    @staticmethod
    def _note_unreferenced(uow: UnitOfWork, fact: BankTransactionFact, tx_id: UUID) -> None:
        """A gateway's line without the bank's reference, listed by account and day for the
        statement that will print it with one (`UnreferencedLines`)."""
        day = fact.value_date[:10]
        key = unreferenced_id(fact.account_number, day)
        lines = uow.get(key, UnreferencedLines)
        if lines is None:
            lines = UnreferencedLines(number=fact.account_number.strip(), day=day)
            uow.add(lines)
        lines.add(str(tx_id), fact.direction, fact.amount, fact.narrative)

    @staticmethod
    def _note_printed(uow: UnitOfWork, fact: BankTransactionFact, tx_id: UUID) -> None:
        """A gateway's line with the bank's reference, listed by account and day as a
        statement's are (`PrintedLines`): another gateway watching the account may report
        the same transfer without the reference (`_printed_line`)."""
        day = fact.value_date[:10]
        key = printed_lines_id(fact.account_number, day)
        line = [[str(tx_id), fact.direction, fact.amount]]
        lines = uow.get(key, PrintedLines)
        if lines is None:
            uow.add(PrintedLines(number=fact.account_number.strip(), day=day, lines=line))
        else:
            lines.add(line)

    @staticmethod
    def _heard_without_reference(
        uow: UnitOfWork, fact: BankTransactionFact, tx_id: UUID
    ) -> BankTransaction | None:
        """The line another gateway reported without the bank's reference that this
        gateway's line with it (keyed `tx_id`) is: on the same account and value date, of
        the same direction and amount, one memo within the other, and not claimed by
        another line (`UnreferencedLines.claim`, in `uow`; its claim under `tx_id` finds
        it again, as a statement's does). A line of the same gateway is another transfer
        (its own id differs). Before 2026-11-24 the two were two lines: a member whose
        transfer SePay reported with its reference and Casso without paid twice (a
        helper's check)."""
        ref = (fact.reference or "").strip()
        if not ref or not fact.reference_is_key:
            return None
        lines = uow.get(
            unreferenced_id(fact.account_number, fact.value_date[:10]), UnreferencedLines
        )
        if lines is None:
            return None
        claimed = lines.claimed_by(str(tx_id))
        if claimed is not None:  # a third gateway's report of a line claimed before
            return uow.get(UUID(claimed), BankTransaction)
        said = fold(fact.narrative)
        for key, narrative in lines.unclaimed(fact.direction, fact.amount):
            other = fold(narrative)
            if not said or not other or not _within(said, other):
                continue
            line = uow.get(UUID(key), BankTransaction)
            if (
                line is None
                or line.source == fact.source
                or line.account_number.strip() != fact.account_number.strip()
            ):
                continue
            lines.claim(key, str(tx_id))
            uow.add(alias_for(claimed_id(tx_id), line.id))  # for a reversal citing it
            return line
        return None

    @staticmethod
    def _printed_line(
        uow: UnitOfWork, fact: BankTransactionFact, own: UUID
    ) -> BankTransaction | None:
        """The line a statement imported before printed, that this gateway's line without
        the bank's reference (keyed `own`, the gateway's id) is: on the same account and
        value date, of the same direction and amount, whose narrative is the gateway's or
        holds it (as `_unreferenced` takes a statement's line as a gateway's, the other way
        round), and that no other gateway line took. Taken (`PrintedLines.take`, in `uow`):
        two members sending the same amount with the same memo on one day stay two lines.
        Of several that fit, the first the statement printed. None: no statement printed it (or it was
        imported before 2026-11-24, when statements began to be listed so)."""
        day = fact.value_date[:10]
        printed = uow.get(printed_lines_id(fact.account_number, day), PrintedLines)
        said = fold(fact.narrative)
        if printed is None or not said:
            return None
        keys = printed.untaken(fact.direction, fact.amount)
        if not keys:
            return None
        lines = uow.load_many([UUID(k) for k in keys], BankTransaction)
        for key in keys:
            line = lines.get(UUID(key))
            if line is None or line.account_number.strip() != fact.account_number.strip():
                continue
            if line.source.startswith("statement"):
                same = f" {said} " in f" {fold(line.narrative)} "
            else:  # another gateway's (`_note_printed`); the same gateway's is another transfer
                same = line.source != fact.source and _within(said, fold(line.narrative))
            if same:
                printed.take(key, str(own))
                return line
        return None

    def _named_before(self, own: UUID) -> bool:
        """Whether the gateway's id `own` already names a line (another transfer under the
        same payment link, with its own bank reference: `_unless_another_transfer`)."""
        return (
            self.get_or_none(own, NotificationAlias) is not None
            or self.get_or_none(own, BankTransaction) is not None
        )

    def _recorded_before(
        self, fact: BankTransactionFact, tx_id: UUID
    ) -> tuple[BankTransaction | None, bool]:
        """The line already recorded for `fact`, and whether the gateway's own id finds it.
        The line: under its key; or, for a gateway's notification, under the gateway's own
        id, directly (an earlier delivery without a bank reference) or through the alias
        an earlier delivery keyed by its reference left (`NotificationAlias`): the same
        notification is one line, whatever a later delivery says of its reference or
        account. Not found by its own id (False): a line found by its bank reference that
        another gateway, or another notification, reported; the caller writes the alias."""
        found = self.get_or_none(tx_id, BankTransaction)
        if fact.source.startswith("statement"):
            return found, True
        own = transaction_id(fact.source, fact.external_id)
        if own != tx_id:
            at_own = self.get_or_none(own, BankTransaction)
            if at_own is not None:
                return found or _unless_another_transfer(at_own, fact), True
        elif found is not None:
            return found, True
        alias = self.get_or_none(own, NotificationAlias)  # the gateway's id given to a line
        if alias is not None:
            line = self.get_or_none(UUID(alias.transaction), BankTransaction)
            return found or _unless_another_transfer(line, fact), True
        return found, own == tx_id

    def match_line(
        self, uow: UnitOfWork, fact: BankTransactionFact, tx_id: UUID
    ) -> BankTransaction:
        """Build a new line's events in `uow` (the caller saves)."""
        tx = BankTransaction.record(
            tx_id, recorded_at=self.clock.now().isoformat(), **fact.as_dict()
        )
        uow.add(tx)
        owner = self._owner(uow, tx)
        if tx.direction == "in":
            self._match_incoming(uow, tx, owner)
            if owner is not None and (tx.reference or "").strip():
                self._reversed_before(uow, tx, owner)
        else:
            self._match_outgoing(uow, tx, owner)
        if owner is not None and not uow.batch:  # a statement's lines: by chunk, if at all
            note_early(uow.get(account_index_id(tx.account_number), AccountIndex), [tx])
        return tx

    def _owner(self, uow: UnitOfWork, tx: BankTransaction) -> str | None:
        key = account_index_id(tx.account_number)
        # one-line commands keep the index between them: until its first statement an
        # account's index takes an event per line (`note_early`), and loading it again
        # each time cost about 4 ms a webhook line (profiled, 2026-11-24)
        index = uow.get(key, AccountIndex) if uow.batch else self.get_kept(uow, key, AccountIndex)
        return index.owner(tx.bin_code) if index is not None else None

    # -- incoming -----------------------------------------------------------------
    def collects_for(self, uow: UnitOfWork, owner: str, receiver: str) -> bool:
        """Whether money `receiver` recorded by bank arrives in `owner`'s accounts: its own,
        or, for a branch without an active account of its own, those of the organisation
        above that collects for it (where its requests ask members to pay). Before
        2026-11-24 only the branch's own accounts were looked at: a payment the branch
        recorded by hand stayed beside the committee's line, counted twice."""
        if receiver == owner:
            return True
        org = uow.get(org_id(receiver), Organisation)
        if org is None or org.active_accounts(self.today_iso()):
            return False
        collector = self._collector(org)
        return collector is not None and collector["org"] == owner

    def _match_incoming(self, uow: UnitOfWork, tx: BankTransaction, owner: str | None) -> None:
        for code in find_codes(tx.narrative):
            request = uow.get(request_id(code), PaymentRequest)
            if request is None or not paid_into_target(request, tx):
                continue
            if request.kind in KINDS:
                self._settle(uow, request, tx)
                return
            if request.kind == "remittance":
                self._remittance_arrived(uow, request, tx)
                return
            if request.kind == "deposit" and request.in_transit() > 0:
                self._deposit_arrived(uow, request, tx)
                return
        if owner is None:  # an account nobody registered: booked when it is
            return self._wait(uow, tx)
        paid = self._paid_by_hand(uow, tx, owner)
        if paid is not None:
            paid.seen_on_bank(str(tx.id))
            postings = hand_cleared(
                owner, paid.branch_code, bank_account(owner, tx.account_number), tx.amount
            )
            return tx.clear("payment", paid.reference, {"side": "in"}, postings)
        proposal = self._propose(uow, tx, owner)
        self._hold_in_suspense(uow, tx, owner, proposal)

    def _paid_by_hand(
        self, uow: UnitOfWork, tx: BankTransaction, owner: str, reference: str | None = None
    ) -> Payment | None:
        """A payment the treasurer recorded as arriving by bank (`pay --channel bank
        --reference R`) that this line shows: R is the line's bank reference, and the
        amount and the organisation whose account it reached are the payment's. Before,
        the line went to suspense: the money was counted twice (a helper's check;
        docs/reconciliation.md promised the line clears it). `reference`: the one a
        statement printed for a gateway's line that had none (`held_by_payment`)."""
        reference = (reference or tx.reference or "").strip()
        if not reference:
            return None
        # as printed, or typed in capitals or in lower case (a helper's check: typed
        # `ft26328557`, the line's `FT26328557` did not find it)
        for key in reference_cases(reference):
            payment = uow.get(payment_id(key), Payment)
            if (
                payment is not None
                and payment.channel == "bank"
                and payment.amount == tx.amount
                and self.collects_for(uow, owner, payment.branch_code)
                and payment.reversed_by is None
                and payment.cleared_by is None
            ):
                return payment
        return None

    def _settle(self, uow: UnitOfWork, request: PaymentRequest, tx: BankTransaction) -> None:
        """Apply the transfer to the request's members; a share that cannot be applied (the
        member left, say) is held with the rest, so the money is always recorded."""
        status = request.status(self.clock.now())
        channel = "bank" if request.kind == "member" else request.kind
        branch = collector(request)  # whose account it reached: the branch's, or its committee's
        bank = bank_account(branch, tx.account_number)
        shares: list[list[Any]] = []
        refused: list[str] = []
        for (member, periods, _), share in zip(
            request.items, self._shares(uow, request, tx.amount), strict=True
        ):
            if not share:
                left = uow.member(member).ended_from if request.kind != "member" else None
                if left is not None and any(p >= left for p in periods):  # why it is held
                    refused.append(f"{member}: left the party list from {left}")
                continue
            ref = f"{request.code}:{tx.external_id}:{member}"
            try:
                self.prepare_payment(  # type: ignore[attr-defined]
                    uow,
                    member,
                    share,
                    channel=channel,
                    reference=ref,
                    months=self._named_months(uow, request, member, periods),
                    received_by=branch,
                    paid_from=bank,
                    value_date=tx.value_date,
                )
            except LedgerError as e:
                refused.append(f"{member}: {e.message_en}")
                continue
            shares.append([member, share, ref])
        held = tx.amount - sum(int(s[1]) for s in shares)
        postings = check_balanced(
            [debit(bank, held), credit(acct(branch, "liabilities", "suspense"), held)]
        )
        uow.receive_on_request(
            request, str(tx.id), tx.amount, tx.value_date, status, shares, held, postings
        )
        (tx.match_new if uow.batch else tx.match)(
            "request", request.code, {"status_at_receipt": status, "held": held, "refused": refused}
        )
        if held:  # the treasurer splits it, like any money in suspense
            queue, item = self._queue_item(uow, branch, tx, held)
            why = "refused" if refused else "excess"
            uow.note_on_queue(queue, item, {"request": request.code, "why": why})

    def _named_months(
        self, uow: UnitOfWork, request: PaymentRequest, member: str, periods: list[str]
    ) -> list[str] | None:
        """A batch pays the months it names (those still owed); a member's own request pays
        oldest first, as any payment."""
        if request.kind == "member":
            return None
        owed = {
            i[1] for i in self.unpaid_items(self.member_registers(uow, uow.member(member)), member)
        }
        named = [p for p in periods if p in owed]
        return named or None

    def _shares(self, uow: UnitOfWork, request: PaymentRequest, amount: int) -> list[int]:
        """A member's request takes everything (the excess is credit); a batch pays what each
        member still owes under it (less, if they paid some of its months otherwise since
        it was made), in full or in proportion if short; the rest is held."""
        if request.kind == "member":
            return [amount]
        owed = self.still_owed(uow, request)
        if amount >= sum(owed) or sum(owed) == 0:
            return owed
        return split_largest_remainder(amount, owed)

    def _remittance_arrived(
        self, uow: UnitOfWork, request: PaymentRequest, tx: BankTransaction
    ) -> None:
        """Rule 2: the parent's line for a child's remittance."""
        child, periods, _ = request.items[0]
        parent, period = request.branch_code, periods[0]
        bank = bank_account(parent, tx.account_number)
        remittance = uow.get(remittance_id(child, period), Remittance)
        transfer = remittance.transfer(request.code) if remittance else None
        if remittance is None or transfer is None:
            return self._hold_in_suspense(uow, tx, parent, None)
        take = min(tx.amount, int(transfer["amount"]) - int(transfer.get("received", 0)))
        if take <= 0:  # all of it arrived already: this is more money, unexplained
            self._hold_in_suspense(uow, tx, parent, None)
            queue = self._queue(uow, parent, tx.value_date)
            held = queue.item_for(str(tx.id))
            if held is not None:
                uow.note_on_queue(
                    queue, held["id"], {"request": request.code, "why": "already received"}
                )
            return None
        excess = tx.amount - take
        percent = self.policy().book.retained_percent(self.get_org(parent).org_type, period)
        retained, payable = split_retained(take, percent)
        postings = receipt_postings(child, parent, bank, take, retained, payable)
        postings += [debit(bank, excess), credit(acct(parent, "liabilities", "suspense"), excess)]
        remittance.receive(
            reference=request.code,
            amount=take,
            received_on=tx.value_date,
            transaction=str(tx.id),
            parent_retained_percent=str(percent),
            parent_retained=retained,
            parent_payable=payable,
            postings=check_balanced(postings),
        )
        status = request.status(self.clock.now())
        request.receive(str(tx.id), tx.amount, tx.value_date, status, [], excess, [])
        tx.match("remittance", request.code, {"child": child, "period": period, "held": excess})
        if excess:
            queue, item = self._queue_item(uow, parent, tx, excess)
            uow.note_on_queue(queue, item, {"request": request.code, "why": "excess"})
        return None

    def _clear(
        self,
        uow: UnitOfWork,
        request: PaymentRequest,
        tx: BankTransaction,
        side: str,
        counter_account: str,
        org: str,
    ) -> None:
        """The line shows a transfer the books already hold: move it onto the account."""
        bank = bank_account(org, tx.account_number)
        if side == "in":
            postings = [debit(bank, tx.amount), credit(counter_account, tx.amount)]
        else:
            postings = [debit(counter_account, tx.amount), credit(bank, tx.amount)]
        # the postings on the line's `Cleared`, dated by the bank (on the request's event
        # they were dated when recorded: a statement imported a month late put them in the
        # wrong month; a helper's check)
        request.see(side, str(tx.id), tx.amount, [])
        tx.clear(request.kind, request.code, {"side": side}, check_balanced(postings))

    def _deposit_arrived(
        self, uow: UnitOfWork, request: PaymentRequest, tx: BankTransaction
    ) -> None:
        """A cash deposit's line: it clears what it carries, up to what is still in transit
        (the rest of a deposit stays in transit for a later line, and shows there); money
        beyond the deposit waits in suspense for the treasurer. Before 2026-11-24 the
        first line cleared the whole deposit whatever its amount. A branch without an
        account deposits into the committee's that collects for it (the slip's code names
        it): the money is the committee's, held for the branch (`due_to`/`due_from`), and
        an excess waits in the committee's suspense. Before 2026-11-24 it was booked to the
        branch's "bank" at an account it does not hold (a helper's CLI check)."""
        org, owner = request.branch_code, collector(request)
        # One line may carry several slips' codes (cash for two slips paid in at once): what
        # the first leaves clears the next, in the order printed. Before 2026-11-24 the rest
        # waited in suspense while the other slip stayed in transit for good (a helper's
        # CLI check): until `suspense resolve --code` (2026-11-24), nothing resolved an
        # item to a deposit.
        taken: list[list[Any]] = []
        left, still = tx.amount, 0
        for r in [request, *self._more_deposits(uow, request, tx)]:
            take = min(left, r.in_transit())
            if take <= 0:
                break
            r.see("in", str(tx.id), take, [])  # the postings dated by the line, as `_clear`
            taken.append([r.code, take])
            left, still = left - take, still + r.in_transit()
        take, excess = tx.amount - left, left
        bank = bank_account(owner, tx.account_number)
        postings = [
            debit(bank, tx.amount),
            credit(acct(org, "assets", "deposits_in_transit"), take),
            credit(acct(owner, "liabilities", "suspense"), excess),
        ]
        if owner != org:  # the branch's cash, now the committee's bank money held for it
            postings += [
                credit(acct(owner, "liabilities", "due_to", org), take),
                debit(acct(org, "assets", "due_from", owner), take),
            ]
        detail: dict[str, Any] = {"side": "in"}
        if len(taken) > 1 or take != request.total or excess:
            detail |= {"cleared": take, "held": excess, "in_transit": still}
        if len(taken) > 1:
            detail["deposits"] = taken
        tx.clear(request.kind, request.code, detail, check_balanced(postings))
        if excess:
            queue, item = self._queue_item(uow, owner, tx, excess)
            uow.note_on_queue(queue, item, {"request": request.code, "why": "excess"})

    def _more_deposits(
        self, uow: UnitOfWork, request: PaymentRequest, tx: BankTransaction
    ) -> list[PaymentRequest]:
        """The other deposits of `request`'s organisation whose codes the line carries
        after its own, still in transit and into this account."""
        out = []
        for code in find_codes(tx.narrative):
            other = uow.get(request_id(code), PaymentRequest) if code != request.code else None
            if (
                other is not None
                and other.kind == "deposit"
                and other.branch_code == request.branch_code
                and other.in_transit() > 0
                and paid_into_target(other, tx)
            ):
                out.append(other)
        return out

    # -- proposals (rule 3) -----------------------------------------------------------
    def _propose(self, uow: UnitOfWork, tx: BankTransaction, owner: str) -> dict[str, Any] | None:
        """The one member and months this money would pay, if exactly one fits."""
        index = self._name_index(uow, owner)
        words = fold(tx.narrative).split()
        named: dict[tuple[str, str], str] = {}
        for n in range(1, MAX_NAME_WORDS + 1):
            for i in range(len(words) - n + 1):
                phrase = " ".join(words[i : i + n])
                for how, table in (("code", index["codes"]), ("name", index["names"])):
                    for key in table.get(phrase, ()):
                        named.setdefault(key, how)
        # a month is proposed for one line of a statement or notification: the next line
        # for the same member fits the months still left (before, both were proposed for
        # one month, and the second could never be confirmed; a helper's check)
        proposed: set[tuple[str, str]] = uow.cache.setdefault("proposed", set())
        fits: dict[tuple[str, tuple[str, ...]], str] = {}
        for (branch, code), how in named.items():
            register = uow.get(register_id(branch), Register)
            rec = register.members.get(code) if register is not None else None
            if rec is None or rec["until"] is not None:
                continue
            own = [i for i in rec["unpaid"] if i[0] == branch and (code, i[1]) not in proposed]
            for months in _fitting_months(own, tx.amount):
                fits[(code, months)] = how
        if len(fits) != 1:
            return None
        ((member, months), how), *_ = fits.items()
        proposed.update((member, m) for m in months)
        return {"member": member, "months": list(months), "amount": tx.amount, "by": how}

    def _name_index(self, uow: UnitOfWork, owner: str) -> dict[str, dict[str, list[Any]]]:
        """Folded member codes and names under `owner` -> (branch, member), built once per
        unit of work (names and codes do not change while a statement is matched)."""
        key = f"names/{owner}"
        if key not in uow.cache:
            uow.cache[key] = self._kept_name_index(uow, owner)
        index: dict[str, dict[str, list[Any]]] = uow.cache[key]
        return index

    def _kept_name_index(self, uow: UnitOfWork, owner: str) -> dict[str, dict[str, list[Any]]]:
        """The name index, kept between commands: notifications arrive one line at a time,
        and building it reads every organisation and register under the owner (half a
        second for a committee of 8,000 members). It is reused in the same month while no
        organisation under the owner has recorded any event (the tree may have changed)
        and no register among them has recorded one that changes who is on it or under
        what code or name: one query for the topics of their events since (payments and
        assessments, which keep it, are the usual ones). A proposal is still checked
        against the member's register as it is now."""
        period = self.current_period()
        kept = self.derived.get(f"names/{owner}")
        if kept is not None and kept[0] == period:
            versions: dict[UUID, int] = kept[1]
            newer = self.reader.topics_after(versions)
            if all(topic in NAME_INDEX_KEEPS for _, _, topic in newer):
                if newer:
                    versions = dict(versions)
                    for i, version, _ in newer:
                        versions[i] = max(versions[i], version)
                    self.keep_derived(f"names/{owner}", (period, versions, kept[2]))
                index: dict[str, dict[str, list[Any]]] = kept[2]
                return index
        visited: dict[UUID, int] = {}
        ids = [register_id(b.code) for b in self.branches(period, owner, visited)]
        registers = uow.load_many(ids, Register)
        codes: dict[str, list[Any]] = {}
        names: dict[str, list[Any]] = {}
        for register in registers.values():
            for code, rec in register.members.items():
                if rec["until"] is None:
                    who = (register.branch_code, code)
                    codes.setdefault(fold(code), []).append(who)
                    names.setdefault(fold(rec["name"]), []).append(who)
        index = {"codes": codes, "names": names}
        # The stored versions: changes this unit of work has not saved yet are checked
        # next time, once saved (or never, if the save fails).
        built = {
            i: registers[i].version - len(registers[i].pending_events) if i in registers else 0
            for i in ids
        }
        self.keep_derived(f"names/{owner}", (period, visited | built, index))
        return index

    # -- outgoing -------------------------------------------------------------------
    def _wait(self, uow: UnitOfWork, tx: BankTransaction) -> None:
        """A line on an account nobody registered (at its bank): recorded, in no books, and
        listed for the account, so that registering it books the line (`book_waiting`)."""
        waiting = uow.get(waiting_lines_id(tx.account_number), WaitingLines)
        if waiting is None:
            waiting = WaitingLines(number=tx.account_number)
            uow.add(waiting)
        waiting.add(str(tx.id), tx.bin_code)

    def book_waiting(self, uow: UnitOfWork, number: str, org_code: str) -> int:
        """The lines recorded on `number` before `org_code` registered it, matched now as if
        they came today (held in its suspense, or flagged): how many. Lines naming another
        bank that holds the same number keep waiting for that bank's account."""
        waiting = uow.get(waiting_lines_id(number), WaitingLines)
        index = uow.get(account_index_id(number), AccountIndex)
        if index is None:
            return 0
        if waiting is None:
            waiting = WaitingLines(number=number)
            uow.add(waiting)
        # Always an event on the list, even with nothing to book: a notification that read
        # the index before this registration and is adding a line to the list now fails
        # its save on the list's version, and looks again (then books it itself).
        ids = [UUID(t) for t, bin_code in waiting.lines if index.owner(bin_code) == org_code]
        txs = sorted(
            uow.load_many(ids, BankTransaction).values(),
            key=lambda t: (t.value_date, t.recorded_at),
        )
        for tx in txs:
            if tx.matched is None and tx.suspense is None:  # still in nobody's books
                if tx.direction == "out":
                    self._match_outgoing(uow, tx, org_code)
                    continue
                self._match_incoming(uow, tx, org_code)
                if (tx.reference or "").strip():  # its reversal may have been booked first
                    self._reversed_before(uow, tx, org_code)
        waiting.booked([str(i) for i in ids], org_code)
        note_early(index, [t for t in txs if t.matched is not None or t.suspense is not None])
        return len(txs)

    def _match_outgoing(self, uow: UnitOfWork, tx: BankTransaction, owner: str | None) -> None:
        if owner is None:
            return self._wait(uow, tx)
        original = self._reversed_line(uow, tx)
        if original is not None and self._reverse(uow, tx, original, owner):
            return
        for code in find_codes(tx.narrative):
            request = uow.get(request_id(code), PaymentRequest)
            if request is None:
                continue
            if (
                request.kind == "remittance"
                and request.items[0][0] == owner
                and 0 < tx.amount <= request.uncleared("out")
            ):  # a remittance sent in parts: each part's line clears what it carried (before
                # 2026-11-24 only a line of the whole amount did, and the parts were flagged
                # with nothing to explain them: a helper's CLI check)
                return self._clear(uow, request, tx, "out", acct(owner, "assets", "bank"), owner)
            if "out" in request.seen or request.total != tx.amount:
                continue
            if (
                request.kind == "refund"
                and tx.account_number == request.target["account_number"]
                and request.cancelled_at is None  # (cancelled before that was refused)
            ):
                due = acct(owner, "liabilities", "refunds_due")
                return self._clear(uow, request, tx, "out", due, owner)
        org = uow.get(org_id(owner), Organisation)
        if org is not None:
            words = f"{tx.narrative} {tx.reference or ''}"
            for reference, amount in org.spending.items():
                if (
                    amount == tx.amount
                    and org.spending_uncleared(reference)
                    and voucher_in(reference, words)
                ):
                    bank = bank_account(owner, tx.account_number)
                    org.clear_spending(reference, str(tx.id), [])  # postings dated by the line
                    tx.clear(
                        "spending",
                        reference,
                        {"side": "out"},
                        check_balanced(
                            [debit(acct(owner, "assets", "bank"), amount), credit(bank, amount)]
                        ),
                    )
                    return None
        self._hold_in_suspense(uow, tx, owner, None)
        return None

    @staticmethod
    def _claimed_line(uow: UnitOfWork, key: UUID) -> BankTransaction | None:
        """The gateway line a statement line keyed `key` claimed, if one did (a line a
        gateway reported without its reference lives under the gateway's key: its
        statement reference found nothing, so the bank's reversal of it was flagged, a
        review found)."""
        alias = uow.get(claimed_id(key), NotificationAlias)
        return None if alias is None else uow.get(UUID(alias.transaction), BankTransaction)

    def held_by_payment(self, line: UUID, reference: str) -> None:
        """A gateway's line held in suspense for want of a reference, now printed by the
        statement with `reference`: if a payment was recorded by hand under it (`pay
        --channel bank`), the line is that payment's money. The item is resolved as it
        (its money moves from suspense onto the payment's uncleared bank money), and the
        payment is seen on the bank. Before, the payment stayed uncleared beside the held
        line: counted twice (a helper's property test)."""
        uow = UnitOfWork(self)
        tx = uow.get(line, BankTransaction)
        if (
            tx is None
            or tx.direction != "in"
            or tx.matched is not None
            or tx.suspense is None
            or tx.suspense["flagged"]
        ):
            return
        owner = str(tx.suspense["org"])
        payment = self._paid_by_hand(uow, tx, owner, reference)
        if payment is None:  # the usual case: the queue is not read (a whole day's items)
            self.keep_saved(uow)  # what it read through `get_kept`, kept for the next line
            return
        queue, item = self._held_item(uow, owner, tx)
        if queue is None or item is None or item["resolution"] is not None:
            return
        payment.seen_on_bank(str(tx.id))
        postings = hand_cleared(
            owner, payment.branch_code, acct(owner, "liabilities", "suspense"), tx.amount
        )
        queue.resolve(str(item["id"]), "payment", {"reference": payment.reference}, postings)
        self.save(*uow.pending())
        self.keep_saved(uow)

    def _reversed_line(self, uow: UnitOfWork, tx: BankTransaction) -> BankTransaction | None:
        """An earlier incoming line on this account, for this amount, dated no later, whose
        bank reference this line cites (in its narrative or as its own reference)."""
        for candidate in reversal_candidates(tx.account_number, tx.narrative, tx.reference):
            found = uow.get(candidate, BankTransaction) or self._claimed_line(uow, candidate)
            if (
                found is not None
                and found.id != tx.id
                and found.direction == "in"
                and found.amount == tx.amount
                and found.reversed_by is None
                # the bank cannot take money back before it arrived
                and found.value_date[:10] <= tx.value_date[:10]
            ):
                return found
        return None

    def _reverse(
        self,
        uow: UnitOfWork,
        tx: BankTransaction,
        original: BankTransaction,
        owner: str,
        unflag: list[Posting] | None = None,
    ) -> bool:
        """Undo what `original` settled; False (the line is then flagged) where the ledger
        cannot undo it by itself: a remittance or deposit it cleared, a payment whose
        credit can no longer be found (neither held nor spent on the member's months), or
        a batch's excess the treasurer has resolved. `unflag`: the postings taking back
        `tx`'s flag, where it was flagged before `original` was recorded."""
        bank = bank_account(owner, tx.account_number)
        suspense = acct(owner, "liabilities", "suspense")
        matched, held = original.matched, original.suspense
        uow.flush()  # what this chunk batched on the request, rolls and registers comes first
        # postings of money leaving suspense or refunds_due go on this line's `Cleared`,
        # dated by the bank; on the queue's or request's event they were dated when
        # recorded, so a statement imported a month late booked them in the wrong month
        # (a helper's check)
        moved: list[Posting] = []
        if matched is not None and matched["how"] == "request":
            request = uow.get(request_id(matched["target"]), PaymentRequest)
            transfer = (
                next(
                    (t for t in request.transfers if t["transaction_id"] == str(original.id)), None
                )
                if request is not None
                else None
            )
            if request is None or transfer is None:
                return False
            payments = [uow.get(payment_id(ref), Payment) for _, _, ref in transfer["shares"]]
            if not all(p is not None and self._reversible(uow, p) for p in payments):
                return False
            if transfer["held"]:  # what it left in suspense must still be there to give back
                _, item = self._held_item(uow, collector(request), original)
                if item is None or item["resolution"] is not None:
                    return False
            for p in payments:
                assert p is not None
                self._reverse_payment(uow, p, tx)
            if transfer["held"]:
                moved += self._release_held(
                    uow, collector(request), original, tx, int(transfer["held"])
                )
            request.reverse(str(original.id), str(tx.id), original.amount)
        elif matched is not None and matched["how"] == "payment":
            # a payment recorded by hand as paid by bank, which the line cleared: undone as
            # a request's payment is, and the clearing with it (the money leaves the bank
            # account the line reached). Before, the reversal was flagged (a known limit).
            payment = uow.get(payment_id(str(matched["target"])), Payment)
            if payment is None or not self._reversible(uow, payment):
                return False
            self._reverse_payment(uow, payment, tx)
            moved += swapped(hand_cleared(owner, payment.branch_code, bank, original.amount))
        elif held is not None and matched is None:
            queue, item = self._held_item(uow, owner, original)
            if queue is None or item is None:
                return False
            resolution = item["resolution"]
            if resolution is None:
                queue.resolve(item["id"], "reversed", {"by": str(tx.id)}, [])
                moved += [debit(suspense, tx.amount), credit(bank, tx.amount)]
            elif resolution["how"] in ("member", "members"):
                references = (
                    [resolution["payment"]]
                    if resolution["how"] == "member"
                    else [p["payment"] for p in resolution["payments"]]
                )
                found = [uow.get(payment_id(r), Payment) for r in references]
                shares = [p for p in found if p is not None and self._reversible(uow, p)]
                if len(shares) != len(references):
                    return False  # a share already used or undone: for the treasurer
                for payment in shares:
                    self._reverse_payment(uow, payment, tx, pay_back=bank)
                # the item says so: it read "paid for M4" after the bank took the money back
                # (a helper's check)
                uow.note_on_queue(queue, item["id"], {"reversed_by": str(tx.id)})
            elif resolution["how"] == "refund":
                # the money went back to the payer: that is the refund (a helper's check
                # found it flagged, the refund still owed, and paid out again later)
                refund = uow.get(request_id(str(resolution.get("reference"))), PaymentRequest)
                if (
                    refund is None
                    or refund.kind != "refund"
                    or "out" in refund.seen
                    or refund.total != tx.amount
                ):
                    return False
                refund.see("out", str(tx.id), tx.amount, [])
                moved += [debit(acct(owner, "liabilities", "refunds_due"), tx.amount)]
                moved += [credit(bank, tx.amount)]
            else:
                return False
        else:
            return False
        original.mark_reversed(str(tx.id))
        moved += unflag or []
        tx.clear("reversal", str(original.id), {"side": "out"}, check_balanced(moved))
        return True

    def reversal_recorded_before(self, line: UUID, key: UUID | None) -> None:
        """`line`, recorded before without the bank's reference (a gateway's), is now
        known under `key` (a statement's line printing the reference claimed it): a
        flagged reversal citing that reference undoes it, as `_reversed_before` does for a
        new line (a helper's check: the later statement imported first left it paid)."""
        uow = UnitOfWork(self)
        tx = uow.get(line, BankTransaction)
        if tx is None or tx.direction != "in" or tx.reversed_by is not None:
            return
        owner = self._owner(uow, tx)
        if owner is not None and self._reversed_before(uow, tx, owner, key):
            self.save(*uow.pending())
        self.keep_saved(uow)  # the queues it read, for the next line (`get_kept`)

    def _reversed_before(
        self, uow: UnitOfWork, tx: BankTransaction, owner: str, key: UUID | None = None
    ) -> bool:
        """The bank's reversal of `tx` (a new incoming line), recorded before it: an
        outgoing line flagged then for want of anything to undo (November's statement
        imported before October's, or a day's lines exported newest first) that cites
        `tx`'s reference, for its amount, dated no earlier and within
        REVERSAL_WINDOW_DAYS. It now undoes `tx` as if recorded after it; its flag is
        taken back and its suspense item resolved (`how` `reversal`). Before, the member
        stayed paid for money the bank took back (a known limit until 2026-11-24).
        `key`: another key the line is known by. Whether it was undone."""
        for line, queue, item in self._flagged_citing(uow, tx, owner, key):
            if line.matched is not None or line.reversed_by is not None:
                continue
            bank = bank_account(owner, line.account_number)
            unflag = [
                debit(bank, line.amount),
                credit(acct(owner, "assets", "unexplained_outflow"), line.amount),
            ]
            if self._reverse(uow, line, tx, owner, unflag):
                queue.resolve(str(item["id"]), "reversal", {"original": str(tx.id)}, [])
                uow.notes[tx.id] = "reversed"
                return True
        return False

    def _flagged_citing(
        self, uow: UnitOfWork, tx: BankTransaction, owner: str, key: UUID | None = None
    ) -> list[tuple[BankTransaction, SuspenseQueue, dict[str, Any]]]:
        """`owner`'s open flagged outgoing lines that may reverse `tx`: citing its
        reference, for its amount, on its account, dated from its day to
        REVERSAL_WINDOW_DAYS after. Read from the suspense queues of those days once per
        command and indexed by amount (a statement's chunk asks for every incoming line:
        a lookup each); the lines of an amount are read when a line of it asks."""
        day = tx.value_date[:10]
        last = (date.fromisoformat(day) + timedelta(days=REVERSAL_WINDOW_DAYS)).isoformat()
        index = uow.cache.setdefault(
            f"flagged_out:{owner}", {"days": set(), "by_amount": {}, "items": set()}
        )
        if day not in index["days"]:
            days = self.get_kept(uow, days_id(owner), SuspenseDays)
            for d in sorted(set(days.days) if days is not None else ()):
                if day <= d <= last and d not in index["days"]:
                    index["days"].add(d)
                    queue = self.get_kept(uow, queue_id(owner, d), SuspenseQueue)
                    if queue is None:
                        continue
                    for n in self._outgoing_positions(uow, queue):
                        if queue.items[n]["resolution"] is None:
                            _index_flagged(index, queue, queue.items[n])
            index["days"].add(day)
        entries = [
            e
            for e in index["by_amount"].get(tx.amount, ())
            if day <= e[0] <= last and e[2]["resolution"] is None
        ]
        if not entries:
            return []
        # the lines of this amount, read once: what each may reverse (a webhook reads a few,
        # not every flagged line of the window, as a first version did)
        unread = [UUID(str(e[2]["transaction"])) for e in entries if e[3] is None]
        lines = uow.load_many(unread, BankTransaction) if unread else {}
        for e in entries:
            if e[3] is None:
                line = lines.get(UUID(str(e[2]["transaction"])))
                e[3] = (
                    set(reversal_candidates(line.account_number, line.narrative, line.reference))
                    if line is not None
                    else set()
                )
        # the key its reference gives it (a line keyed by content still prints it)
        keys = {tx.id} | ({key} if key is not None else set())
        ref = (tx.reference or "").strip().upper()
        if ref:
            keys.add(transaction_id(account_key(tx.account_number, "in"), ref))
        out = []
        for _, queue, item, cited in entries:
            if not keys & cited:
                continue
            line = uow.get(UUID(str(item["transaction"])), BankTransaction)
            if (
                line is not None
                and line.amount == tx.amount
                and line.account_number.strip() == tx.account_number.strip()
                and line.suspense is not None
                and line.suspense["flagged"]
            ):
                out.append((line, queue, item))
        return out

    def _outgoing_positions(self, uow: UnitOfWork, queue: SuspenseQueue) -> list[int]:
        """Where `queue`'s outgoing items are in its list, read from the items not read
        before: stored items are only ever appended, so a webhook does not walk a large
        day's queue again (each read every item of 62 days' queues: 11 ms a line, not 8,
        after the bench's 200,000-line statement). Kept only for a queue as stored (no
        item of this command in it: a command that fails never saves its items)."""
        with self._derived_lock:
            seen, positions = self.outgoing_positions.get(queue.id, (0, []))
        items = queue.items
        if seen > len(items):  # (a stored queue never shrinks; a guard, not a path)
            seen, positions = 0, []
        positions = positions + [
            n for n in range(seen, len(items)) if items[n]["direction"] == "out"
        ]
        if queue.pending_events or queue.id in uow.queue_items:
            return positions
        with self._derived_lock:
            self.outgoing_positions.pop(queue.id, None)
            self.outgoing_positions[queue.id] = (len(items), positions)
            while len(self.outgoing_positions) > POSITIONS_LIMIT:
                del self.outgoing_positions[next(iter(self.outgoing_positions))]
        return positions

    @staticmethod
    def _note_flagged(uow: UnitOfWork, org: str, queue: SuspenseQueue, item_id: str) -> None:
        """A line flagged in this command joins the index `_flagged_citing` built, if it
        built one (whatever days it read: a helper found a line flagged on a day not read
        yet, then skipped when its day was taken as read): a day's lines exported newest
        first show the reversal first."""
        index = uow.cache.get(f"flagged_out:{org}")
        if index is not None:
            _index_flagged(index, queue, queue.item(item_id))

    def _release_held(
        self, uow: UnitOfWork, org: str, original: BankTransaction, tx: BankTransaction, held: int
    ) -> list[Posting]:
        """The part of a transfer held in suspense, given back by the reversal: the item
        resolved, and its postings (for the reversal's `Cleared`)."""
        queue, item = self._held_item(uow, org, original)
        if queue is None or item is None or item["resolution"] is not None:
            return []
        queue.resolve(item["id"], "reversed", {"by": str(tx.id)}, [])
        bank = bank_account(org, tx.account_number)
        return [debit(acct(org, "liabilities", "suspense"), held), credit(bank, held)]

    def _reversible(self, uow: UnitOfWork, payment: Payment) -> bool:
        if payment.reversed_by is not None:
            return False
        member = uow.member(payment.member_code)
        register = uow.get(register_id(member.branch_code), Register)
        credit_now = 0 if register is None else int(register.record(payment.member_code)["credit"])
        _, moved = self._still_in_months(uow, payment)
        need = payment.to_credit + sum(int(m[2]) for m in moved)
        if need <= credit_now:
            return True
        # credit spent on the member's months (opening them, or `use_credit`) can be given
        # back for this
        return need <= credit_now + self.releasable_credit(uow, member)

    def _still_in_months(
        self, uow: UnitOfWork, payment: Payment
    ) -> tuple[list[list[Any]], list[list[Any]]]:
        """What of the payment is still in the months it paid (`[branch, period, amount]`),
        and what a re-assessment's refund has since moved from them to the member's credit
        (`[branch, period, amount, the branch whose credit it became]`):
        a month holds no more money from payments than it was paid less what credit pays."""
        rolls = uow.load_many([roll_id(b, p) for b, p, _ in payment.applied], Roll)
        still: list[list[Any]] = []
        moved: list[list[Any]] = []
        for b, p, take in payment.applied:
            roll = rolls.get(roll_id(b, p))
            row = roll.lines.get(payment.member_code) if roll is not None else None
            if roll is None or row is None:
                still.append([b, p, int(take)])
                continue
            from_credit = sum(a for a, _ in roll.credit_parts(payment.member_code))
            left = min(int(take), max(int(row["paid"]) - from_credit, 0))
            if left:
                still.append([b, p, left])
            if int(take) > left:  # with the branch whose credit the refund became
                moved.append([b, p, int(take) - left, str(row.get("refund_to", b))])
        return still, moved

    def _reverse_payment(
        self, uow: UnitOfWork, payment: Payment, tx: BankTransaction, pay_back: str | None = None
    ) -> None:
        """Months owed again, credit removed, allocations undone; the money leaves the
        account it came into (or `pay_back`, where it came from suspense)."""
        uow.flush()  # payments batched on its rolls and registers are recorded first
        by = str(tx.id)
        on = min(tx.value_date[:10], today(self.clock).isoformat())
        member = uow.member(payment.member_code)
        h = member.branch_code
        home = uow.get(register_id(h), Register)
        credit_now = 0 if home is None else int(home.record(member.code)["credit"])
        # a cut since refunded part of it to credit: that part is taken back from credit
        still, moved = self._still_in_months(uow, payment)
        need = payment.to_credit + sum(int(m[2]) for m in moved)
        if need > credit_now:  # its credit paid months since: take it back
            self.release_credit(uow, member, need - credit_now, by)
        for register in self.member_registers(uow, member):
            own = [a for a in still if a[0] == register.branch_code]
            credit_here = need if register.branch_code == h else 0
            if own or credit_here:
                register.reverse_payment(member.code, payment.reference, own, credit_here)
        rolls = uow.load_many([roll_id(b, p) for b, p, _ in still], Roll)
        for b, p, take in still:
            rolls[roll_id(b, p)].reverse_payment(member.code, int(take), payment.reference)
        postings = swapped(payment.postings)
        for b, _p, amount, to in moved:  # undo the refund: the month keeps it, credit gives
            postings += swapped(refund_postings(b, to, member.code, int(amount)))
            if to != h:  # ... and each move of that credit since, as for its own credit
                for old, new in _moves(member, to):
                    postings += swapped(credit_transfer_postings(old, new, member.code, amount))
        credited_at = prepaid_branch(payment.postings, payment.member_code, "C")
        if payment.to_credit and credited_at not in (None, member.branch_code):
            # the member has moved since, and the credit with them (`CreditTransferred`,
            # branch to branch): it is taken back where it is now, each move undone
            assert credited_at is not None
            for old, new in _moves(member, credited_at):
                postings += swapped(
                    credit_transfer_postings(old, new, member.code, payment.to_credit)
                )
        if pay_back is not None:  # it was paid from suspense: that money now leaves the bank
            suspense = acct(payment.branch_code, "liabilities", "suspense")
            postings += [debit(suspense, payment.amount), credit(pay_back, payment.amount)]
        payment.reverse(by, check_balanced(postings), on)
        uow.add(payment)
        owed_again: dict[tuple[str, str], int] = {}
        for b, p, take in still:
            owed_again[(b, p)] = owed_again.get((b, p), 0) + int(take)
        self.use_credit(uow, member, owed_again, by)

    # -- suspense ---------------------------------------------------------------------
    def _hold_in_suspense(
        self,
        uow: UnitOfWork,
        tx: BankTransaction,
        org: str | None,
        proposal: dict[str, Any] | None,
    ) -> None:
        """Unexplained money through a registered account goes into its organisation's books:
        incoming to suspense (so the bank balance agrees with the statement), outgoing
        flagged. Money through an account nobody registered stays recorded, unbooked."""
        if org is None:
            return
        bank, suspense = bank_account(org, tx.account_number), acct(org, "liabilities", "suspense")
        if tx.direction == "in":
            postings = [debit(bank, tx.amount), credit(suspense, tx.amount)]
        else:
            postings = [
                debit(acct(org, "assets", "unexplained_outflow"), tx.amount),
                credit(bank, tx.amount),
            ]
        hold = tx.hold_new if uow.batch else tx.hold
        hold(org, tx.direction == "out", check_balanced(postings))
        queue, item = self._queue_item(uow, org, tx, tx.amount)
        if tx.direction == "out":
            self._note_flagged(uow, org, queue, item)
        if proposal is not None:
            uow.note_on_queue(queue, item, {"proposal": proposal})
            uow.notes[tx.id] = "proposed"

    def _queue(self, uow: UnitOfWork, org: str, value_date: str) -> SuspenseQueue:
        """`org`'s queue for the line's value date (started, and listed, if new)."""
        day = value_date[:10]
        queue = self.get_kept(uow, queue_id(org, day), SuspenseQueue)
        if queue is None:
            queue = SuspenseQueue(org_code=org, day=day)
            uow.add(queue)
            days = uow.get(days_id(org), SuspenseDays)
            if days is None:
                days = SuspenseDays(org_code=org)
                uow.add(days)
            days.add(day)
        return queue

    def _queue_item(
        self, uow: UnitOfWork, org: str, tx: BankTransaction, amount: int
    ) -> tuple[SuspenseQueue, str]:
        queue = self._queue(uow, org, tx.value_date)
        item = uow.add_to_queue(
            queue, str(tx.id), tx.direction, amount, tx.value_date, tx.narrative
        )
        return queue, item

    def still_held(self, tx: BankTransaction) -> bool:
        """Whether `tx`'s suspense item (the line, or the excess of a matched line) still
        waits for the treasurer: not resolved."""
        uow = UnitOfWork(self)
        org: str | None = None
        if tx.suspense is not None:
            org = str(tx.suspense["org"])
        elif tx.matched is not None:  # held where the match put it: the request's collector
            request = uow.get(request_id(str(tx.matched.get("target", ""))), PaymentRequest)
            if request is not None:
                org = collector(request) if request.kind in KINDS else request.branch_code
        if org is None:
            org = self._owner(uow, tx)
        if org is None:
            return False
        _, item = self._held_item(uow, org, tx)
        return item is not None and item.get("resolution") is None

    def _held_item(
        self, uow: UnitOfWork, org: str, tx: BankTransaction
    ) -> tuple[SuspenseQueue | None, dict[str, Any] | None]:
        """The item that holds `tx` in `org`'s suspense: in the queue of its value date, or
        (held before queues were kept by day) in the organisation's queue without a day."""
        for queue_key in (queue_id(org, tx.value_date[:10]), queue_id(org)):
            queue = self.get_kept(uow, queue_key, SuspenseQueue)
            item = queue.item_for(str(tx.id)) if queue is not None else None
            if queue is not None and item is not None:
                return queue, item
        return None, None


def _moves(member: Member, since: str) -> list[tuple[str, str]]:
    """The branch-to-branch moves of the member (and their credit) after their last time at
    `since`, in order; one move from `since` if the history does not show it."""
    chain = [b for _, b in member.branches]
    if since not in chain:
        return [(since, member.branch_code)]
    chain = chain[len(chain) - 1 - chain[::-1].index(since) :]
    return [(a, b) for a, b in itertools.pairwise(chain) if a != b]


def hand_cleared(owner: str, receiver: str, source: str, amount: int) -> list[Posting]:
    """The postings of a bank line (its money in `source`, an account of `owner`'s: the
    bank account, or suspense where it was held) clearing a payment `receiver` recorded by
    hand as bank money not yet seen (`receiver:assets:bank`). Where `owner` collects for
    `receiver` (a branch without an account), `owner` holds the money for it
    (due_to/due_from), as it does for its requests' payments."""
    if receiver == owner:
        return check_balanced(
            [debit(source, amount), credit(acct(owner, "assets", "bank"), amount)]
        )
    return check_balanced(
        [
            debit(source, amount),
            credit(acct(owner, "liabilities", "due_to", receiver), amount),
            debit(acct(receiver, "assets", "due_from", owner), amount),
            credit(acct(receiver, "assets", "bank"), amount),
        ]
    )


def _index_flagged(index: dict[str, Any], queue: SuspenseQueue, item: dict[str, Any]) -> None:
    """An open outgoing `item` of `queue`, by amount; what its line may reverse is read
    when a line of that amount asks (`_flagged_citing`)."""
    if item["id"] in index["items"]:
        return
    index["items"].add(item["id"])
    entry = [queue.day, queue, item, None]
    index["by_amount"].setdefault(int(item["amount"]), []).append(entry)


def reversal_candidates(account_number: str, narrative: str, reference: str | None) -> list[UUID]:
    """The ids of the incoming lines an outgoing line may reverse: each word of six or more
    letters and digits in its narrative or reference, as an incoming bank reference on the
    same account."""
    tokens = set(TOKEN.findall(f"{narrative} {reference or ''}".upper()))
    key = account_key(account_number, "in")
    return [transaction_id(key, t) for t in sorted(t for t in tokens if len(t) >= 6)]


def collector(request: PaymentRequest) -> str:
    """The organisation whose account the request asks money into."""
    return str(request.target.get("org") or request.branch_code)


def _fitting_months(unpaid: list[list[Any]], amount: int) -> list[tuple[str, ...]]:
    """How `amount` pays exactly what a member owes: the oldest months first (as any
    payment is applied), or else the one month owing exactly that much."""
    ordered = sorted(unpaid, key=lambda i: i[1])
    total = 0
    for k, item in enumerate(ordered):
        total += int(item[2])
        if total == amount:
            return [tuple(i[1] for i in ordered[: k + 1])]
        if total > amount:
            break
    return [(i[1],) for i in ordered if int(i[2]) == amount]


def _within(one: str, other: str) -> bool:
    """Whether either folded memo holds the other, word for word: two gateways print the
    same bank line with more or less of the bank's text around the memo."""
    return bool(one and other) and (f" {one} " in f" {other} " or f" {other} " in f" {one} ")


def alias_for(key: UUID, line: UUID) -> NotificationAlias:
    """A `NotificationAlias` under `key` naming the line `line`."""
    return _alias(key, line)


def _alias(key: UUID, line: UUID) -> NotificationAlias:
    """A gateway's own key for a line recorded under another key (`NotificationAlias`)."""
    recorded = NotificationAlias.Recorded  # type: ignore[attr-defined]
    return create_new(NotificationAlias, recorded, key, transaction=str(line))


def _unless_another_transfer(
    earlier: BankTransaction | None, fact: BankTransactionFact
) -> BankTransaction | None:
    """`earlier`, the line the gateway's id named, unless `fact` is another transfer: the
    gateway's id names a payment link, not a transfer (payOS: a link may be paid by
    several transfers), and both print a bank reference that differs (a helper's check
    found the second taken for a retry of the first and dropped). A retry that adds or
    drops the reference is still the same notification; SePay's and Casso's ids name
    one transfer, so for them a changed reference is the same line too."""
    if earlier is None or fact.source not in LINK_IDS:
        return earlier
    said, had = (fact.reference or "").strip().upper(), (earlier.reference or "").strip().upper()
    return None if said and had and said != had else earlier


def _check_same_line(earlier: BankTransaction, fact: BankTransactionFact) -> None:
    if earlier.account_number != fact.account_number:
        raise Conflict(
            f"Giao dịch {fact.external_id!r} đã ghi vào tài khoản {earlier.account_number}; "
            f"thông báo này ghi tài khoản {fact.account_number}: giữ bản ghi đầu, cần kiểm tra",
            f"Transaction {fact.external_id!r} was recorded on account "
            f"{earlier.account_number}; this notification says {fact.account_number}: "
            "the first is kept; look into it",
            field="account",
        )
    if (earlier.direction, earlier.amount) == (fact.direction, fact.amount):
        return
    vi_dir = {"in": "tiền vào", "out": "tiền ra"}
    same = earlier.external_id == fact.external_id
    what_vi = (
        f"Giao dịch {fact.external_id!r} đã ghi"
        if same
        else f"Giao dịch {fact.external_id!r} trùng mã ngân hàng với {earlier.external_id!r}, đã ghi"
    )
    what_en = (
        f"Transaction {fact.external_id!r} was recorded as"
        if same
        else f"Transaction {fact.external_id!r} has the bank reference of "
        f"{earlier.external_id!r}, recorded as"
    )
    raise Conflict(
        f"{what_vi} {vi_dir.get(earlier.direction, earlier.direction)} {earlier.amount:,} đ; "
        f"thông báo này ghi {vi_dir.get(fact.direction, fact.direction)} {fact.amount:,} đ: "
        "giữ bản ghi đầu, cần kiểm tra",
        f"{what_en} {earlier.direction} {earlier.amount:,} đ; this notification says "
        f"{fact.direction} {fact.amount:,} đ: the first is kept; look into it",
        field="amount",
    )


def check_fact(fact: BankTransactionFact, today: date) -> None:
    """A line the ledger can record: in or out, a positive amount, an id, and a value
    date no later than `FUTURE_GRACE_DAYS` after today (Vietnam time): a bank may date a
    weekend's transfer on the next working day, but a line dated later is a typo in a
    hand-edited file or a wrong clock, and it would be filed in a month not yet opened."""
    if fact.direction not in ("in", "out") or fact.amount <= 0 or not fact.external_id:
        raise InvalidInput(
            f"Giao dịch ngân hàng không hợp lệ: {fact.external_id!r}",
            f"Invalid bank transaction: {fact.external_id!r} (direction, amount and id are required)",
            field="transaction",
        )
    if fact.amount > MAX_DONG:
        raise too_large(f"amount ({fact.external_id})", fact.amount)
    try:  # the line is filed (suspense, reports) under its value date
        day = date.fromisoformat(str(fact.value_date)[:10])
    except ValueError:
        raise InvalidInput(
            f"Ngày giao dịch không hợp lệ: {fact.value_date!r} ({fact.external_id!r})",
            f"Invalid value date {fact.value_date!r} on {fact.external_id!r} (YYYY-MM-DD)",
            field="value_date",
        ) from None
    if day > today + timedelta(days=FUTURE_GRACE_DAYS):
        raise InvalidInput(
            f"Giao dịch {fact.external_id!r} có ngày {day:%d/%m/%Y}, sau hôm nay "
            f"({today:%d/%m/%Y}) hơn {FUTURE_GRACE_DAYS} ngày: kiểm tra lại ngày",
            f"Transaction {fact.external_id!r} is dated {day.isoformat()}, more than "
            f"{FUTURE_GRACE_DAYS} days after today ({today.isoformat()}): check its date",
            field="value_date",
        )
    if day < EARLIEST_VALUE_DATE:
        raise InvalidInput(
            f"Giao dịch {fact.external_id!r} có ngày {day:%d/%m/%Y}, trước "
            f"{EARLIEST_VALUE_DATE:%d/%m/%Y}: kiểm tra lại ngày",
            f"Transaction {fact.external_id!r} is dated {day.isoformat()}, before "
            f"{EARLIEST_VALUE_DATE.isoformat()}: check its date",
            field="value_date",
        )
