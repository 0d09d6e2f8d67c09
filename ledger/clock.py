"""The injected clock: every 'now' and 'today' in the ledger comes from here.

Rule: domain code never calls `datetime.now()` directly; the application holds
a Clock. The system clock reads `datetime.now`, so tests freeze it with
freezegun; a FixedClock serves tests and benchmarks that set time by hand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

VIETNAM = timezone(timedelta(hours=7), "ICT")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VIETNAM)


class FixedClock:
    def __init__(self, at: datetime) -> None:
        self.at = at if at.tzinfo else at.replace(tzinfo=VIETNAM)

    def now(self) -> datetime:
        return self.at


def today(clock: Clock) -> date:
    return clock.now().astimezone(VIETNAM).date()
