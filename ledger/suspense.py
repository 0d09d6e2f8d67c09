"""Suspense queue: an organisation's money that nobody has explained yet, and how each was resolved.

Rule: every unexplained bank line held in an organisation's suspense account
gets an item here, written with the hold itself; nothing leaves suspense
without a `Resolved` event saying how (assigned to a member's dues, a refund
to make, or not dues, with a reason) and the postings that move it.

An organisation has one queue per value date of the lines it holds, so
holding one more line reads that day's items, not every item since the
organisation began: item `ORG/YYYYMMDD-n` is the n-th of that day. The
days an organisation has queues for are listed in its `SuspenseDays`. Items
held before queues were kept by day (`ORG/n`) stay in the organisation's
first queue, which has no day, and resolve as before.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.batching import record_applied
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.ids import NAMESPACE
from ledger.postings import Posting

HOW = ("member", "refund", "not_dues", "reversed")


ITEM_TAIL = re.compile(r"(?:([0-9]{4})([0-9]{2})([0-9]{2})-)?([1-9][0-9]{0,8})")


def queue_id(org_code: str, day: str | None = None) -> UUID:
    """The queue of `org_code`'s lines held on `day` (YYYY-MM-DD); without a day, the queue
    that held every line before queues were kept by day."""
    if day is None:
        return uuid5(NAMESPACE, f"suspense/{org_code}")
    return uuid5(NAMESPACE, f"suspense/{org_code}/{day}")


def days_id(org_code: str) -> UUID:
    return uuid5(NAMESPACE, f"suspense-days/{org_code}")


def item_key(org_code: str, day: str | None, n: int) -> str:
    """`ORG/YYYYMMDD-n` (one path segment after the organisation, so it fits a URL), or
    `ORG/n` for an item of the queue without a day."""
    return f"{org_code}/{n}" if day is None else f"{org_code}/{day.replace('-', '')}-{n}"


def parse_item_id(item_id: str) -> tuple[str, str | None]:
    """(organisation, day or None) of an item id; a clear error for anything else."""
    org, _, tail = item_id.rpartition("/")
    found = ITEM_TAIL.fullmatch(tail)
    day = None
    if found is not None and found.group(1):
        day = f"{found.group(1)}-{found.group(2)}-{found.group(3)}"
        try:
            date.fromisoformat(day)
        except ValueError:
            found = None
    if not org or org != org.strip() or found is None:
        raise InvalidInput(
            f"Mã khoản tạm giữ không hợp lệ: {item_id!r} (dạng TỔCHỨC/YYYYMMDD-n, "
            "hoặc TỔCHỨC/n với khoản cũ)",
            f"Invalid suspense item id {item_id!r} (expected ORG/YYYYMMDD-n, or ORG/n for "
            "an item held before queues were kept by day)",
            field="id",
        )
    return org, day


class SuspenseQueue(Aggregate):
    # v2: a queue per organisation and value date. A v1 snapshot (the only queue an
    # organisation had) is that organisation's queue without a day.
    class_version = 2

    @staticmethod
    def create_id(org_code: str, day: str | None = None, **_: Any) -> UUID:
        return queue_id(org_code, day)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["day"] = None

    @event("Started")
    def __init__(self, org_code: str, day: str | None = None) -> None:
        self.org_code = org_code
        self.day = day
        self.items: list[dict[str, Any]] = []
        # positions in `items` (plain numbers, so a snapshot restores them as they were)
        self.by_id: dict[str, int] = {}
        self.by_transaction: dict[str, int] = {}

    @event("ItemAdded")
    def add(
        self, transaction: str, direction: str, amount: int, value_date: str, narrative: str
    ) -> None:
        self._add(transaction, direction, amount, value_date, narrative)

    def take_item(
        self, transaction: str, direction: str, amount: int, value_date: str, narrative: str
    ) -> tuple[str, list[Any]]:
        """What `add` does, without its event yet: a bulk command records the items it took
        as one event when it saves (`record_taken`). Returns the item's id and the batch's
        record of it, whose last field a note in the same batch fills (`take_note`). Only
        through `UnitOfWork.add_to_queue`, whose `flush` records it."""
        item = self._add(transaction, direction, amount, value_date, narrative)
        return str(item["id"]), [transaction, direction, amount, value_date, narrative, None]

    def take_note(self, item_id: str, taken: list[Any], detail: dict[str, Any]) -> None:
        """`note` for an item taken in the same batch: recorded with the item."""
        self.item(item_id).update(detail)
        taken[5] = {**(taken[5] or {}), **detail}

    def record_taken(self, taken: list[tuple[str, list[Any]]]) -> None:
        """Record the items `take_item` already applied: one `ItemsAdded`, or the usual
        `ItemAdded` (then `ItemNoted`, if noted) for one (`ledger.batching`)."""
        if len(taken) == 1:
            item_id, (transaction, direction, amount, value_date, narrative, detail) = taken[0]
            record_applied(
                self,
                SuspenseQueue.ItemAdded,  # type: ignore[attr-defined]
                transaction=transaction,
                direction=direction,
                amount=amount,
                value_date=value_date,
                narrative=narrative,
            )
            if detail is not None:
                record_applied(self, SuspenseQueue.ItemNoted, item_id=item_id, detail=detail)  # type: ignore[attr-defined]
        elif taken:
            record_applied(self, SuspenseQueue.ItemsAdded, items=[t for _, t in taken])  # type: ignore[attr-defined]

    @event("ItemsAdded")
    def _items_added(self, items: list[list[Any]]) -> None:
        """`items`: `[transaction, direction, amount, value_date, narrative, note]`, each what
        one `ItemAdded` records, and the `ItemNoted` detail that followed it, if any (a
        statement's chunk holding several lines of the same day)."""
        for transaction, direction, amount, value_date, narrative, detail in items:
            item = self._add(transaction, direction, amount, value_date, narrative)
            if detail is not None:
                item.update(detail)

    def _add(
        self, transaction: str, direction: str, amount: int, value_date: str, narrative: str
    ) -> dict[str, Any]:
        item_id = item_key(self.org_code, self.day, len(self.items) + 1)
        item: dict[str, Any] = {
            "id": item_id,
            "transaction": transaction,
            "direction": direction,
            "amount": amount,
            "value_date": value_date,
            "narrative": narrative,
            "resolution": None,
        }
        self.by_id[item_id] = len(self.items)
        self.by_transaction.setdefault(transaction, len(self.items))
        self.items.append(item)
        return item

    @event("ItemNoted")
    def note(self, item_id: str, detail: dict[str, Any]) -> None:
        """What the ledger knows about an item: a proposed match for the treasurer to confirm
        (never applied by itself), or the request whose excess it is."""
        self.item(item_id).update(detail)

    def item_for(self, transaction: str) -> dict[str, Any] | None:
        position = self.by_transaction.get(transaction)
        return None if position is None else self.items[position]

    def item(self, item_id: str) -> dict[str, Any]:
        position = self.by_id.get(item_id)
        if position is not None:
            return self.items[position]
        raise NotFound(
            f"Không có khoản tạm giữ {item_id}", f"No suspense item {item_id}", field="id"
        )

    def open_items(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["resolution"] is None]

    def resolve(
        self, item_id: str, how: str, detail: dict[str, Any], postings: list[Posting]
    ) -> None:
        if self.item(item_id)["resolution"] is not None:
            raise Conflict(
                f"Khoản {item_id} đã được xử lý",
                f"Suspense item {item_id} is already resolved",
                field="id",
            )
        self._resolved(item_id, how, detail, postings)

    @event("Resolved")
    def _resolved(
        self, item_id: str, how: str, detail: dict[str, Any], postings: list[Posting]
    ) -> None:
        self.item(item_id)["resolution"] = {"how": how, **detail}


def _upcast_started_v1_v2(state: dict[str, Any]) -> None:
    """v1 (one queue per organisation) had no `day`."""
    state["day"] = None


# v2 adds `day`: queues are kept per organisation and value date.
SuspenseQueue.Started.class_version = 2  # type: ignore[attr-defined]
SuspenseQueue.Started.upcast_v1_v2 = staticmethod(_upcast_started_v1_v2)  # type: ignore[attr-defined]


class SuspenseDays(Aggregate):
    """The days an organisation has a suspense queue for: an event per new day, so listing
    the organisation's suspense reads a short list, then those days' queues."""

    @staticmethod
    def create_id(org_code: str, **_: Any) -> UUID:
        return days_id(org_code)

    @event("Started")
    def __init__(self, org_code: str) -> None:
        self.org_code = org_code
        self.days: list[str] = []

    @event("DayAdded")
    def add(self, day: str) -> None:
        self.days.append(day)
