"""Double entry: every event that moves money carries balanced postings.

Rule: a posting is `[account, side, amount]` with side "D" (debit) or "C"
(credit) and a positive integer amount in đồng; in each event the debits equal
the credits. Accounts are hledger-style names rooted at the organisation code:

    CODE:assets:bank                 money in the organisation's bank accounts
    CODE:assets:cash                 cash held by the treasurer
    CODE:assets:receivable:MEMBER    dues a member owes
    CODE:assets:due_from:OTHER       money another branch collected for us
    CODE:liabilities:due_to:OTHER    money we collected for another branch
    CODE:liabilities:prepaid:MEMBER  a member's credit (paid ahead / overpaid)
    CODE:liabilities:payable_to_parent   the parent's share, not yet remitted
    CODE:income:dues_assessed        dues assessed, not yet collected and allocated
    CODE:equity:retained             the organisation's retained fund
    CODE:expenses:spending           spending from the retained fund

Asset and expense accounts carry debit balances; the others credit balances.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.errors import LedgerError

Posting = list[object]  # [account: str, side: "D" | "C", amount: int]


class UnbalancedPostings(LedgerError):
    """Raised when an event's debits and credits differ: a programming error, never stored."""


def debit(account: str, amount: int) -> Posting:
    return [account, "D", amount]


def credit(account: str, amount: int) -> Posting:
    return [account, "C", amount]


def check_balanced(postings: Iterable[Posting]) -> list[Posting]:
    """Drop zero lines, refuse negative amounts and unbalanced sets; return the lines."""
    kept: list[Posting] = []
    total = 0
    for account, side, amount in postings:
        if not isinstance(amount, int) or amount < 0 or side not in ("D", "C"):
            raise UnbalancedPostings(
                f"Bút toán sai: {account} {side} {amount}",
                f"Bad posting: {account} {side} {amount}",
            )
        if amount:
            kept.append([account, side, amount])
            total += amount if side == "D" else -amount
    if total:
        raise UnbalancedPostings(
            f"Bút toán không cân: chênh {total}", f"Postings do not balance: off by {total}"
        )
    return kept


def swapped(postings: Iterable[Posting]) -> list[Posting]:
    """The same lines on the other side: what undoes them."""
    return [[a, "C" if s == "D" else "D", n] for a, s, n in postings]


def signed(posting: Posting) -> int:
    """Debit-positive amount of one posting."""
    amount = posting[2]
    assert isinstance(amount, int)
    return amount if posting[1] == "D" else -amount


def acct(org: str, *path: str) -> str:
    return ":".join((org, *path))


def receivable_postings(branch: str, owed_at: str, member: str, amount: int) -> list[Posting]:
    """Money `branch` holds (received, or the member's credit there) paying dues owed at
    `owed_at` (another branch after a transfer, settled through due_to/due_from)."""
    receivable = credit(acct(owed_at, "assets", "receivable", member), amount)
    if owed_at == branch:
        return [receivable]
    return [
        receivable,
        debit(acct(owed_at, "assets", "due_from", branch), amount),
        credit(acct(branch, "liabilities", "due_to", owed_at), amount),
    ]


def credit_transfer_postings(old: str, new: str, code: str, amount: int) -> list[Posting]:
    """The prepaid liability moves with the member; the money stays where it was paid."""
    return check_balanced(
        [
            debit(acct(old, "liabilities", "prepaid", code), amount),
            credit(acct(old, "liabilities", "due_to", new), amount),
            debit(acct(new, "assets", "due_from", old), amount),
            credit(acct(new, "liabilities", "prepaid", code), amount),
        ]
    )


def refund_postings(branch: str, home: str, member: str, amount: int) -> list[Posting]:
    """Money paid for a month at `branch` that a re-assessment refunds, becoming credit at
    the member's branch `home` (owed there by `branch` if another)."""
    receivable = debit(acct(branch, "assets", "receivable", member), amount)
    if home == branch:
        return [receivable, credit(acct(branch, "liabilities", "prepaid", member), amount)]
    return [
        receivable,
        credit(acct(branch, "liabilities", "due_to", home), amount),
        debit(acct(home, "assets", "due_from", branch), amount),
        credit(acct(home, "liabilities", "prepaid", member), amount),
    ]


def prepaid_branch(postings: Iterable[Posting], member: str, side: str) -> str | None:
    """The branch whose prepaid (credit) account for `member` the postings move on `side`
    ("D": credit given, "C": credit made), if any."""
    suffix = f":liabilities:prepaid:{member}"
    for account, posted, _amount in postings:
        if posted == side and str(account).endswith(suffix):
            return str(account)[: -len(suffix)]
    return None
