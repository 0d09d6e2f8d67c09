"""Finding review: an inspector's notes on one inspection finding.

Rule: a finding is never deleted or changed by a review; each review is its own
event (`Reviewed`: the finding, the note, who, when) on an aggregate keyed by
the finding's id (UUIDv5), so every note an inspector ever wrote stays readable
beside the finding, and a rebuilt read model shows the same reviews.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.ids import NAMESPACE


def review_id(finding_id: str) -> UUID:
    return uuid5(NAMESPACE, f"finding-review/{finding_id}")


class FindingReview(Aggregate):
    @staticmethod
    def create_id(finding_id: str, **_: Any) -> UUID:
        return review_id(finding_id)

    @event("Opened")
    def __init__(self, finding_id: str) -> None:
        self.finding_id = finding_id
        self.reviews: list[dict[str, str]] = []

    @event("Reviewed")
    def review(self, finding_id: str, note: str, reviewer: str, at: str) -> None:
        self.reviews.append({"note": note, "reviewer": reviewer, "at": at})
