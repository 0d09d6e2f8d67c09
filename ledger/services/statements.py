"""Importing a bank statement: every line recorded once, matched or held in suspense.

Rule: the statement's account must be a registered account of the
organisation; the file is read and checked whole before anything is recorded
(the reader rejects bad files), and each line goes through the same path as a
gateway notification, keyed by the bank's id or a content hash, so importing
the same file twice, or an overlapping one, records each line once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ledger.errors import InvalidInput, NotFound
from ledger.ports import BankTransactionFact
from ledger.services.requests import RequestCommands


class StatementCommands(RequestCommands):
    def statement_account(self, org_code: str, number: str | None) -> dict[str, Any]:
        """The registered account a statement is for (the only one, if not named)."""
        org = self.get_org(org_code)
        accounts = [a for a in org.accounts if number is None or a["account_number"] == number]
        if number is not None and not accounts:
            raise NotFound(
                f"Tài khoản {number} không phải tài khoản đã đăng ký của {org_code}",
                f"Account {number} is not a registered account of {org_code}",
                field="account",
            )
        if len(accounts) != 1:
            raise InvalidInput(
                f"{org_code} có {len(accounts)} tài khoản; chọn bằng --account",
                f"{org_code} has {len(accounts)} accounts; name one with --account",
                field="account",
            )
        return accounts[0]

    def import_statement(self, org_code: str, facts: list[BankTransactionFact]) -> dict[str, int]:
        """Record every line; returns counts: new, already, matched, suspense."""
        numbers = {f.account_number for f in facts}
        for number in numbers:
            self.statement_account(org_code, number)
        counts: Counter[str] = Counter()
        for fact in facts:
            tx, created = self.record_bank_transaction(fact)
            counts["new" if created else "already"] += 1
            if created and tx.matched is not None:
                counts["matched"] += 1
            elif created and tx.suspense is not None:
                counts["suspense"] += 1
        return {k: counts[k] for k in ("new", "already", "matched", "suspense")}
