"""The ledger application's shared machinery: clock, loading, the tree, the policy.

Rule: commands are short (load, call, save); everything they share lives here.
Loading many aggregates goes through the StoredEventReader port (one or two
queries for thousands of aggregates); the tree is walked level by level in the
shape it had in the month asked about.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import Recording, Transcoder

from ledger.account_index import AccountIndex, PrintedLines
from ledger.clock import Clock, SystemClock, today
from ledger.errors import NotFound
from ledger.identity import IdentityCipher
from ledger.ids import member_id, org_id, register_id, roll_id, roots_id
from ledger.loading import RecorderReader, StoredEventReader, load_many
from ledger.member import Member
from ledger.organisation import MEMBER_TYPES, Organisation, RootIndex
from ledger.payment_request import PaymentRequest
from ledger.period import Period, period_of
from ledger.policy import DuesPolicy
from ledger.policy_defaults import DEFAULT_POLICY
from ledger.postings import acct, credit_transfer_postings, debit, receivable_postings, swapped
from ledger.register import Register
from ledger.roll import Roll
from ledger.suspense import SuspenseDays, SuspenseQueue
from ledger.transcoding import LedgerTranscoder

A = TypeVar("A", bound=Aggregate)


class UnitOfWork:
    """Aggregates loaded for one command, so several steps change the same objects
    and everything is saved in one call (one transaction)."""

    def __init__(self, app: LedgerBase, *, batch: bool = False) -> None:
        self.app = app
        # `batch` (a statement import): each roll's and register's payments are recorded
        # as one event per save, not one per payment (`flush`)
        self.batch = batch
        self.roll_payments: dict[UUID, tuple[Roll, list[tuple[str, int, str]]]] = {}
        self.register_payments: dict[UUID, tuple[Register, list[list[Any]]]] = {}
        self.request_transfers: dict[UUID, tuple[PaymentRequest, list[list[Any]]]] = {}
        self.queue_items: dict[UUID, tuple[SuspenseQueue, dict[str, list[Any]]]] = {}
        self.loaded: dict[UUID, Aggregate] = {}
        self.notes: dict[UUID, str] = {}  # what a command noticed, for its caller's report
        self.cache: dict[str, Any] = {}  # things derived from what it loaded (an index, say)
        self.missing: set[UUID] = set()  # ids a bulk load found nothing for
        # aggregates to keep for the next command once saved, in the order first used
        self.kept: dict[UUID, None] = {}

    def get(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        cached = self.loaded.get(aggregate_id)
        if cached is not None:
            return cached if isinstance(cached, cls) else None
        if aggregate_id in self.missing:
            return None
        found = self.app.get_or_none(aggregate_id, cls)
        if found is not None:
            self.loaded[aggregate_id] = found
        return found

    def load_many(self, ids: Sequence[UUID], cls: type[A]) -> dict[UUID, A]:
        out = {i: a for i in ids if isinstance(a := self.loaded.get(i), cls)}
        missing = [i for i in ids if i not in self.loaded and i not in self.missing]
        if not missing:  # the usual case once a chunk is prefetched
            return out
        found = self.app.load_many(missing, cls)
        for i, a in found.items():
            self.loaded[i] = a
            out[i] = a
        self.missing.update(i for i in missing if i not in found)
        return out

    def add(self, aggregate: Aggregate) -> None:
        if (
            aggregate.id in self.roll_payments
            or aggregate.id in self.register_payments
            or aggregate.id in self.request_transfers
            or aggregate.id in self.queue_items
        ):
            self.flush()  # its batched payments are recorded before anything replaces it
        self.loaded[aggregate.id] = aggregate
        self.missing.discard(aggregate.id)

    def member(self, code: str) -> Member:
        found = self.get(member_id(code), Member)
        if found is None:
            return self.app.get_member(code)  # raises NotFound, bilingual
        return found

    def forget(self, *classes: type[Aggregate]) -> None:
        """Drop saved aggregates of these kinds (a long import keeps only what it shares).
        Batched payments are recorded first, so what holds them is kept until saved; ids
        found missing are asked again (another process may have recorded them since)."""
        self.flush()
        self.loaded = {
            i: a for i, a in self.loaded.items() if a.pending_events or not isinstance(a, classes)
        }
        self.missing.clear()

    def pending(self) -> list[Aggregate]:
        self.flush()
        return [a for a in self.loaded.values() if a.pending_events]

    # -- payments on rolls and registers ----------------------------------------------
    def apply_to_roll(self, roll: Roll, code: str, amount: int, reference: str) -> None:
        """`roll.apply_payment`, or, batching, held until `flush` (nothing a command does
        between reads the roll's paid amounts; a reversal flushes first)."""
        if not self.batch:
            roll.apply_payment(code, amount, reference)
            return
        self.loaded.setdefault(roll.id, roll)
        self.roll_payments.setdefault(roll.id, (roll, []))[1].append((code, amount, reference))

    def record_on_register(
        self, register: Register, code: str, reference: str, applied: list[list[Any]], credit: int
    ) -> None:
        """`register.record_payment`, or, batching, applied now (the next payment reads
        what this one left owed) and recorded with the others at `flush`."""
        if not self.batch:
            register.record_payment(code, reference, applied, credit)
            return
        self.loaded.setdefault(register.id, register)
        item = register.take_payment(code, reference, applied, credit)
        self.register_payments.setdefault(register.id, (register, []))[1].append(item)

    def receive_on_request(
        self,
        request: PaymentRequest,
        transaction_id: str,
        amount: int,
        received_at: str,
        status: str,
        shares: list[list[Any]],
        held: int,
        postings: list[Any],
    ) -> None:
        """`request.receive`, or, batching a transfer that posts nothing, applied now (the
        next line reads what the request still wants) and recorded with the others at
        `flush`. A transfer with postings is recorded at once, after those taken before."""
        if not self.batch or postings:
            if request.id in self.request_transfers:
                self.flush()  # the transfers taken before it come first in its log
            request.receive(transaction_id, amount, received_at, status, shares, held, postings)
            return
        self.loaded.setdefault(request.id, request)
        item = request.take_transfer(transaction_id, amount, received_at, status, shares, held)
        self.request_transfers.setdefault(request.id, (request, []))[1].append(item)

    def add_to_queue(
        self,
        queue: SuspenseQueue,
        transaction: str,
        direction: str,
        amount: int,
        value_date: str,
        narrative: str,
    ) -> str:
        """`queue.add`, or, batching, added now (its id is known at once) and recorded with
        the others at `flush`. Returns the item's id."""
        if not self.batch:
            queue.add(transaction, direction, amount, value_date, narrative)
            return str(queue.items[-1]["id"])
        self.loaded.setdefault(queue.id, queue)
        item_id, taken = queue.take_item(transaction, direction, amount, value_date, narrative)
        self.queue_items.setdefault(queue.id, (queue, {}))[1][item_id] = taken
        return item_id

    def note_on_queue(self, queue: SuspenseQueue, item_id: str, detail: dict[str, Any]) -> None:
        """`queue.note`; an item added in the same batch is recorded with its note."""
        batched = self.queue_items.get(queue.id)
        if batched is not None and item_id in batched[1]:
            queue.take_note(item_id, batched[1][item_id], detail)
            return
        if batched is not None:
            self.flush()  # the items taken before it come first in its log
        queue.note(item_id, detail)

    def flush(self) -> None:
        """Record the batched payments, transfers and suspense items: one event per roll,
        per register, per request and per queue."""
        for roll, payments in self.roll_payments.values():
            roll.apply_many(payments)
        for register, items in self.register_payments.values():
            register.record_taken(items)
        for request, transfers in self.request_transfers.values():
            request.record_taken(transfers)
        for queue, taken in self.queue_items.values():
            queue.record_taken(list(taken.items()))
        self.roll_payments.clear()
        self.register_payments.clear()
        self.request_transfers.clear()
        self.queue_items.clear()


# Derived indexes kept between commands, at most (one per collecting organisation in use).
DERIVED_LIMIT = 64
# Aggregates kept between commands (a day's suspense queue), at most: kept apart from the
# indexes, so an import touching many days does not push out a name index.
KEPT_LIMIT = 64


def _by_register(
    registers: list[Register], home: Register, months: list[list[Any]], credit: int
) -> list[tuple[Register, list[list[Any]], int]]:
    """Each register's part of a change to a member's months (`[branch, period, amount]`,
    each register holding its own branch's) and credit (held at `home`), where it has one."""
    out = []
    for register in registers:
        own = [m for m in months if m[0] == register.branch_code]
        here = credit if register is home else 0
        if own or here:
            out.append((register, own, here))
    return out


def _period_then_branch(item: list[Any]) -> tuple[str, str]:
    return str(item[1]), str(item[0])


class LedgerBase(Application[UUID]):
    name = "dangphi"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {
        Register: 6,
        Organisation: 50,
        SuspenseQueue: 100,  # one per organisation and day, an event per unexplained line
        SuspenseDays: 100,  # one per organisation, an event per day with unexplained money
        AccountIndex: 100,  # an event per gateway line until the account's first statement
        PrintedLines: 100,  # one per account and day, an event per gateway line with a reference
    }

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        reader: StoredEventReader | None = None,
        identity_cipher: IdentityCipher | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        snapshot_recorder = self.snapshots.recorder if self.snapshots else None
        self.reader: StoredEventReader = reader or RecorderReader(self.recorder, snapshot_recorder)
        self.identity_cipher = identity_cipher
        # Indexes derived from many aggregates, kept between commands while what they were
        # built from has not changed in a way that matters to them (see their users); the
        # least recently kept go first beyond DERIVED_LIMIT, so memory stays bounded.
        self.derived: dict[str, Any] = {}
        self.kept: dict[UUID, Aggregate] = {}  # see get_kept; KEPT_LIMIT, the same way
        # a suspense queue's id: (items read, positions of its outgoing items), for the
        # late reversals' look (`MatchingCommands._outgoing_positions`)
        self.outgoing_positions: dict[UUID, tuple[int, list[int]]] = {}
        self._derived_lock = threading.Lock()

    def keep_derived(self, key: str, value: Any) -> None:
        with self._derived_lock:
            self.derived.pop(key, None)
            self.derived[key] = value
            while len(self.derived) > DERIVED_LIMIT:
                del self.derived[next(iter(self.derived))]

    def get_kept(self, uow: UnitOfWork, aggregate_id: UUID, cls: type[A]) -> A | None:
        """`uow.get`, for a large aggregate that one-line commands touch again and again (a
        day's suspense queue): the copy the last command saved is taken over, brought up to
        date with any events stored since (by another process, say: one query for the
        events after its version), instead of loaded and decoded again. Kept again by
        `keep_saved` once this command's save succeeds; a command that fails never puts
        its changed copy back."""
        if aggregate_id in uow.loaded or aggregate_id in uow.missing:
            return uow.get(aggregate_id, cls)
        with self._derived_lock:
            kept = self.kept.pop(aggregate_id, None)
        uow.kept[aggregate_id] = None
        if not isinstance(kept, cls) or kept.pending_events:
            return uow.get(aggregate_id, cls)
        newer = sorted(
            self.reader.events_after({aggregate_id: kept.version}),
            key=lambda stored: stored.originator_version,
        )
        aggregate: Any = kept
        for stored in newer:
            event: Any = self.mapper.to_domain_event(stored)
            aggregate = event.mutate(aggregate)
        uow.loaded[aggregate_id] = aggregate
        return cast(A, aggregate)

    def keep_saved(self, uow: UnitOfWork) -> None:
        """After a successful save: keep the aggregates `get_kept` gave this command."""
        for aggregate_id in uow.kept:
            aggregate = uow.loaded.get(aggregate_id)
            if aggregate is not None and not aggregate.pending_events:
                with self._derived_lock:
                    self.kept.pop(aggregate_id, None)
                    self.kept[aggregate_id] = aggregate
                    while len(self.kept) > KEPT_LIMIT:
                        del self.kept[next(iter(self.kept))]

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """`Application.save`, collecting our own aggregates without the library's runtime
        Protocol `isinstance` checks (two per object: ~0.1 s of opening a province's month).
        Everything else is the library's: record, snapshots, notify."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):  # a concrete class: a cheap check
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            else:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept
        return recordings

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot, from memory and in one write, every aggregate whose new events crossed
        its interval. (The library reloads each aggregate from storage and writes its
        snapshots one by one: measured at 13.6 s instead of ~3.5 s for the month in which
        a province's 4,000 registers reach version 20.) Any version is a valid snapshot,
        so the aggregate's current state is taken."""
        if self.snapshots is None or not self.snapshotting_intervals:
            return
        later = getattr(self, "_snapshot_later", None)
        crossed: set[UUID] = set()
        for e in processing_event.events:
            aggregate = processing_event.aggregates.get(e.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if interval and e.originator_version % interval == 0:
                crossed.add(e.originator_id)
        aggregates = [
            a for i in crossed if isinstance(a := processing_event.aggregates[i], Aggregate)
        ]
        if later is not None:  # a long command: snapshot once, at its end
            later.update((a.id, a) for a in aggregates)
            return
        self._put_snapshots(aggregates)

    def _put_snapshots(self, aggregates: Iterable[Aggregate]) -> None:
        snapshots = [Aggregate.Snapshot.take(a) for a in aggregates]
        if snapshots and self.snapshots is not None:
            self.snapshots.put(snapshots)

    @contextmanager
    def snapshots_at_the_end(self) -> Iterator[None]:
        """For a command that saves many times (a statement, chunk by chunk): aggregates
        that cross their snapshot interval are snapshotted once, at the end, in their
        state then (any version is a valid snapshot), not at every save."""
        self._snapshot_later: dict[UUID, Aggregate] | None = {}
        try:
            yield
        except BaseException:
            self._snapshot_later = None  # no snapshot of state that may not be stored
            raise
        later, self._snapshot_later = self._snapshot_later, None
        # only what is stored: an aggregate with unsaved events is left for next time
        self._put_snapshots(a for a in (later or {}).values() if not a.pending_events)

    def drop_snapshots_for_later(self) -> None:
        """A save failed inside `snapshots_at_the_end`, and the command goes on: what it
        collected for the end may since have been changed in memory by the failed part
        (its pending events taken by the failed save), so none of it is snapshotted."""
        if getattr(self, "_snapshot_later", None) is not None:
            self._snapshot_later = {}

    def construct_transcoder(self) -> Transcoder:
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    # -- time ----------------------------------------------------------------
    def today_iso(self) -> str:
        return today(self.clock).isoformat()

    def current_period(self) -> Period:
        return period_of(today(self.clock))

    # -- loading -------------------------------------------------------------
    def load_many(self, ids: Sequence[UUID], cls: type[A]) -> dict[UUID, A]:
        return load_many(self, self.reader, ids, cls)

    def get_or_none(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def get_org(self, code: str) -> Organisation:
        org = self.get_or_none(org_id(code), Organisation)
        if org is None:
            raise NotFound(
                f"Không có tổ chức đảng mã '{code}'",
                f"No party organisation with code '{code}'",
                field="org",
            )
        return org

    def get_member(self, code: str) -> Member:
        member = self.get_or_none(member_id(code), Member)
        if member is None:
            raise NotFound(
                f"Không có đảng viên mã '{code}'", f"No member with code '{code}'", field="member"
            )
        return member

    def policy(self) -> DuesPolicy:
        """The recorded policy, or the defaults not yet recorded: a command that assesses
        saves it with its own events, so a read (or a refused command) writes nothing."""
        policy = self.get_or_none(DuesPolicy.create_id(), DuesPolicy)
        return policy if policy is not None else DuesPolicy(data=DEFAULT_POLICY)

    def member_registers(
        self, uow: UnitOfWork, member: Member, from_period: Period | None = None
    ) -> list[Register]:
        """The registers of every branch the member belonged to (in order), optionally only
        those holding the member at or after `from_period`. Each register is the authority
        for the months its own branch assessed (`unpaid` items whose branch is its own)."""
        out: list[Register] = []
        for branch in dict.fromkeys(b for _, b in member.branches):
            register = uow.get(register_id(branch), Register)
            if register is None or member.code not in register.members:
                continue
            until = register.members[member.code]["until"]
            if from_period is None or until is None or until > from_period:
                out.append(register)
        return out

    def use_credit(
        self,
        uow: UnitOfWork,
        member: Member,
        owed_again: dict[tuple[str, str], int],
        by: str,
        limit: int | None = None,
    ) -> int:
        """Pay months owed again from the member's credit, oldest first: `owed_again` maps
        (branch, period) to at most what may be paid (what a reversal or re-assessment made
        owed), `by` names the cause (the roll's reference is `CREDIT/by`). Opening a month
        pays it from credit; a month owed again later is paid the same way, so a member is
        never shown owing a month while holding money paid ahead (docs/reconciliation.md).
        `limit`: use no more than this. Returns the amount of credit used."""
        registers = self.member_registers(uow, member)
        home = next((r for r in registers if r.branch_code == member.branch_code), None)
        left = 0 if home is None else int(home.members[member.code]["credit"])
        if limit is not None:
            left = min(left, limit)
        if home is None or left <= 0:
            return 0
        applied: list[list[Any]] = []
        for b, p, owed in self.unpaid_items(registers, member.code):
            take = min(left, int(owed), owed_again.get((b, p), 0))
            if take > 0:
                applied.append([b, p, take])
                left -= take
        if not applied:
            return 0
        reference = f"CREDIT/{by}"
        prepaid = acct(home.branch_code, "liabilities", "prepaid", member.code)
        rolls = uow.load_many([roll_id(b, p) for b, p, _ in applied], Roll)
        for b, p, take in applied:
            postings = [debit(prepaid, take)]
            postings += receivable_postings(home.branch_code, b, member.code, take)
            rolls[roll_id(b, p)].apply_credit(member.code, take, reference, postings)
        used = sum(int(take) for _, _, take in applied)
        for register, own, from_credit in _by_register(registers, home, applied, used):
            register.apply_credit(member.code, reference, own, from_credit)
        return used

    def _credit_paid_months(self, uow: UnitOfWork, member: Member) -> list[tuple[Roll, int, str]]:
        """The member's months partly paid from credit (by `use_credit`, or by opening the
        month) and not given back, newest first: (roll, amount, whose credit it was)."""
        ids = [
            roll_id(r.branch_code, p)
            for r in self.member_registers(uow, member)
            for p in r.opened
            if member.branch_at(p) == r.branch_code
        ]
        rolls = sorted(
            uow.load_many(ids, Roll).values(), key=lambda r: (r.period, r.branch_code), reverse=True
        )
        return [
            (roll, amount, gave)
            for roll in rolls
            for amount, gave in roll.credit_parts(member.code)
        ]

    def releasable_credit(self, uow: UnitOfWork, member: Member) -> int:
        """Credit spent on the member's months (by opening them, or by `use_credit`) that
        `release_credit` can give back."""
        return sum(amount for _, amount, _ in self._credit_paid_months(uow, member))

    def release_credit(self, uow: UnitOfWork, member: Member, needed: int, by: str) -> int:
        """Give back up to `needed` of the credit spent on the member's months, newest month
        first: those months are owed again. A bank reversal of the payment the credit came
        from needs it back: the months it paid are owed again as if it never came, and
        the outcome does not depend on which of two reversed payments the bank took back
        first. Returns the amount released."""
        registers = self.member_registers(uow, member)
        home = next((r for r in registers if r.branch_code == member.branch_code), None)
        if home is None or needed <= 0:
            return 0
        released: list[list[Any]] = []
        left = needed
        reference = f"CREDIT/{by}"
        h = home.branch_code
        for roll, amount, gave in self._credit_paid_months(uow, member):
            take = min(left, amount)
            if take <= 0:
                break
            b = roll.branch_code
            # undo what applying it posted, at the branch whose credit it was then ...
            applied = [debit(acct(gave, "liabilities", "prepaid", member.code), take)]
            applied += receivable_postings(gave, b, member.code, take)
            postings = swapped(applied)
            if gave != h:  # ... and the credit goes where the member's credit is now
                postings += credit_transfer_postings(gave, h, member.code, take)
            roll.release_credit(member.code, take, reference, postings)
            released.append([b, roll.period, take])
            left -= take
        total = needed - left
        for register, own, to_credit in _by_register(registers, home, released, total):
            register.release_credit(member.code, reference, own, to_credit)
        return total

    @staticmethod
    def unpaid_items(registers: list[Register], code: str) -> list[list[Any]]:
        """`[branch, period, amount]` still owed, each from the register of its own branch."""
        items = []
        for r in registers:
            own = r.branch_code
            items += [[b, p, a] for b, p, a in r.members[code]["unpaid"] if b == own]
        items.sort(key=_period_then_branch)
        return items

    # -- the tree --------------------------------------------------------------
    def root_codes(self) -> list[str]:
        index = self.get_or_none(roots_id(), RootIndex)
        return [] if index is None else list(index.codes)

    def subtree(
        self, period: Period, code: str | None = None, visited: dict[UUID, int] | None = None
    ) -> list[Organisation]:
        """Every organisation active in `period` under `code` (default: all roots), top down.
        `visited`, if given, gets the id and version of every organisation read (active or
        not): what the answer was derived from."""
        level = [code] if code is not None else self.root_codes()
        if code is not None:
            self.get_org(code)
        out: list[Organisation] = []
        seen: set[str] = set()
        while level:
            loaded = self.load_many([org_id(c) for c in level], Organisation)
            next_level: list[str] = []
            for c in level:
                org = loaded.get(org_id(c))
                if org is None or c in seen:
                    continue
                seen.add(c)
                if visited is not None:
                    visited[org.id] = org.version
                if org.is_active_at(period):
                    out.append(org)
                next_level.extend(org.children_at(period))
            level = next_level
        return out

    def branches(
        self, period: Period, code: str | None = None, visited: dict[UUID, int] | None = None
    ) -> list[Organisation]:
        return [o for o in self.subtree(period, code, visited) if o.org_type in MEMBER_TYPES]
