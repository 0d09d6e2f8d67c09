"""Account index: which organisation a bank account number is registered to.

Rule: a bank line names only an account; this index, keyed by the account
number, tells whose books it belongs in, so a statement can be checked
against its organisation and money nobody has explained goes to that
organisation's suspense account. It is written with the registration itself.
It also keeps what each imported statement said (its dates, opening and
closing balance, and any line whose printed balance does not follow from the
one before), and the account's opening balance: the balance before the first
line the ledger holds, taken from the first statement imported, and moved back
when a statement imported later shows earlier lines.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.ids import NAMESPACE
from ledger.postings import Posting


@lru_cache(maxsize=4_096)  # asked once per bank line matched
def account_index_id(number: str) -> UUID:
    return uuid5(NAMESPACE, f"account/{number}")


class AccountIndex(Aggregate):
    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return account_index_id(number)

    @event("Started")
    def __init__(self, number: str) -> None:
        self.number = number
        self.owners: list[list[str]] = []  # [bin, org_code]
        self.statements: list[dict[str, Any]] = []
        self.opening: dict[str, Any] | None = None
        # the account's booked lines dated before the opening's day (or on any day while
        # there is none), signed, by day: the opening already holds them (`before`)
        self.early: dict[str, int] = {}

    def add(self, bin_code: str, org_code: str) -> None:
        if [bin_code, org_code] not in self.owners:  # guard first: a repeat records nothing
            self._add(bin_code, org_code)

    @event("OwnerAdded")
    def _add(self, bin_code: str, org_code: str) -> None:
        self.owners.append([bin_code, org_code])

    def owner(self, bin_code: str | None) -> str | None:
        """The organisation holding this number (at this bank, when the line names one)."""
        found = {o for b, o in self.owners if bin_code is None or b == bin_code}
        return found.pop() if len(found) == 1 else None

    @event("OpeningBalanceRecorded")
    def record_opening(self, org_code: str, on: str, amount: int, postings: list[Posting]) -> None:
        self.opening = {"org": org_code, "on": on, "amount": amount}
        self._keep_before(on)

    @event("OpeningBalanceRevised")
    def revise_opening(self, org_code: str, on: str, amount: int, postings: list[Posting]) -> None:
        """A statement imported later showed lines before the opening's: the opening is
        the balance before those (`postings`: the difference, bank against equity)."""
        self.opening = {"org": org_code, "on": on, "amount": amount}
        self._keep_before(on)

    def _keep_before(self, on: str) -> None:
        """Lines dated on or after the opening's day are never before it again (it only
        moves back): only the days before it stay listed."""
        self.early = {d: v for d, v in getattr(self, "early", {}).items() if d < on}

    def is_early(self, day: str) -> bool:
        """Whether a line dated `day` is one the opening holds, or will hold once there is
        one: dated before its day, or any line while there is no opening."""
        return self.opening is None or day[:10] < str(self.opening["on"])

    def before(self, on: str) -> int:
        """In minus out, of the booked lines dated before `on` (0 before 2026-11-24's fifth
        session: an index rebuilt from a snapshot taken earlier has none listed)."""
        return sum(v for d, v in getattr(self, "early", {}).items() if d < on)

    @event("LinesBeforeOpening")
    def note_early(self, days: dict[str, int], on: str | None, postings: list[Posting]) -> None:
        """Lines booked on this account dated before its opening's day (or before there is
        an opening), in minus out by day. The opening already holds their money: with an
        opening (`on`: its day, when the postings are dated), `postings` take it back out of
        it (bank against equity), so the
        account's balance in the books is the statement's (found by a helper's check: a
        gateway's line of the 13th, then a statement from the 14th, counted it twice)."""
        early = self.__dict__.setdefault("early", {})
        for day, signed in days.items():
            early[day] = early.get(day, 0) + signed

    @event("StatementImported")
    def record_statement(self, summary: dict[str, Any]) -> None:
        """`summary`: source, first/last date, opening/closing balance, lines, new, breaks."""
        self.statements.append(summary)


def waiting_lines_id(number: str) -> UUID:
    return uuid5(NAMESPACE, f"account-waiting/{number}")


class WaitingLines(Aggregate):
    """Lines recorded on an account number no organisation had registered (at the line's
    bank): in nobody's books. Registering the account books them (held in its suspense,
    or flagged if outgoing), so money a gateway reported before the treasurer registered
    the account is not lost to the books (from 2026-11-24)."""

    @staticmethod
    def create_id(number: str, **_: Any) -> UUID:
        return waiting_lines_id(number)

    @event("Started")
    def __init__(self, number: str) -> None:
        self.number = number
        self.lines: list[list[Any]] = []  # [transaction id, the line's bank BIN or None]

    @event("LineWaiting")
    def add(self, transaction: str, bin_code: str | None) -> None:
        self.lines.append([transaction, bin_code])

    @event("LinesBooked")
    def booked(self, transactions: list[str], org_code: str) -> None:
        """`transactions` are now in `org_code`'s books."""
        taken = set(transactions)
        self.lines = [line for line in self.lines if line[0] not in taken]


def unreferenced_id(number: str, day: str) -> UUID:
    return uuid5(NAMESPACE, f"account-unreferenced/{number.strip()}/{day[:10]}")


class UnreferencedLines(Aggregate):
    """Lines a gateway reported without the bank's reference, on one account and value
    date: keyed by the gateway's own id, they cannot be found under the key the month's
    statement gives the same line (its reference). The statement's import takes a line
    showing the same movement that day as the gateway's, once (`claim`), so it is not
    recorded twice (from 2026-11-24; docs/reconciliation.md)."""

    @staticmethod
    def create_id(number: str, day: str, **_: Any) -> UUID:
        return unreferenced_id(number, day)

    @event("Started")
    def __init__(self, number: str, day: str) -> None:
        self.number = number
        self.day = day
        # transaction id -> [direction, amount, narrative, the statement line's key or None]
        self.lines: dict[str, list[Any]] = {}

    @event("LineNoted")
    def add(self, transaction: str, direction: str, amount: int, narrative: str) -> None:
        self.lines[transaction] = [direction, amount, narrative, None]

    @event("LineClaimed")
    def claim(self, transaction: str, key: str) -> None:
        """The statement line keyed `key` is the gateway's line `transaction`."""
        self.lines[transaction][3] = key

    def claimed_by(self, key: str) -> str | None:
        return next((t for t, line in self.lines.items() if line[3] == key), None)

    def unclaimed(self, direction: str, amount: int) -> list[tuple[str, str]]:
        """(transaction, narrative) of the lines no statement line took, of this movement."""
        return [
            (t, str(line[2]))
            for t, line in self.lines.items()
            if line[3] is None and line[0] == direction and int(line[1]) == amount
        ]


def printed_lines_id(number: str, day: str) -> UUID:
    return uuid5(NAMESPACE, f"account-printed/{number.strip()}/{day[:10]}")


class PrintedLines(Aggregate):
    """The lines statements printed with a bank reference, on one account and value date:
    the other order of `UnreferencedLines`. A gateway line without the bank's reference
    that arrives after the statement is keyed by the gateway's own id, so it cannot find
    the statement's line under its key; it looks here, takes the line showing the same
    movement that day (`take`, once), and is not recorded twice (from 2026-11-24;
    docs/reconciliation.md). Written by a statement's import, one event per account and
    day per chunk, holding per line only its key (the line's id), direction and amount:
    the narrative is read from the few candidates' lines."""

    @staticmethod
    def create_id(number: str, day: str, **_: Any) -> UUID:
        return printed_lines_id(number, day)

    @event("Started")
    def __init__(self, number: str, day: str, lines: list[list[Any]]) -> None:
        self.number = number
        self.day = day
        # line key -> [direction, amount]; and the lines taken: line key -> gateway line
        self.lines: dict[str, list[Any]] = {}
        self.taken: dict[str, str] = {}
        self._printed(lines)

    @event("LinesPrinted")
    def add(self, lines: list[list[Any]]) -> None:
        """`lines`: [key, direction, amount] of lines a statement's import recorded."""
        self._printed(lines)

    def _printed(self, lines: list[list[Any]]) -> None:
        for key, direction, amount in lines:
            self.lines[str(key)] = [direction, amount]

    @event("LineTaken")
    def take(self, key: str, transaction: str) -> None:
        """The gateway's line `transaction` (its own key) is the statement's line `key`."""
        self.taken[key] = transaction

    def untaken(self, direction: str, amount: int) -> list[str]:
        """The keys of the lines no gateway line took, of this movement, in the order the
        statements printed them (and were imported in)."""
        return [
            k
            for k, line in self.lines.items()
            if k not in self.taken and line[0] == direction and int(line[1]) == amount
        ]
