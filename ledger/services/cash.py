"""Cash: dues a treasurer receives in hand, and the cash later taken to the bank.

Rule: cash received is a payment like any other, keyed by the treasurer's
receipt number (a retry with the same receipt records nothing; the same
receipt number for another member or amount is refused). Taking cash to the
bank gets a reference code to write on the deposit slip: the cash is in
transit (`ORG:assets:deposits_in_transit`) until the account's bank line
carrying that code is matched, like any other line.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import InvalidInput
from ledger.money import parse_amount
from ledger.payment_request import PaymentRequest
from ledger.period import Period
from ledger.postings import acct, check_balanced, credit, debit
from ledger.reference_code import code_for
from ledger.services.payments import PaymentResult
from ledger.services.statements import StatementCommands


class CashCommands(StatementCommands):
    def receive_cash(
        self, member_code: str, amount: int, receipt: str, months: list[Period] | None = None
    ) -> PaymentResult:
        receipt = receipt.strip()
        if not receipt:
            raise InvalidInput("Cần số biên lai", "A receipt number is required", field="receipt")
        branch = self.get_member(member_code).branch_code
        return self.record_own_payment(  # type: ignore[attr-defined,no-any-return]
            member_code,
            amount,
            channel="cash",
            reference=f"CASH:{branch}:{receipt}",
            months=months,
        )

    def deposit_cash(self, org_code: str, amount: int, slip: str) -> PaymentRequest:
        """Record cash taken to the bank; returns the request whose code goes on the slip."""
        parse_amount(amount)
        slip = slip.strip()
        if not slip:
            raise InvalidInput(
                "Cần số giấy nộp tiền", "A deposit slip number is required", field="slip"
            )
        code = self.deposit_code(org_code, slip)
        earlier = self.get_request_or_none(code)
        if earlier is not None:
            if earlier.total != amount or earlier.branch_code != org_code:
                raise InvalidInput(
                    f"Giấy nộp tiền {slip} đã ghi với số tiền {earlier.total:,} đ",
                    f"Deposit slip {slip} was already recorded for {earlier.total:,} đ",
                    field="slip",
                )
            return earlier
        request = self._create_request(
            "deposit",
            org_code,
            org_code,
            None,
            [[org_code, [], amount]],
            f"NOP TIEN MAT {slip}",
            None,
            None,
            90,
            code=code,
            save=False,
        )
        request.deposit_cash(
            amount,
            check_balanced(
                [
                    debit(acct(org_code, "assets", "deposits_in_transit"), amount),
                    credit(acct(org_code, "assets", "cash"), amount),
                ]
            ),
        )
        self.save(request)
        return request

    @staticmethod
    def deposit_code(org_code: str, slip: str) -> str:
        """The code a deposit slip carries: the same slip, the same code."""
        return code_for(f"deposit/{org_code}/{slip.strip()}")

    def get_request_or_none(self, code: str) -> PaymentRequest | None:
        from ledger.payment_request import request_id

        return self.get_or_none(request_id(code), PaymentRequest)

    def deposit_summary(self, request: PaymentRequest) -> dict[str, Any]:
        return {
            "reference": request.code,
            "org": request.branch_code,
            "amount": request.total,
            "account": request.target["account_number"],
            "seen_on_statement": "in" in request.seen,
            "in_transit": request.in_transit(),  # not yet shown arriving on the account
        }
