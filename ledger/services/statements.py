"""Importing a bank statement, and reconciling an organisation's accounts against the books.

Rule: the statement's account must be a registered account of the
organisation; the file is read and checked whole before anything is recorded
(the reader rejects bad files), and each line goes through the same matching
as a gateway notification, keyed the same way, so importing the same file
twice, or an overlapping one, records each line once. Lines are matched in
file order and saved in chunks (one transaction each), so a large statement
costs a few queries per thousand lines, not per line; an import cut off half
way is completed by importing the file again.

The first statement imported for an account gives the ledger that account's
opening balance (the balance before its first line). Reconciling compares,
for each registered account, the last imported statement's closing balance
with the ledger's balance for that account on the same date, and lists the
differences: lines the ledger holds that no statement showed, and lines
whose printed balance does not follow from the line before (a line missing
from the file).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from ledger.account_index import (
    AccountIndex,
    PrintedLines,
    UnreferencedLines,
    account_index_id,
    printed_lines_id,
    unreferenced_id,
)
from ledger.bank_transaction import (
    BankTransaction,
    NotificationAlias,
    alternate_id,
    claimed_id,
    fact_id,
    reference_cases,
    same_content,
)
from ledger.clock import today
from ledger.errors import InvalidInput, NotFound
from ledger.ids import member_id, payment_id, register_id, roll_id
from ledger.loading import gc_paused
from ledger.member import Member
from ledger.payment import Payment
from ledger.payment_request import KINDS, PaymentRequest, request_id
from ledger.ports import BankTransactionFact
from ledger.postings import acct, check_balanced, credit, debit
from ledger.reference_code import find_codes
from ledger.register import Register
from ledger.roll import Roll
from ledger.services.base import UnitOfWork
from ledger.services.matching import (
    CONFLICT_RETRIES,
    MatchingCommands,
    alias_for,
    bank_account,
    check_fact,
    fold,
    note_early,
    reversal_candidates,
)

CHUNK = 40_000  # lines matched and saved per transaction (docs/operations.md)


def last_closing_day(statements: list[dict[str, Any]]) -> str | None:
    """The latest day a statement with a closing balance ends on."""
    return max((str(s["last"]) for s in statements if s["closing"] is not None), default=None)


def day_end_statement(
    statements: list[dict[str, Any]], ledger_balance: int | None = None
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The statement whose closing balance the account is reconciled against, and the other
    statements ending the same day that printed a different closing balance.

    Of the statements with a closing balance, those ending on the latest day. If some of
    them printed the ledger's own balance at the end of that day (`ledger_balance`), one
    of those: two exports of one day that do not overlap (morning, then afternoon) both
    end on it, and only the later one's closing is the day's. Then the one with the most
    lines on that day (a whole day's export over a part of it, in whichever order they
    were imported), then the one imported last. Statements recorded before
    `last_day_lines` was kept count as none, so among them the newest import wins.
    """
    with_closing = [(i, s) for i, s in enumerate(statements) if s["closing"] is not None]
    if not with_closing:
        return None, []
    day = last_closing_day(statements)
    ending = [(i, s) for i, s in with_closing if str(s["last"]) == day]
    agreeing = [(i, s) for i, s in ending if s["closing"] == ledger_balance]
    # None agrees (a line missing from one of them): not one that another export of the
    # day carries on from (it starts that day at the balance it ends at), as a morning's
    # export is carried on by the afternoon's, whichever holds more lines
    last = [
        (i, s)
        for i, s in ending
        if not any(
            t is not s and t["opening"] == s["closing"] and str(t["first"]) == day
            for _, t in ending
        )
    ]
    pool = agreeing or last or ending
    _, chosen = max(pool, key=lambda p: (int(p[1].get("last_day_lines") or 0), p[0]))
    others = [s for _, s in ending if s is not chosen and s["closing"] != chosen["closing"]]
    return chosen, others


def typed_account_number(number: str | None) -> str | None:
    """An account number as a person typed it, as registered accounts hold it (letters and
    digits: `org account add`): without spaces, dots or dashes; None if nothing is left."""
    if number is None:
        return None
    return re.sub(r"[\s.\-]", "", number) or None


class StatementCommands(MatchingCommands):
    def statement_account(self, org_code: str, number: str | None) -> dict[str, Any]:
        """The registered account a statement is for (the only one, if not named). `number`
        as typed: spaces, dots and dashes (as banks print it: "1018 795 282") are dropped,
        as `org account add` stores letters and digits only; empty is not named."""
        number = typed_account_number(number)
        org = self.get_org(org_code)
        accounts = [a for a in org.accounts if number is None or a["account_number"] == number]
        if number is not None and not accounts:
            raise NotFound(
                f"Tài khoản {number} không phải tài khoản đã đăng ký của {org_code}",
                f"Account {number} is not a registered account of {org_code}",
                field="account",
            )
        if not accounts:
            raise NotFound(
                f"{org_code} chưa có tài khoản ngân hàng đã đăng ký; thêm bằng `org account add`",
                f"{org_code} has no registered bank account; add one with `org account add`",
                field="account",
            )
        if len(accounts) != 1:
            raise InvalidInput(
                f"{org_code} có {len(accounts)} tài khoản; chọn bằng --account",
                f"{org_code} has {len(accounts)} accounts; name one with --account",
                field="account",
            )
        return accounts[0]

    def import_statement(
        self,
        org_code: str,
        facts: list[BankTransactionFact],
        *,
        opening_balance: int | None = None,
        closing_balance: int | None = None,
        chunk: int = CHUNK,
    ) -> dict[str, Any]:
        """Record every line; returns counts: new, already, matched, proposed, suspense...,
        and `differing`: lines recorded before under the same key whose amount or
        direction this statement prints otherwise (the first record is kept; someone
        should look: the same bank reference cannot be two transfers)."""
        numbers = {f.account_number for f in facts}
        for number in numbers:
            self.statement_account(org_code, number)
        now = today(self.clock)
        for fact in facts:
            check_fact(fact, now)
        ids = [fact_id(f) for f in facts]
        first = self._mark_seen(list(dict.fromkeys(ids)), facts[0].source if facts else "")
        known = set(first)
        alternates = [
            alternate_id(f) if i not in known else None for f, i in zip(facts, ids, strict=True)
        ]
        others = {
            UUID(str(s.originator_id)): self.mapper.to_domain_event(s)
            for s in self.reader.first_events([a for a in alternates if a is not None])
        }
        claimed: list[UUID] = []
        for n, (fact, other) in enumerate(zip(facts, alternates, strict=True)):
            # recorded under its other key (an overlapping file, or an earlier release,
            # keyed it otherwise): the same line if it shows the same movement, and no
            # other line of this file took it (two identical transfers stay two)
            if other in others and other not in claimed and same_content(others[other], fact):
                ids[n] = other
                known.add(other)
                first[other] = others[other]
                claimed.append(other)
        claimed += self._unreferenced(facts, ids, known, first)
        if claimed:  # a gateway's line found so is shown on this statement too
            self._mark_heard({i: first[i] for i in claimed}, facts[0].source)
        differing = _differing(first, facts, ids)
        counts: Counter[str] = Counter()
        # a statement that gives the opening balance holds no line before it; one that
        # does not (no balance column) may, like a gateway's line
        early = opening_balance is None or len(numbers) != 1
        uow = UnitOfWork(self, batch=True)  # one event per roll and register per chunk
        # the collector paused: every chunk makes tens of thousands of objects that live
        # until its save, and it walked them again and again (200,000 lines took 140 s
        # with it, 75 s without; afterwards it found nothing to collect: no cycles leak)
        with gc_paused(), self.snapshots_at_the_end():
            new: list[tuple[BankTransactionFact, UUID]] = []
            for fact, tx_id in zip(facts, ids, strict=True):
                if tx_id in known:  # recorded before, or earlier in this file
                    counts["already"] += 1
                else:
                    known.add(tx_id)
                    new.append((fact, tx_id))
            for start in range(0, len(new), chunk):
                part = new[start : start + chunk]
                if start:  # the first chunk's were looked for with the whole file's
                    part = self._claim_unreferenced(part, facts[0].source, counts)
                for attempt in range(1, CONFLICT_RETRIES + 1):
                    try:
                        counts += self._import_chunk(uow, part, early)
                        break
                    except RecordConflictError:
                        if attempt == CONFLICT_RETRIES:
                            raise
                    # Another writer (a gateway's notification, say) recorded events on
                    # something this chunk read. Nothing of the chunk was stored: match it
                    # again from storage, without what the failed try changed in memory.
                    uow = UnitOfWork(self, batch=True)
                    self.drop_snapshots_for_later()
                    part = self._recorded_meanwhile(part, facts[0].source, counts)
        # only now, all saved and snapshotted: a later chunk's failed save must not leave a
        # kept copy, and the snapshots taken at the end read these objects
        self.keep_saved(uow)
        if facts and len(numbers) == 1:
            self._record_statement(org_code, facts, opening_balance, closing_balance, counts)
        keys = (
            "new",
            "already",
            "matched",
            "cleared",
            "reversed",
            "proposed",
            "suspense",
            "flagged",
            "held",
        )
        return {k: counts[k] for k in keys} | {"differing": differing}

    def _unreferenced(
        self,
        facts: list[BankTransactionFact],
        ids: list[UUID],
        known: set[UUID],
        first: dict[UUID, Any],
    ) -> list[UUID]:
        """New lines of this statement that a gateway reported first without the bank's
        reference (so under the gateway's own key): the line of that account and day with
        the same direction and amount whose narrative is the statement's, or within it (as
        banks print it), each taken once. Such a line was recorded a second time before
        2026-11-24 (a known limit). The claims are saved at once: importing the statement
        again finds each line by its claim. Returns the lines found; `ids`, `known` and
        `first` are updated."""
        wanted = [
            n
            for n, (f, i) in enumerate(zip(facts, ids, strict=True))
            if i not in known and (f.reference or "").strip()
        ]
        if not wanted:
            return []
        days = {unreferenced_id(facts[n].account_number, facts[n].value_date) for n in wanted}
        found = self.load_many(sorted(days), UnreferencedLines)
        if not found:  # the usual case: no gateway left a line without its reference
            return []
        taken: dict[int, str] = {}
        aliases: list[NotificationAlias] = []
        for n in wanted:
            f = facts[n]
            day = found.get(unreferenced_id(f.account_number, f.value_date))
            if day is None:
                continue
            key = str(ids[n])
            line = day.claimed_by(key)
            if line is None:
                words = f" {fold(f.narrative)} "
                line = next(
                    (
                        t
                        for t, text in day.unclaimed(f.direction, f.amount)
                        if fold(text) and f" {fold(text)} " in words
                    ),
                    None,
                )
                if line is None:
                    continue
                day.claim(line, key)
                # the statement's key finds it, for a reversal citing its reference
                aliases.append(alias_for(claimed_id(ids[n]), UUID(line)))
            taken[n] = line
        self.save(*(d for d in found.values() if d.pending_events), *aliases)
        events = {
            UUID(str(s.originator_id)): self.mapper.to_domain_event(s)
            for s in self.reader.first_events([UUID(t) for t in taken.values()])
        }
        out: list[UUID] = []
        for n, line in taken.items():
            tx, statement_key = UUID(line), ids[n]
            if tx in events and tx not in known:
                ids[n] = tx
                known.add(tx)
                first[tx] = events[tx]
                out.append(tx)
                # held for want of a reference: a payment recorded by hand under it?
                self.held_by_payment(tx, str(facts[n].reference))
                # and the bank's reversal of it, flagged before for want of its reference
                self.reversal_recorded_before(tx, statement_key)
        return out

    def _recorded_meanwhile(
        self, part: list[tuple[BankTransactionFact, UUID]], source: str, counts: Counter[str]
    ) -> list[tuple[BankTransactionFact, UUID]]:
        """After a chunk's save lost to another writer: the chunk's lines that writer did
        not record, the others counted as `already` (a line under its key; a gateway's
        line without the reference, `_claim_unreferenced`)."""
        recorded = set(self._mark_seen([tx_id for _, tx_id in part], source))
        counts["already"] += len(recorded)
        rest = [(fact, tx_id) for fact, tx_id in part if tx_id not in recorded]
        return self._claim_unreferenced(rest, source, counts)

    def _claim_unreferenced(
        self, part: list[tuple[BankTransactionFact, UUID]], source: str, counts: Counter[str]
    ) -> list[tuple[BankTransactionFact, UUID]]:
        """A chunk's lines less those a gateway notified without the bank's reference
        since the import began (under the gateway's key, in `UnreferencedLines`): claimed
        as at the start of the import and counted as `already`. Looked for before each
        chunk and each try: looking once at the start, a webhook recorded while an earlier
        chunk was matched, or racing this one's save, was recorded twice (a helper's race
        tests, 2026-11-24)."""
        ids = [tx_id for _, tx_id in part]
        first: dict[UUID, Any] = {}
        claimed = self._unreferenced([fact for fact, _ in part], ids, set(), first)
        if not claimed:
            return part
        self._mark_heard(first, source)
        counts["already"] += len(claimed)
        return [
            (fact, tx_id) for (fact, _), tx_id in zip(part, ids, strict=True) if tx_id not in first
        ]

    def _notified_meanwhile(self, part: list[tuple[BankTransactionFact, UUID]]) -> bool:
        """Whether a gateway line without the bank's reference that one of the chunk's new
        lines prints is listed (`UnreferencedLines`) and unclaimed: recorded since the
        chunk looked (`_claim_unreferenced`), so the chunk must be matched again. What is
        left open: one recorded between this look and the save (milliseconds; the save
        then waits on the event table's lock)."""
        wanted = [fact for fact, _ in part if (fact.reference or "").strip()]
        days = {unreferenced_id(f.account_number, f.value_date) for f in wanted}
        found = self.load_many(sorted(days), UnreferencedLines) if days else {}
        for f in wanted:
            day = found.get(unreferenced_id(f.account_number, f.value_date))
            if day is None:
                continue
            words = f" {fold(f.narrative)} "
            if any(
                fold(text) and f" {fold(text)} " in words
                for _, text in day.unclaimed(f.direction, f.amount)
            ):
                return True
        return False

    def _import_chunk(
        self, uow: UnitOfWork, part: list[tuple[BankTransactionFact, UUID]], early: bool
    ) -> Counter[str]:
        """Match one chunk's new lines and save them in one transaction; the counts.
        `early`: the statement prints no opening balance, so its lines dated before the
        account's opening are listed as the opening's (`note_early`)."""
        counts: Counter[str] = Counter()
        self._prefetch(uow, [fact for fact, _ in part])
        booked: dict[str, list[BankTransaction]] = {}
        for fact, tx_id in part:
            tx = self.match_line(uow, fact, tx_id)
            tx.fold()
            counts["new"] += 1
            outcome = _outcome(uow, tx)
            counts[outcome] += 1
            if tx.matched is not None and tx.matched.get("held"):
                counts["held"] += 1  # matched, but part of its money waits in suspense
            if early and outcome != "unbooked":
                booked.setdefault(tx.account_number, []).append(tx)
        for number, txs in booked.items():
            note_early(uow.get(account_index_id(number), AccountIndex), txs)
        self._index_printed(uow, part)
        if self._notified_meanwhile(part):
            # a webhook without the bank's reference recorded one of these lines while the
            # chunk was matched, touching nothing the chunk read: the save would not fail
            raise RecordConflictError("a gateway notified one of the chunk's lines meanwhile")
        self.save(*uow.pending())
        # each line's own: kept, they made every later chunk's `pending` and `forget` walk
        # every payment of the import so far
        uow.forget(BankTransaction, Payment)
        return counts

    @staticmethod
    def _index_printed(uow: UnitOfWork, part: list[tuple[BankTransactionFact, UUID]]) -> None:
        """List a chunk's new lines printed with a bank reference by account and day
        (`PrintedLines`), saved with them: a gateway's notification of one of them without
        the reference, arriving later, takes it instead of recording it again
        (`MatchingCommands._printed_line`). One event per account and day per chunk, each
        line as its key, direction and amount."""
        days: dict[tuple[str, str], list[list[Any]]] = {}  # by (number, day): not an id
        for fact, tx_id in part:  # per line, which cost 0.3 s per 40,000 lines
            if fact.source.startswith("statement") and (fact.reference or "").strip():
                at = (fact.account_number.strip(), fact.value_date[:10])
                days.setdefault(at, []).append([str(tx_id), fact.direction, fact.amount])
        ids = {at: printed_lines_id(*at) for at in days}
        found = uow.load_many(sorted(ids.values()), PrintedLines)
        for (number, day), lines in days.items():
            printed = found.get(ids[number, day])
            if printed is None:
                uow.add(PrintedLines(number=number, day=day, lines=lines))
            else:
                printed.add(lines)

    def _mark_seen(self, ids: list[UUID], source: str) -> dict[UUID, Any]:
        """The lines among `ids` already recorded, each with its first event (what it was
        recorded as); those a gateway reported first are marked as shown on this statement
        (once). Reads each recorded line's first event only, and loads the few that came
        from a gateway: a statement imported again (200,000 lines) costs seconds, not the
        minute that loading every line took."""
        first = {
            UUID(str(s.originator_id)): self.mapper.to_domain_event(s)
            for s in self.reader.first_events(ids)
        }
        self._mark_heard(first, source)
        return first

    def _mark_heard(self, first: dict[UUID, Any], source: str) -> None:
        """Of the recorded lines `first` (id: first event), those a gateway reported are
        marked as shown on this statement (once), where `source` is a statement's."""
        if not source.startswith("statement"):
            return
        heard = [
            i
            for i, event in first.items()
            if not str(getattr(event, "source", "")).startswith("statement")
        ]
        seen = self.load_many(heard, BankTransaction).values()
        for tx in seen:
            tx.seen_on_statement(source)
        self.save(*(tx for tx in seen if tx.pending_events))

    def _prefetch(self, uow: UnitOfWork, facts: list[BankTransactionFact]) -> None:
        """Load, in a few queries, what matching these lines will read: the requests their
        codes name, those requests' members, the members' registers and open rolls."""
        codes = {c for f in facts for c in find_codes(f.narrative)}
        # an outgoing line may reverse an earlier incoming one: one read for all of them,
        # not one per candidate word (found or known missing, `uow.get` asks no more)
        uow.load_many(
            [
                i
                for f in facts
                if f.direction == "out"
                for i in reversal_candidates(f.account_number, f.narrative, f.reference)
            ],
            BankTransaction,
        )
        uow.load_many(  # and the gateway lines a statement line claimed under such a key
            [
                claimed_id(i)
                for f in facts
                if f.direction == "out"
                for i in reversal_candidates(f.account_number, f.narrative, f.reference)
            ],
            NotificationAlias,
        )
        requests = uow.load_many([request_id(c) for c in sorted(codes)], PaymentRequest)
        # the payments settling them will be new: one query says which ids exist at all
        # (none, unless a reference was reused), so matching asks nothing more
        payments = [
            payment_id(f"{code}:{f.external_id}:{item[0]}")
            for f in facts
            for code in find_codes(f.narrative)
            if (r := requests.get(request_id(code))) is not None
            for item in r.items
        ]
        # a line without a code may show a payment recorded by hand (`_paid_by_hand`)
        payments += [
            payment_id(key)
            for f in facts
            if f.direction == "in" and (f.reference or "").strip() and not find_codes(f.narrative)
            for key in reference_cases(str(f.reference).strip())
        ]
        taken = {UUID(str(s.originator_id)) for s in self.reader.first_events(payments)}
        uow.load_many(sorted(taken), Payment)
        uow.missing.update(i for i in payments if i not in taken and i not in uow.loaded)
        members = {str(i[0]) for r in requests.values() if r.kind in KINDS for i in r.items}
        loaded = uow.load_many([member_id(c) for c in sorted(members)], Member)
        branches = {b for m in loaded.values() for _, b in m.branches}
        registers = uow.load_many([register_id(b) for b in sorted(branches)], Register)
        months = {
            (str(i[0]), str(i[1]))
            for m in loaded.values()
            for _, b in m.branches
            if (reg := registers.get(register_id(b))) is not None and m.code in reg.members
            for i in reg.members[m.code]["unpaid"]
        }
        uow.load_many([roll_id(b, p) for b, p in sorted(months)], Roll)

    def _record_statement(
        self,
        org_code: str,
        facts: list[BankTransactionFact],
        opening: int | None,
        closing: int | None,
        counts: Counter[str],
    ) -> None:
        number = facts[0].account_number
        index = self.get_or_none(account_index_id(number), AccountIndex)
        if index is None:  # registered accounts always have one; a guard, not a path
            return
        breaks = []
        previous = opening
        for fact in facts:
            if fact.balance is None:
                previous = None
                continue
            signed = fact.amount if fact.direction == "in" else -fact.amount
            if previous is not None and previous + signed != fact.balance:
                breaks.append(
                    {
                        "external_id": fact.external_id,
                        "value_date": fact.value_date,
                        "expected": previous + signed,
                        "printed": fact.balance,
                    }
                )
            previous = fact.balance
        dates = sorted(f.value_date[:10] for f in facts)
        lines_seen = "|".join(f"{f.source}/{f.external_id}" for f in facts)
        summary = {
            "digest": hashlib.sha256(lines_seen.encode()).hexdigest()[:24],
            "org": org_code,
            "source": facts[0].source,
            "first": dates[0],
            "last": dates[-1],
            "opening": opening,
            "closing": closing,
            "lines": len(facts),
            "last_day_lines": dates.count(dates[-1]),
            "new": counts["new"],
            "breaks": breaks,
        }
        same = ("digest", "org", "opening", "closing")
        if any(all(s.get(k) == summary[k] for k in same) for s in index.statements):
            return  # this statement again: nothing new to say about the account
        printed = {f.balance for f in facts if f.balance is not None}
        if opening is not None and (
            index.opening is None or _precedes(summary, index.opening, printed)
        ):
            _set_opening(index, org_code, number, summary)
        index.record_statement(summary)
        # A statement imported before may now come first: one that ends where the opening
        # now starts (the gap between them filled by this one). At most once each.
        for _ in range(len(index.statements)):
            earlier = next(
                (
                    s
                    for s in index.statements
                    if s["org"] == org_code
                    and s["opening"] is not None
                    and index.opening is not None
                    and _precedes(s, index.opening, None)
                ),
                None,
            )
            if earlier is None:
                break
            _set_opening(index, org_code, number, earlier)
        self.save(index)

    # -- reconciling -----------------------------------------------------------------
    def reconcile(self, org_code: str, lines: BankLines | None = None) -> dict[str, Any]:
        """What was matched, proposed and held, and each account's balance against its
        last statement. `lines`: where the accounts' bank lines are read; by default from
        the event log (every event read: the reference the read model is tested against;
        `Reads.reconcile` passes the read model's)."""
        org = self.get_org(org_code)
        numbers = sorted({a["account_number"] for a in org.accounts})
        source = lines if lines is not None else LoadedBankLines(self._transactions(set(numbers)))
        items = self.suspense_items(org_code)  # type: ignore[attr-defined]
        proposed = [i for i in items if i.get("proposal")]
        accounts = [self._account_report(org_code, a, source) for a in org.accounts]
        return {
            "org": org_code,
            "matched": dict(sorted(source.matched(numbers).items())),
            "proposed": proposed,
            "suspense": [i for i in items if not i.get("proposal") and i["direction"] == "in"],
            "flagged": [i for i in items if i["direction"] == "out"],
            "in_transit": self._in_transit_to(org_code),
            "accounts": accounts,
        }

    def _transactions(self, numbers: set[str]) -> list[BankTransaction]:
        ids = [
            e.originator_id
            for e in self.iter_events()  # type: ignore[attr-defined]
            if isinstance(e, BankTransaction.Recorded)  # type: ignore[attr-defined]
            and getattr(e, "account_number", None) in numbers
        ]
        found = self.load_many(ids, BankTransaction)
        return sorted(found.values(), key=lambda t: (t.value_date, t.recorded_at))

    def _account_report(
        self, org_code: str, account: dict[str, Any], source: BankLines
    ) -> dict[str, Any]:
        number = account["account_number"]
        index = self.get_or_none(account_index_id(number), AccountIndex)
        statements = [s for s in (index.statements if index else []) if s["org"] == org_code]
        opening = index.opening if index is not None else None
        as_of = last_closing_day(statements)
        covered = [(str(s["first"]), str(s["last"])) for s in statements]
        lines = source.account(number, as_of, covered, account["bin"])
        # the opening holds the lines dated before it, which the books hold too
        before = index.before(str(opening["on"])) if index is not None and opening else 0
        base = int(opening["amount"]) - before if opening else 0
        last, same_day = day_end_statement(statements, base + lines.signed_until)
        report: dict[str, Any] = {
            "account": number,
            "bin": account["bin"],
            "holder_kind": account["holder_kind"],
            "opening": opening,
            "before_opening": before,
            "lines": lines.count,
            "statements": len(statements),
        }
        if last is None or as_of is None:
            report.update(as_of=None, statement_closing=None, ledger_balance=None, difference=None)
        else:
            ledger = base + lines.signed_until
            report.update(
                as_of=as_of,
                statement_closing=last["closing"],
                ledger_balance=ledger,
                difference=int(last["closing"]) - ledger,
            )
        report["same_day_closings"] = [
            {k: s.get(k) for k in ("source", "first", "last", "lines", "closing")} for s in same_day
        ]
        report["not_on_statement"] = lines.not_on_statement
        report["balance_breaks"] = [
            b for s in statements if not _superseded(s, statements) for b in s["breaks"]
        ]
        report["reversed"] = lines.reversed
        return report

    def _in_transit_to(self, org_code: str) -> list[dict[str, Any]]:
        from ledger.ids import remittance_id
        from ledger.remittance import Remittance

        org = self.get_org(org_code)
        out = []
        for period in self.periods_of(org_code):  # type: ignore[attr-defined]
            ids = [remittance_id(c, period) for c in org.children_at(period)]
            for r in self.load_many(ids, Remittance).values():
                if r.parent_code == org_code and r.in_transit:
                    out.append({"child": r.org_code, "period": period, "amount": r.in_transit})
        return out


def _superseded(summary: dict[str, Any], statements: list[dict[str, Any]]) -> bool:
    """Whether a statement's balance breaks are explained by another statement: one that
    prints balances with no break of its own, covers at least the same days and holds more
    lines (the complete export of those days, the missing lines included, which the ledger
    recorded with it). Its breaks are then no longer listed as possible missing lines; a
    line still missing from the books shows as the difference."""
    if not summary["breaks"]:
        return False
    return any(
        t is not summary
        and not t["breaks"]
        and t["opening"] is not None
        and t["closing"] is not None
        and str(t["first"]) <= str(summary["first"])
        and str(t["last"]) >= str(summary["last"])
        and int(t.get("lines") or 0) > int(summary.get("lines") or 0)
        for t in statements
    )


def _precedes(summary: dict[str, Any], opening: dict[str, Any], printed: set[int] | None) -> bool:
    """Whether a statement shows lines before the account's opening balance: it starts
    on an earlier day; or on the same day, starting at another balance, and it ends
    where the opening starts (a morning's export imported after the afternoon's) or,
    holding lines recorded before, prints that balance after one of its lines
    (`printed`: the whole day's export after the afternoon's; lines all new that
    happen to return to that balance are not taken for it). Then the opening is the balance before it: imported in any
    order, statements that chain give the same ledger balance. A same-day statement
    that neither chains to the opening nor prints it (a line missing between them) is
    taken to follow it."""
    if str(summary["first"]) < str(opening["on"]):
        return True
    if str(summary["first"]) != str(opening["on"]) or summary["opening"] == opening["amount"]:
        return False
    overlaps = int(summary.get("new", 0)) < int(summary.get("lines", 0))  # holds known lines
    ends_there = str(summary["last"]) == str(opening["on"])  # not a later day, by chance
    return (ends_there and summary["closing"] == opening["amount"]) or (
        printed is not None and overlaps and opening["amount"] in printed
    )


def _set_opening(index: AccountIndex, org_code: str, number: str, summary: dict[str, Any]) -> None:
    """The account's opening: the balance before `summary`'s first line, posted against
    equity (the difference from the opening before, when it is moved back). The books
    hold the lines dated before it already (`AccountIndex.early`: a gateway's, or a
    statement's without balances), and the opening holds them too: what is posted is the
    opening less those, so the account's balance in the books is the bank's."""
    on, opening = str(summary["first"]), int(summary["opening"])
    was = 0
    if index.opening is not None:
        was = int(index.opening["amount"]) - index.before(str(index.opening["on"]))
    bank = bank_account(org_code, number)
    equity = acct(org_code, "equity", "opening_balance")
    delta = opening - index.before(on) - was
    postings = (
        [debit(bank, delta), credit(equity, delta)]
        if delta >= 0
        else [debit(equity, -delta), credit(bank, -delta)]
    )
    record = index.record_opening if index.opening is None else index.revise_opening
    record(org_code, on, opening, check_balanced(postings))


def _differing(
    first: dict[UUID, Any], facts: list[BankTransactionFact], ids: list[UUID]
) -> list[dict[str, Any]]:
    """The statement's lines recorded before under the same key with another amount or
    direction: what was recorded, and what this statement prints."""
    out = []
    for fact, tx_id in zip(facts, ids, strict=True):
        event = first.get(tx_id)
        if event is None:
            continue
        recorded = (str(getattr(event, "direction", "")), int(getattr(event, "amount", 0)))
        if recorded != (fact.direction, fact.amount):
            out.append(
                {
                    "external_id": fact.external_id,
                    "value_date": fact.value_date,
                    "recorded": {"direction": recorded[0], "amount": recorded[1]},
                    "statement": {"direction": fact.direction, "amount": fact.amount},
                }
            )
    return out


def _outcome(uow: UnitOfWork, tx: BankTransaction) -> str:
    if tx.matched is not None:
        how = tx.matched["how"]
        if how == "reversal":
            return "reversed"  # it undid an earlier line: not "cleared", which reads as fine
        return "matched" if how in ("request", "remittance") else "cleared"
    if tx.suspense is None:
        return "unbooked"
    if tx.suspense["flagged"]:
        return "flagged"
    return uow.notes.get(tx.id, "suspense")


def _line(t: BankTransaction) -> dict[str, Any]:
    return {
        "id": str(t.id),
        "source": t.source,
        "external_id": t.external_id,
        "value_date": t.value_date,
        "direction": t.direction,
        "amount": t.amount,
        "narrative": t.narrative,
    }


@dataclass
class AccountLines:
    """What `reconcile` reports of one account's bank lines."""

    count: int  # every line recorded on the account
    signed_until: int  # in minus out, of the lines dated on or before `as_of` (0 without one)
    not_on_statement: list[dict[str, Any]]  # a gateway's lines no statement showed, in its dates
    reversed: list[dict[str, Any]]  # lines the bank reversed


class BankLines(Protocol):
    """Where `reconcile` reads bank lines: the event log (`LoadedBankLines`), or the read
    model (`projections.bank.BankLinesReader`). Lists are ordered by value date, then
    by when the ledger recorded the line."""

    def matched(self, numbers: Sequence[str]) -> dict[str, int]:
        """How many lines on these accounts were matched or cleared, by how."""

    def account(
        self,
        number: str,
        as_of: str | None,
        covered: Sequence[tuple[str, str]],
        bank: str | None = None,
    ) -> AccountLines:
        """One account's lines: `covered` are the (first, last) days statements showed;
        `bank`: the account's bank (BIN), so a line a source said came through another
        bank's account of the same number is left out."""


class LoadedBankLines:
    """`BankLines` over loaded `BankTransaction` aggregates."""

    def __init__(self, txs: list[BankTransaction]) -> None:
        self.txs = txs

    def matched(self, numbers: Sequence[str]) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for t in self.txs:
            if t.account_number in numbers and t.matched is not None:
                counts[str(t.matched["how"])] += 1
        return dict(counts)

    def account(
        self,
        number: str,
        as_of: str | None,
        covered: Sequence[tuple[str, str]],
        bank: str | None = None,
    ) -> AccountLines:
        txs = [
            t
            for t in self.txs
            if t.account_number == number and (not bank or t.bin_code in (None, bank))
        ]
        return AccountLines(
            count=len(txs),
            signed_until=sum(t.signed_amount for t in txs if as_of and t.value_date[:10] <= as_of),
            not_on_statement=[
                _line(t)
                for t in txs
                if not t.source.startswith("statement")
                and t.on_statement is None
                and any(a <= t.value_date[:10] <= b for a, b in covered)
            ],
            reversed=[_line(t) for t in txs if t.reversed_by is not None],
        )
