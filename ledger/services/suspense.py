"""The suspense queue's commands: list what is waiting, resolve each item with a reason.

Rule: money leaves suspense only by a `Resolved` event: assigned to a member's
dues (a payment, oldest month first or the months named), a refund to make,
or not dues (with the treasurer's reason). Outgoing unexplained money can only
be explained as not dues (a bank fee, say) until outgoing matching lands.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.bank_transaction import (
    BankTransaction,
    NotificationAlias,
    account_key,
    claimed_id,
    transaction_id,
)
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.ids import member_id, payment_id
from ledger.member import Member
from ledger.payment import Payment
from ledger.payment_request import PaymentRequest, request_id
from ledger.period import Period
from ledger.postings import Posting, acct, check_balanced, credit, debit
from ledger.services.base import LedgerBase, UnitOfWork
from ledger.suspense import SuspenseDays, SuspenseQueue, days_id, parse_item_id, queue_id


class SuspenseCommands(LedgerBase):
    def suspense_items(
        self, org_code: str, *, include_resolved: bool = False
    ) -> list[dict[str, Any]]:
        """The organisation's items: those held before queues were kept by day, then each
        day's, oldest day first (within a day, in the order they were held)."""
        self.get_org(org_code)
        days = self.get_or_none(days_id(org_code), SuspenseDays)
        ids = [queue_id(org_code)] + [
            queue_id(org_code, d) for d in sorted(days.days if days else [])
        ]
        queues = self.load_many(ids, SuspenseQueue)
        items: list[dict[str, Any]] = []
        for i in ids:
            queue = queues.get(i)
            if queue is not None:
                items += queue.items if include_resolved else queue.open_items()
        items = self._stale_proposals(items)
        return self._what_became_of(items) if include_resolved else items

    def _stale_proposals(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Open items whose proposal can no longer be confirmed (the member no longer owes
        some of its months: paid another way since, say) are listed as ordinary suspense:
        copies with the proposal moved to `stale_proposal`, with `not_owed` (the months),
        so neither `reconcile` nor `suspense list` offers them to confirm (`confirm` refuses
        them, naming the `resolve` to use). The queue keeps the proposal as it was."""
        open_proposals = [i for i in items if i.get("proposal") and i["resolution"] is None]
        if not open_proposals:
            return items
        uow = UnitOfWork(self)
        owed: dict[str, set[str]] = {}
        for item in open_proposals:
            code = str(item["proposal"]["member"])
            if code not in owed:
                member = uow.get(member_id(code), Member)
                registers = self.member_registers(uow, member) if member is not None else []
                owed[code] = {str(i[1]) for i in self.unpaid_items(registers, code)}
        out: list[dict[str, Any]] = []
        for item in items:
            proposal = item.get("proposal")
            if proposal and item["resolution"] is None:
                gone = [m for m in proposal["months"] if m not in owed[str(proposal["member"])]]
                if gone:
                    item = {k: v for k, v in item.items() if k != "proposal"}
                    item["stale_proposal"] = {**proposal, "not_owed": gone}
            out.append(item)
        return out

    def _what_became_of(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Resolved items with what happened since (copies; the queue is not changed): a
        refund's `refund_paid` (the outgoing line that paid it, or None). Before, a paid
        refund still read "put the code in the transfer's memo" (a helper's check). Money
        given to members whose line the bank took back carries `reversed_by` itself (a
        note the reversal writes on the item, since 2026-11-24)."""
        refunds = {
            str(i["id"]): request_id(str(r["reference"]))
            for i in items
            if (r := i["resolution"]) is not None and r["how"] == "refund" and r.get("reference")
        }
        requests = self.load_many(list(refunds.values()), PaymentRequest)
        out: list[dict[str, Any]] = []
        for item in items:
            key = str(item["id"])
            if key in refunds:
                request = requests.get(refunds[key])
                item = {**item, "refund_paid": request.seen.get("out") if request else None}
            out.append(item)
        return out

    def _resolve_as_spending(
        self, uow: UnitOfWork, org: str, queue: Any, item: dict[str, Any], reference: str
    ) -> dict[str, Any]:
        """A flagged outgoing line that is bank spending recorded with `spend`: the spending
        is cleared by it and the item resolved, as when the line prints the voucher.
        Before, only "not dues" was possible, which booked the money as spent twice."""
        organisation = self.get_org(org)
        amount = int(item["amount"])
        if item["direction"] != "out":
            raise Conflict(
                "Chỉ khoản chi mới là khoản chi đã ghi sổ",
                "Only outgoing money can be recorded spending",
                field="spending",
            )
        if organisation.spending.get(reference) != amount or not organisation.spending_uncleared(
            reference
        ):
            raise Conflict(
                f"{org} không có khoản chi qua ngân hàng {reference} {amount:,} đ chưa khớp dòng",
                f"{org} has no bank spending {reference} of {amount:,} đ not yet matched to a line",
                field="spending",
            )
        organisation.clear_spending(reference, str(item["transaction"]), [])
        postings = [
            debit(acct(org, "assets", "bank"), amount),
            credit(acct(org, "assets", "unexplained_outflow"), amount),
        ]
        queue.resolve(
            str(item["id"]), "spending", {"reference": reference}, check_balanced(postings)
        )
        self.save(organisation, *uow.pending())
        return {"id": item["id"], "how": "spending", "reference": reference}

    def _resolve_as_code(
        self, uow: UnitOfWork, org: str, queue: Any, item: dict[str, Any], code: str
    ) -> dict[str, Any]:
        """A held or flagged line that is the bank line of a transfer the ledger gave a code
        for, printed without it (the bank dropped the memo, the treasurer forgot it): a cash
        deposit's money arriving, a remittance by bank or a refund leaving. It clears that
        transfer as the line would have with the code. Before 2026-11-24 nothing could
        explain such a line: "not dues" booked its money a second time (a helper's check)."""
        from ledger.services.matching import collector

        amount, out = int(item["amount"]), item["direction"] == "out"
        request = uow.get(request_id(code), PaymentRequest)
        if request is None:
            raise NotFound(f"Không có mã {code}", f"No code {code}", field="code")
        postings: list[Posting] = []
        if not out and request.kind == "deposit" and collector(request) == org:
            branch = request.branch_code
            if request.cancelled_at is None and 0 < amount <= request.in_transit():
                postings = [
                    debit(acct(org, "liabilities", "suspense"), amount),
                    credit(acct(branch, "assets", "deposits_in_transit"), amount),
                ]
                if branch != org:  # the branch's cash, now the committee's bank money
                    postings += [
                        credit(acct(org, "liabilities", "due_to", branch), amount),
                        debit(acct(branch, "assets", "due_from", org), amount),
                    ]
        elif out and request.kind == "remittance" and request.items[0][0] == org:
            if 0 < amount <= request.uncleared("out"):
                postings = [debit(acct(org, "assets", "bank"), amount)]
        elif out and request.kind == "refund" and request.branch_code == org:
            unpaid = request.cancelled_at is None and "out" not in request.seen
            if unpaid and amount == request.total:
                postings = [debit(acct(org, "liabilities", "refunds_due"), amount)]
        if not postings:
            raise Conflict(
                f"Khoản {item['id']} ({amount:,} đ) không phải là dòng ngân hàng của mã {code}: "
                "cần một khoản nộp tiền mặt (tiền vào) hoặc khoản chuyển nộp cấp trên hay hoàn "
                "trả (tiền ra) của tổ chức này, chưa khớp dòng nào, với số tiền còn lại không "
                "nhỏ hơn khoản này",
                f"Item {item['id']} ({amount:,} đ) cannot be the bank line of code {code}: it "
                "takes a cash deposit (money in) or a remittance or refund (money out) of "
                "this organisation, not yet matched to a line, with at least this much left",
                field="code",
            )
        if out:
            postings.append(credit(acct(org, "assets", "unexplained_outflow"), amount))
        request.see("out" if out else "in", str(item["transaction"]), amount, [])
        # "refund" is an incoming item's refund to make; this is one paid out
        how = "refund_paid" if request.kind == "refund" else request.kind
        queue.resolve(str(item["id"]), how, {"reference": request.code}, check_balanced(postings))
        self.save(*uow.pending())
        return {"id": item["id"], "how": how, "reference": request.code}

    def held_line_for(self, org_code: str, amount: int, reference: str) -> str | None:
        """The open suspense item of `org_code` (or, without an account, of the organisation
        collecting for it) holding an incoming bank line with bank
        reference `reference` and this amount, on one of its accounts: what `pay --channel
        bank --reference R` recorded after its line means (None if there is none)."""
        ref = reference.strip().upper()
        if not ref:
            return None
        uow = UnitOfWork(self)
        org = self.get_org(org_code)
        if not org.active_accounts(self.today_iso()):  # paid into its committee's account
            collector = self._collector(org)  # type: ignore[attr-defined]
            if collector is not None:
                org_code, org = str(collector["org"]), self.get_org(str(collector["org"]))
        for account in org.accounts:
            key = transaction_id(account_key(str(account["account_number"]), "in"), ref)
            tx = self.get_or_none(key, BankTransaction)
            alias = None if tx is not None else self.get_or_none(claimed_id(key), NotificationAlias)
            if alias is not None:  # a gateway's line this statement line claimed
                tx = self.get_or_none(UUID(alias.transaction), BankTransaction)
            if (
                tx is None
                or tx.amount != amount
                or tx.matched is not None
                or tx.suspense is None
                or tx.suspense["flagged"]
            ):
                continue
            _, item = self._held_item(uow, org_code, tx)  # type: ignore[attr-defined]
            if item is not None and item["resolution"] is None:
                return str(item["id"])
        return None

    def _item_queue(self, uow: UnitOfWork | None, item_id: str) -> tuple[str, SuspenseQueue | None]:
        """The organisation of `item_id` and the queue that holds it (None if there is none)."""
        org, day = parse_item_id(item_id)
        key = queue_id(org, day)
        if uow is not None:
            return org, uow.get(key, SuspenseQueue)
        return org, self.get_or_none(key, SuspenseQueue)

    def confirm_proposal(self, item_id: str) -> dict[str, Any]:
        """Apply what the ledger proposed for this item (the member and months it named)."""
        _, queue = self._item_queue(None, item_id)
        item = queue.item(item_id) if queue is not None else None
        proposal = item.get("proposal") if item is not None else None
        if item is None or not proposal:
            raise Conflict(
                f"Khoản {item_id} không có đề xuất nào để xác nhận",
                f"Suspense item {item_id} has no proposal to confirm",
                field="id",
            )
        try:
            return self.resolve_suspense(
                item_id, member=proposal["member"], months=list(proposal["months"])
            )
        except Conflict as e:
            if e.field != "months":
                raise
            member, months = proposal["member"], ", ".join(proposal["months"])
            raise Conflict(  # the member paid those months since (another item, say)
                f"Đề xuất cho {item_id} đã cũ: {member} không còn nợ tháng {months}. "
                f"Xử lý bằng: suspense resolve {item_id} --member {member} (trả các tháng "
                "cũ nhất, phần còn lại thành số dư) hoặc cách khác",
                f"The proposal for {item_id} is out of date: {member} no longer owes "
                f"{months}. Resolve it with: suspense resolve {item_id} --member {member} "
                "(the oldest months owed, the rest credit) or another choice",
                field="months",
            ) from e

    def _refund_request(self, org: str, item: dict[str, Any]) -> Any:
        """A code for the refund transfer's memo, so the line that pays it out is matched."""

        from ledger.reference_code import code_for

        tx = self.get_or_none(UUID(item["transaction"]), BankTransaction)
        number = tx.account_number if tx is not None else None
        return self._create_request(  # type: ignore[attr-defined]
            "refund",
            org,
            tx.counterparty or "" if tx is not None else "",
            None,
            [[org, [], int(item["amount"])]],
            f"HOAN TRA {item['id']}",
            number,
            "refund from the account the money came into",
            90,
            code=code_for(f"refund/{item['id']}"),
            save=False,
        )

    def resolve_suspense(
        self,
        item_id: str,
        *,
        member: str | None = None,
        months: list[Period] | None = None,
        refund: bool = False,
        not_dues: str | None = None,
        split: list[tuple[str, int]] | None = None,
        payment_reference: str | None = None,
        spending: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        """Resolve an item: to one member's dues (`member`, `months`), shared between
        members (`split`: (member, amount) shares adding up to the item, each applied to
        that member's oldest months owed, the rest their credit: a batch's excess, say),
        a refund to make, not dues with a reason, or (money out) the bank spending
        `spending` names, recorded with `spend` (its voucher not printed on the line, or
        recorded while the statement was being imported), or the bank line of the deposit,
        remittance or refund `code` names, printed without it. `payment_reference`: the
        member's payment's reference (`pay` naming the line's bank reference), else the
        item's."""
        chosen = [
            member is not None,
            refund,
            not_dues is not None,
            split is not None,
            spending is not None,
            code is not None,
        ]
        if sum(chosen) != 1:
            raise InvalidInput(  # named as both the CLI and the HTTP body name them
                "Chọn đúng một cách xử lý: member (giao cho đảng viên), split (chia), refund "
                "(hoàn trả), not_dues (không phải đảng phí), spending (khoản chi) hoặc code "
                "(mã nộp tiền mặt, chuyển nộp hay hoàn trả); trên dòng lệnh: --member, "
                "--split, --refund, --not-dues, --spending, --code",
                "Choose exactly one resolution: member, split, refund, not_dues, spending or "
                "code (a deposit's, remittance's or refund's); on the command line: --member, "
                "--split, --refund, --not-dues, --spending, --code",
                field="resolution",
            )
        if months is not None and member is None:  # it would be passed over in silence
            raise InvalidInput(
                "Chỉ chọn tháng (--months) khi giao cho một đảng viên (--member)",
                "Months (--months) go with one member (--member) only",
                field="months",
            )
        uow = UnitOfWork(self)
        org, queue = self._item_queue(uow, item_id)
        if queue is None:
            self.get_org(org)
            raise NotFound(
                f"Không có khoản tạm giữ {item_id}", f"No suspense item {item_id}", field="id"
            )
        item = queue.item(item_id)
        if item["resolution"] is not None:
            raise Conflict(
                f"Khoản {item_id} đã được xử lý",
                f"Suspense item {item_id} is already resolved",
                field="id",
            )
        amount, suspense = int(item["amount"]), acct(org, "liabilities", "suspense")
        postings: list[Posting] = []
        detail: dict[str, Any] = {}
        if code is not None:
            return self._resolve_as_code(uow, org, queue, item, code.strip().upper())
        if item["direction"] == "out" and not_dues is None and spending is None:
            raise Conflict(
                "Khoản chi chưa rõ chỉ có thể ghi là khoản chi đã ghi sổ (--spending), khoản "
                "chuyển nộp cấp trên hay hoàn trả theo mã (--code), hoặc không phải đảng phí "
                "(kèm lý do)",
                "Unexplained outgoing money can only be marked as recorded spending "
                "(--spending), a remittance or refund by its code (--code), or not dues "
                "(with a reason)",
                field="resolution",
            )
        if spending is not None:
            return self._resolve_as_spending(uow, org, queue, item, spending.strip())

        def pay(code: str, share: int, reference: str, wanted: list[Period] | None) -> str:
            """Money from the item's suspense to a member's dues; the payment's reference."""
            made = self.prepare_payment(  # type: ignore[attr-defined]
                uow,
                code,
                share,
                reference=reference,
                months=wanted,
                received_by=org,
                paid_from=suspense,
                # received when the bank says, not when the treasurer got to it
                value_date=str(item["value_date"]) if item.get("value_date") else None,
            )
            if made.duplicate:  # an item and its payment are saved together: this one is
                # not the resolution's (a payment recorded by hand under this reference)
                raise Conflict(
                    f"Mã tham chiếu {reference} đã dùng cho một khoản nộp khác",
                    f"Reference {reference} is already used by another payment",
                    field="reference",
                )
            return str(made.reference)

        if split is not None:
            payments = [
                {
                    "member": code,
                    "amount": share,
                    "payment": pay(code, share, f"SUSPENSE:{item_id}:{code}", None),
                }
                for code, share in _check_split(split, amount)
            ]
            how, detail = "members", {"payments": payments}
        elif member is not None:
            paid = pay(member, amount, payment_reference or f"SUSPENSE:{item_id}", months)
            if payment_reference is not None:  # the bank's reference: this line is its line,
                # and no other line with it may clear it again (a review)
                made = uow.get(payment_id(paid), Payment)
                if made is not None and made.cleared_by is None:
                    made.seen_on_bank(str(item["transaction"]))
            how, detail = "member", {"member": member, "payment": paid}
        elif refund:
            how, postings = (
                "refund",
                [debit(suspense, amount), credit(acct(org, "liabilities", "refunds_due"), amount)],
            )
            request = self._refund_request(org, item)
            uow.add(request)
            detail = {"reference": request.code}
        else:
            reason = (not_dues or "").strip()
            if not reason:
                raise InvalidInput("Cần lý do", "A reason is required", field="not_dues")
            how, detail = "not_dues", {"reason": reason}
            if item["direction"] == "in":
                postings = [
                    debit(suspense, amount),
                    credit(acct(org, "income", "not_dues"), amount),
                ]
            else:
                outflow = acct(org, "assets", "unexplained_outflow")
                postings = [
                    debit(acct(org, "expenses", "not_dues"), amount),
                    credit(outflow, amount),
                ]
        queue.resolve(item_id, how, detail, check_balanced(postings))
        self.save(*uow.pending())
        return {"id": item_id, "how": how, **detail}


def _check_split(split: list[tuple[str, int]], amount: int) -> list[tuple[str, int]]:
    """Shares of distinct members, each a positive whole amount, adding up to the item."""
    codes = [code for code, _ in split]
    if not split or len(set(codes)) != len(codes):
        raise InvalidInput(
            "Chia cho ít nhất một đảng viên, mỗi người một lần",
            "Split among at least one member, each named once",
            field="split",
        )
    if any(share <= 0 for _, share in split):
        raise InvalidInput(
            "Mỗi phần chia phải là số tiền dương",
            "Each share must be a positive amount",
            field="split",
        )
    total = sum(share for _, share in split)
    if total != amount:
        raise InvalidInput(
            f"Các phần chia cộng lại {total:,} đ, khoản tạm giữ là {amount:,} đ",
            f"The shares add up to {total:,} đ; the item is {amount:,} đ",
            field="split",
        )
    return split
