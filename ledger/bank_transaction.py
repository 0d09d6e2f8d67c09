"""Bank transaction: one line of money moving through an organisation's account.

Rule: a transaction is keyed by the bank's own reference on its account where
the bank gives one (so the same transfer reported by a webhook and again by
the statement, or by two gateways, is one transaction), else by where it came
from and that source's id, or a content hash where there is none. The same
webhook delivered seven times, or a statement imported twice, is recorded
once. What it settled, cleared or reversed is recorded on it, so nothing is
counted twice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.batching import create_new
from ledger.errors import Conflict
from ledger.ids import NAMESPACE
from ledger.ports import BankTransactionFact
from ledger.postings import Posting

DIRECTIONS = ("in", "out")


def transaction_id(source: str, external_id: str) -> UUID:
    return uuid5(NAMESPACE, f"banktx/{source}/{external_id}")


def account_key(account_number: str, direction: str) -> str:
    """Bank references are unique per transaction on an account; the direction keeps a
    reversal that reuses its original's reference apart from it."""
    return f"account:{account_number.strip()}:{direction}"


def fact_id(fact: BankTransactionFact) -> UUID:
    """The id a line is keyed by: the bank's reference on its account where that identifies
    the line, else the source's own id (or content hash)."""
    ref = (fact.reference or "").strip().upper()
    if ref and fact.reference_is_key:
        return transaction_id(account_key(fact.account_number, fact.direction), ref)
    return transaction_id(fact.source, fact.external_id)


def notification_id(fact: BankTransactionFact) -> UUID | None:
    """A gateway's notification's own key (its source and id), for a line the bank's
    reference keys: the same notification sent again without that reference, or naming
    another account, is still the line recorded first (`NotificationAlias`). None for
    statement lines, and where the source's own id already keys the line."""
    if fact.source.startswith("statement"):
        return None
    own = transaction_id(fact.source, fact.external_id)
    return None if own == fact_id(fact) else own


def alternate_id(fact: BankTransactionFact) -> UUID | None:
    """A statement line's other possible key: by its content hash where its reference keys
    it, by its reference where it does not. Whether a reference keys a line depends on the
    file's other lines (a reference printed twice in one direction keys neither), so an
    overlapping file, or one imported under an earlier rule, may have recorded the same
    line under the other key. The import takes the line as recorded only if that line's
    content is the same (`same_content`)."""
    if fact.content_id is None or not (fact.reference or "").strip():
        return None
    if fact.reference_is_key:
        return transaction_id(fact.source, fact.content_id)
    ref = str(fact.reference).strip().upper()
    return transaction_id(account_key(fact.account_number, fact.direction), ref)


def same_content(recorded: Any, fact: BankTransactionFact) -> bool:
    """A recorded line's first event shows the same movement as `fact`."""
    return (
        recorded.direction == fact.direction
        and int(recorded.amount) == fact.amount
        and str(recorded.value_date)[:10] == fact.value_date[:10]
        and recorded.narrative == fact.narrative
        and recorded.account_number == fact.account_number
    )


class BankTransaction(Aggregate):
    @staticmethod
    def create_id(source: str, external_id: str, **_: Any) -> UUID:
        return transaction_id(source, external_id)  # the service passes `fact_id` instead

    @event("Recorded")
    def __init__(
        self,
        source: str,
        external_id: str,
        bin_code: str | None,
        account_number: str,
        direction: str,
        amount: int,
        value_date: str,
        narrative: str,
        counterparty: str | None,
        reference: str | None,
        recorded_at: str,
        balance: int | None,
        matched: dict[str, Any] | None = None,
        held: dict[str, Any] | None = None,
        postings: list[Posting] | None = None,
    ) -> None:
        self.source = source
        self.external_id = external_id
        self.bin_code = bin_code
        self.account_number = account_number
        self.direction = direction
        self.amount = amount
        self.value_date = value_date
        self.narrative = narrative
        self.counterparty = counterparty
        self.reference = reference
        self.recorded_at = recorded_at
        self.balance = balance
        # v3: a statement import's line matched as it was recorded (`fold`)
        self.matched: dict[str, Any] | None = matched
        # v4: a statement import's line held in suspense as it was recorded (`fold`):
        # `held` is what `hold` records ({org_code, flagged}), `postings` its postings
        self.suspense: dict[str, Any] | None = (
            None
            if held is None
            else {"org": held["org_code"], "flagged": held["flagged"], "resolved": False}
        )
        self.reversed_by: str | None = None
        self.on_statement: str | None = (
            None  # a statement that showed a line first heard of elsewhere
        )

    @classmethod
    def record(cls, tx_id: UUID, **fields: Any) -> BankTransaction:
        """A new line under the id `fact_id` gave it (what the library's `_create` with `id`
        makes, made faster: `create_new`)."""
        for name, empty in (("matched", None), ("held", None), ("postings", [])):
            fields.setdefault(name, empty)  # the event's fields are all required
        return create_new(cls, cls.Recorded, tx_id, **fields)  # type: ignore[attr-defined]

    @property
    def signed_amount(self) -> int:
        return self.amount if self.direction == "in" else -self.amount

    @event("Matched")
    def match(self, how: str, target: str, detail: dict[str, Any]) -> None:
        """Settled a request (its postings are on the payments and the request)."""
        self.matched = {"how": how, "target": target, **detail}

    def fold(self) -> None:
        """A new line matched or held before it was saved (a statement import): its
        `Recorded` and `Matched`, or `Recorded` and `HeldInSuspense`, become one `Recorded`
        holding the match, or the hold and its postings: one event fewer for most lines
        of a statement. The state is the same either way; a line with any other events
        (cleared, or held and then noted) keeps them as they are."""
        events = self.pending_events
        if len(events) != 2 or type(events[0]) is not BankTransaction.Recorded:  # type: ignore[attr-defined]
            return
        second: Any = events[1]
        fields = dict(vars(events[0]))
        if type(second) is BankTransaction.Matched:  # type: ignore[attr-defined]
            fields["matched"] = dict(self.matched or {})
        elif type(second) is BankTransaction.HeldInSuspense:  # type: ignore[attr-defined]
            fields["held"] = {"org_code": second.org_code, "flagged": second.flagged}
            fields["postings"] = list(second.postings)
        else:
            return
        folded = BankTransaction.Recorded(**fields)  # type: ignore[attr-defined]
        events[:] = [folded]
        self.version = folded.originator_version
        self.modified_on = folded.timestamp

    def match_new(self, how: str, target: str, detail: dict[str, Any]) -> None:
        """`match`, for a new line whose only event so far is its `Recorded` (a statement
        import): the match goes into that `Recorded` at once, as `fold` would put it
        there after a `Matched`, without making the `Matched` first."""
        if not self._only_recorded():
            self.match(how, target, detail)
            return
        self.matched = {"how": how, "target": target, **detail}
        self._rewrite_recorded(matched=dict(self.matched))

    def hold_new(self, org_code: str, flagged: bool, postings: list[Any]) -> None:
        """`hold`, likewise: the hold and its postings go into the new line's `Recorded`."""
        if not self._only_recorded():
            self.hold(org_code, flagged, postings)
            return
        self.suspense = {"org": org_code, "flagged": flagged, "resolved": False}
        self._rewrite_recorded(
            held={"org_code": org_code, "flagged": flagged}, postings=list(postings)
        )

    def _only_recorded(self) -> bool:
        events = self.pending_events
        return (
            len(events) == 1
            and type(events[0]) is BankTransaction.Recorded  # type: ignore[attr-defined]
            and self.matched is None
            and self.suspense is None
        )

    def _rewrite_recorded(self, **changes: Any) -> None:
        recorded = self.pending_events[0]
        fields = {**vars(recorded), **changes}
        self.pending_events[0] = BankTransaction.Recorded(**fields)  # type: ignore[attr-defined]

    @event("Cleared")
    def clear(self, how: str, target: str, detail: dict[str, Any], postings: list[Posting]) -> None:
        """Explained by something already in the books (a remittance, a deposit, spending,
        a refund, a reversal); the postings move it onto this account."""
        self.matched = {"how": how, "target": target, **detail}

    @event("HeldInSuspense")
    def hold(self, org_code: str, flagged: bool, postings: list[Any]) -> None:
        """Money nobody has explained yet, in the books of the organisation whose account it
        moved through: incoming to its suspense account; outgoing flagged for the treasurer."""
        self.suspense = {"org": org_code, "flagged": flagged, "resolved": False}

    def seen_on_statement(self, source: str) -> None:
        """A statement shows this line, which a gateway reported first (once is enough)."""
        if self.on_statement is None and not self.source.startswith("statement"):
            self._seen_on(source)

    @event("SeenOnStatement")
    def _seen_on(self, source: str) -> None:
        self.on_statement = source

    def mark_reversed(self, by: str) -> None:
        if self.reversed_by is not None:
            raise Conflict(
                f"Giao dịch đã bị hoàn bởi {self.reversed_by}",
                f"The transaction was already reversed by {self.reversed_by}",
            )
        self._reversed(by)

    @event("Reversed")
    def _reversed(self, by: str) -> None:
        self.reversed_by = by


def _upcast_recorded_v1_v2(state: dict[str, Any]) -> None:
    """v1 (before statements kept balances) had no `balance`."""
    state["balance"] = None


def _upcast_recorded_v2_v3(state: dict[str, Any]) -> None:
    """v2 (before a statement's lines were recorded with their match) had no `matched`:
    a `Matched` event, if any, followed."""
    state["matched"] = None


def _upcast_recorded_v3_v4(state: dict[str, Any]) -> None:
    """v3 (before a statement's lines were recorded with their hold) had no `held` and no
    `postings`: a `HeldInSuspense` event, if any, followed."""
    state["held"] = None
    state["postings"] = []


# v2 adds `balance`: the account's balance after the line, as the statement printed it.
# v3 adds `matched`: the match of a line recorded and matched in one (`fold`).
# v4 adds `held` and `postings`: the hold of a line recorded and held in one (`fold`).
# The event class is the one `@event("Recorded")` made; the library upcasts stored
# v1, v2 and v3 events with `upcast_v1_v2`, `upcast_v2_v3` and `upcast_v3_v4`.
BankTransaction.Recorded.class_version = 4  # type: ignore[attr-defined]
BankTransaction.Recorded.upcast_v1_v2 = staticmethod(_upcast_recorded_v1_v2)  # type: ignore[attr-defined]
BankTransaction.Recorded.upcast_v2_v3 = staticmethod(_upcast_recorded_v2_v3)  # type: ignore[attr-defined]
BankTransaction.Recorded.upcast_v3_v4 = staticmethod(_upcast_recorded_v3_v4)  # type: ignore[attr-defined]


def reference_cases(reference: str) -> dict[str, None]:
    """A reference as typed or printed, in capitals and in lower case: the forms a bank's
    reference takes between a treasurer's `pay` and the bank's line (in that order)."""
    return dict.fromkeys((reference, reference.upper(), reference.lower()))


def claimed_id(key: UUID) -> UUID:
    """Where a statement line's key (its bank reference) finds the gateway line it claimed
    (`UnreferencedLines`): a `NotificationAlias` under this id. Not the key itself, which
    would read as a line recorded under it."""
    return uuid5(NAMESPACE, f"banktx-claimed/{key}")


class NotificationAlias(Aggregate):
    """A gateway's own key for a line recorded under the bank's reference: its id is
    `transaction_id(source, external_id)`, `transaction` the line's id. Written with the
    line (from 2026-11-24), so that the gateway's id finds the line whatever the next
    delivery of the same notification says of its reference or account."""

    @event("Recorded")
    def __init__(self, transaction: str) -> None:
        self.transaction = transaction
