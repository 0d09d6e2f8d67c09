"""Suspense queue: an organisation's money that nobody has explained yet, and how each was resolved.

Rule: every unexplained bank line held in an organisation's suspense account
gets an item here (`ORG/n`), written with the hold itself; nothing leaves
suspense without a `Resolved` event saying how (assigned to a member's dues,
a refund to make, or not dues, with a reason) and the postings that move it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.errors import Conflict, NotFound
from ledger.ids import NAMESPACE
from ledger.postings import Posting

HOW = ("member", "refund", "not_dues", "reversed")


def queue_id(org_code: str) -> UUID:
    return uuid5(NAMESPACE, f"suspense/{org_code}")


class SuspenseQueue(Aggregate):
    @staticmethod
    def create_id(org_code: str, **_: Any) -> UUID:
        return queue_id(org_code)

    @event("Started")
    def __init__(self, org_code: str) -> None:
        self.org_code = org_code
        self.items: list[dict[str, Any]] = []
        # positions in `items` (plain numbers, so a snapshot restores them as they were)
        self.by_id: dict[str, int] = {}
        self.by_transaction: dict[str, int] = {}

    @event("ItemAdded")
    def add(
        self, transaction: str, direction: str, amount: int, value_date: str, narrative: str
    ) -> None:
        item_id = f"{self.org_code}/{len(self.items) + 1}"
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
