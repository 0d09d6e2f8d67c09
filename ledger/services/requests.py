"""Payment requests and bank transactions: asking for money by VietQR and settling it.

Rule: the ledger decides the amount and the target account; the QR payload
comes from the injected encoder (a port). A transfer that arrives is recorded
once per bank transaction id; if its narrative carries a valid reference code
of a request, the request is settled in the same transaction: a member's
money is applied like any payment (the excess is credit); a batch is split
across its members exactly (short: in proportion, largest remainder; over:
each member in full and the rest held for the treasurer). Money for an
expired or cancelled request is still recorded, never lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ledger.bank_transaction import BankTransaction
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.ids import register_id
from ledger.organisation import Organisation
from ledger.payment_request import KINDS, PaymentRequest, request_id
from ledger.period import Period, add_months, months_between, parse_period
from ledger.ports import BankDirectory, QRPayloadEncoder
from ledger.reference_code import new_code
from ledger.register import Register
from ledger.services.base import LedgerBase, UnitOfWork

DEFAULT_EXPIRY_DAYS = 7
HOLDER_VI = {"organisation": "mang tên tổ chức", "personal": "cá nhân", "treasury": "kho bạc"}


class RequestCommands(LedgerBase):
    qr_encoder: QRPayloadEncoder | None = None
    bank_directory: BankDirectory | None = None

    # -- creating --------------------------------------------------------------
    def member_request(
        self,
        member_code: str,
        *,
        months_ahead: int = 0,
        account: str | None = None,
        override_reason: str | None = None,
        expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    ) -> PaymentRequest:
        """This month plus arrears, or also `months_ahead` months ahead; less any credit."""
        if months_ahead < 0 or months_ahead > 24:
            raise InvalidInput(
                "Số tháng nộp trước: 0–24", "Months ahead must be 0–24", field="months"
            )
        member = self.get_member(member_code)
        period = self.current_period()
        member.check_active(period)
        branch = member.branch_code
        register = self._register_of(branch, member_code)
        registers = self.member_registers(UnitOfWork(self), member)
        arrears = self.unpaid_items(registers, member_code)
        last = _last_assessed(registers, member_code)
        periods, amount = self._owed(
            register, arrears, member_code, period, months_ahead, last, member.ended_from
        )
        if amount <= 0:
            raise Conflict(
                f"Đảng viên {member_code} không còn khoản nào phải nộp",
                f"Member {member_code} owes nothing for these months",
            )
        # the month it runs to before any months ahead (its QR names it)
        base = max(period, last or period)
        hint = f"DP {base[5:]}/{base[:4]}" + (f"+{months_ahead}" if months_ahead else "")
        return self._create_request(
            "member",
            branch,
            member.full_name,
            None,
            [[member_code, periods, amount]],
            hint,
            account,
            override_reason,
            expires_in_days,
        )

    def batch_request(
        self,
        payer_name: str,
        member_codes: list[str],
        *,
        period: Period | None = None,
        payer_account: str | None = None,
        kind: str = "batch",
        account: str | None = None,
        override_reason: str | None = None,
        expires_in_days: int = DEFAULT_EXPIRY_DAYS,
    ) -> PaymentRequest:
        """Pay-on-behalf (or payroll): one QR for what the listed members owe for `period`."""
        if kind not in KINDS[1:]:
            raise InvalidInput(
                f"Loại '{kind}' không hợp lệ", f"Unknown batch kind '{kind}'", field="kind"
            )
        if not payer_name.strip():
            raise InvalidInput("Thiếu tên người nộp hộ", "The payer's name is empty", field="payer")
        codes = list(dict.fromkeys(c.strip() for c in member_codes if c.strip()))
        if not codes:
            raise InvalidInput(
                "Danh sách đảng viên trống", "The member list is empty", field="members"
            )
        period = parse_period(period) if period else self.current_period()
        members = [self.get_member(c) for c in codes]
        branches = {m.branch_at(period) or m.branch_code for m in members}
        if len(branches) != 1:
            raise Conflict(
                f"Các đảng viên thuộc nhiều chi bộ ({', '.join(sorted(branches))}); mỗi yêu cầu cho một chi bộ",
                f"The members belong to several branches ({', '.join(sorted(branches))}); one request per branch",
                field="members",
            )
        branch = branches.pop()
        register = self.get_or_none(register_id(branch), Register)
        items, nothing = [], []
        for m in members:
            m.check_active(period)
            owed = self._owed_for_period(register, m.code, period)
            (items.append([m.code, [period], owed]) if owed > 0 else nothing.append(m.code))
        if nothing:
            raise Conflict(
                f"Không còn phải nộp tháng {period}: {', '.join(nothing)}",
                f"Nothing is owed for {period} by: {', '.join(nothing)}",
                field="members",
            )
        hint = f"DP {period[5:]}/{period[:4]} x{len(items)}"
        return self._create_request(
            kind,
            branch,
            payer_name.strip(),
            payer_account,
            items,
            hint,
            account,
            override_reason,
            expires_in_days,
        )

    def months_not_opened(self, member_code: str) -> list[Period]:
        """Months before this one that the member's branch has not opened yet, from the
        later of the member's first month there and the branch's first opened month: a
        member request asks for what is assessed, so these are not in its amount (they
        are owed once the treasurer opens them). Shown beside a request so the member
        and the treasurer are told, not left to notice a month missing from the list."""
        member = self.get_member(member_code)
        register = self._register_of(member.branch_code, member_code)
        if not register.opened:
            return []
        period = self.current_period()
        month = max(str(register.record(member_code)["from"]), register.opened[0])
        opened = set(register.opened)
        return [m for m in months_between(month, add_months(period, -1)) if m not in opened]

    def _register_of(self, branch: str, member_code: str) -> Register:
        register = self.get_or_none(register_id(branch), Register)
        if register is None or member_code not in register.members:
            raise NotFound(
                f"{member_code} không có trong sổ chi bộ {branch}",
                f"{member_code} is not in the register of {branch}",
            )
        return register

    def request_start(self, member_code: str) -> Period:
        """The month a member's request runs to before any months ahead: this month, or a
        later one a branch of theirs has opened already (months ahead follow it). The
        HTTP API counts a request's named months from it."""
        member = self.get_member(member_code)
        registers = self.member_registers(UnitOfWork(self), member)
        period = self.current_period()
        return max(period, _last_assessed(registers, member_code) or period)

    def _owed(
        self,
        register: Register,
        arrears: list[list[Any]],
        code: str,
        period: Period,
        ahead: int,
        last: Period | None,
        ended_from: Period | None = None,
    ) -> tuple[list[Period], int]:
        """Arrears (from every branch's register), this month if not yet assessed, months
        ahead. `last`: the last month any of the member's branches opened while they were
        on its register (a transfer's old branch may have opened one the new has not)."""
        record = register.record(code)
        periods = [p for _, p, _ in arrears]
        amount = sum(int(a) for _, _, a in arrears)
        book = self.policy().book
        last = last or add_months(period, -1)
        future = [] if period <= last else [period]
        start = max(last, period)
        future += [add_months(start, i) for i in range(1, ahead + 1)]
        # never a month already owed (a month opened, then the member left from it), nor
        # one from the month the member leaves the party list
        future = [p for p in future if p not in periods and (ended_from is None or p < ended_from)]
        for p in future:
            amount += book.assess(register.facts_at(code, p), p).amount
            periods.append(p)
        return periods, max(amount - int(record["credit"]), 0)

    def _owed_for_period(self, register: Register | None, code: str, period: Period) -> int:
        if register is None or code not in register.members:
            raise NotFound(
                f"{code} không có trong sổ chi bộ", f"{code} is not in a branch register"
            )
        record = register.members[code]
        if period in register.opened:
            return sum(int(a) for _, p, a in record["unpaid"] if p == period)
        due = self.policy().book.assess(register.facts_at(code, period), period).amount
        return max(due - int(record["credit"]), 0)

    def _create_request(
        self,
        kind: str,
        branch: str,
        payer: str,
        payer_account: str | None,
        items: list[list[Any]],
        hint: str,
        account: str | None,
        override_reason: str | None,
        expires_in_days: int,
        *,
        code: str | None = None,
        save: bool = True,
    ) -> PaymentRequest:
        """`code`: the ledger's own transfers pass one derived from what they are (so a retry
        finds it); `save=False` leaves the request for the caller to save with its own events."""
        if not 1 <= expires_in_days <= 90:
            raise InvalidInput(
                "Hạn thanh toán: 1–90 ngày", "Expiry must be 1–90 days", field="expires"
            )
        target = self._target_account(self.get_org(branch), account, override_reason)
        if self.qr_encoder is None:
            raise Conflict("Chưa cấu hình bộ mã hoá VietQR", "No VietQR encoder is configured")
        if code is None:
            code = new_code()
            while self.get_or_none(request_id(code), PaymentRequest) is not None:
                code = new_code()
        total = sum(int(i[2]) for i in items)
        payload = (
            ""  # a refund goes out to the payer's account, which a QR to ours cannot name
            if kind == "refund"
            else self.qr_encoder.encode_transfer(
                bin_code=target["bin"],
                account=target["account_number"],
                amount=total,
                purpose=f"{code} {hint}",
            )
        )
        now = self.clock.now()
        request = PaymentRequest(
            code=code,
            kind=kind,
            branch_code=branch,
            payer_name=payer,
            payer_account=payer_account,
            items=items,
            total=total,
            hint=hint,
            target=target,
            payload=payload,
            created_at=now.isoformat(),
            expires_at=(now + timedelta(days=expires_in_days)).isoformat(),
        )
        if target["holder_kind"] != "organisation":
            request.override_target(target["holder_kind"], str(override_reason).strip())
        if save:
            self.save(request)
        return request

    def _target_account(
        self, org: Organisation, number: str | None, override_reason: str | None
    ) -> dict[str, Any]:
        active = org.active_accounts(self.today_iso())
        if number is not None:
            chosen = [a for a in active if a["account_number"] == number]
            if not chosen:
                raise NotFound(
                    f"Tài khoản {number} không phải tài khoản đang hoạt động của {org.code}",
                    f"Account {number} is not an active registered account of {org.code}",
                    field="account",
                )
        else:
            chosen = [a for a in active if a["holder_kind"] == "organisation"] or active
            if not chosen:  # a branch without an account pays into its committee's
                collector = self._collector(org)
                if collector is not None:
                    return {**collector, "org": collector["org"]}
        if not chosen:
            raise Conflict(
                f"{org.code} chưa đăng ký tài khoản ngân hàng nào",
                f"{org.code} has no registered bank account",
                field="account",
            )
        target = {**chosen[0], "org": org.code}
        if self.bank_directory is not None and self.bank_directory.bank_name(target["bin"]) is None:
            raise InvalidInput(
                f"BIN {target['bin']} không có trong danh sách ngân hàng",
                f"Unknown bank BIN {target['bin']}",
                field="bin",
            )
        if target["holder_kind"] != "organisation" and not (override_reason or "").strip():
            raise Conflict(
                f"Tài khoản {target['account_number']} là tài khoản {HOLDER_VI.get(target['holder_kind'], target['holder_kind'])}, không phải tài khoản mang tên tổ chức; "
                "cần lý do ngoại lệ (--override-reason) và việc này được ghi lại để kiểm tra",
                f"Account {target['account_number']} is a {target['holder_kind']} account, not the organisation's; "
                "an override with a reason (--override-reason) is required and is recorded for inspection",
                field="account",
            )
        return target

    def _collector(self, org: Organisation) -> dict[str, Any] | None:
        """The nearest organisation above `org` with an active account in the organisation's
        name: it collects for its branches that have none (the money is booked there and
        owed on to the branch)."""
        period, today = self.current_period(), self.today_iso()
        parent = org.parent_at(period)
        while parent is not None:
            above = self.get_org(parent)
            held = [a for a in above.active_accounts(today) if a["holder_kind"] == "organisation"]
            if held:
                return {**held[0], "org": above.code}
            parent = above.parent_at(period)
        return None

    # -- status and cancelling --------------------------------------------------
    def get_request(self, code: str) -> PaymentRequest:
        request = self.get_or_none(request_id(code.strip().upper()), PaymentRequest)
        if request is None:
            raise NotFound(
                f"Không có yêu cầu thanh toán {code}",
                f"No payment request {code}",
                field="reference",
            )
        return request

    def request_status(self, code: str) -> dict[str, Any]:
        r = self.get_request(code)
        status, received = r.status(self.clock.now()), r.received
        remaining = self.still_owed(UnitOfWork(self), r)
        if r.kind == "deposit":  # its bank lines clear it (`see`); it receives no transfers
            received = r.deposit_cleared()
            remaining = [r.in_transit()]
            if received and r.cancelled_at is None:
                status = "paid" if received >= r.total else "partly_paid"
        return {
            "reference": r.code,
            "kind": r.kind,
            "status": status,
            "total": r.total,
            "received": received,
            "held": r.held,
            "remaining": remaining,
            "branch": r.branch_code,
            "payer": r.payer_name,
            "hint": r.hint,
            "items": r.items,
            "target": r.target,
            "override_reason": r.override_reason,
            "expires_at": r.expires_at,
            "payload": r.payload,
            "transfers": r.transfers,
        }

    def still_owed(self, uow: UnitOfWork, request: PaymentRequest) -> list[int]:
        """What each listed member still owes under the request: what it asked of them
        less what it received for them, and no more than they owe now for its months
        (they may have paid some otherwise since, or paid ahead)."""
        left = request.remaining()
        if request.kind not in KINDS:
            return left
        return [
            share if (now := self.owed_now(uow, member, periods)) is None else min(share, now)
            for (member, periods, _), share in zip(request.items, left, strict=True)
        ]

    def owed_now(self, uow: UnitOfWork, member: str, periods: list[str]) -> int | None:
        """What `member` owes now for `periods`: what is unpaid of those opened, and for
        those not opened yet, their dues less the member's credit (as a request for them
        is made). None if the member is on no register to assess them by."""
        found = uow.member(member)
        registers = self.member_registers(uow, found)
        opened = {p for r in registers for p in r.opened}
        unpaid = sum(
            int(i[2])
            for i in self.unpaid_items(registers, member)
            if i[1] in periods and i[1] in opened
        )
        ahead = [p for p in periods if p not in opened]
        if not ahead:
            return unpaid
        home = uow.get(register_id(found.branch_code), Register)
        if home is None or member not in home.members:
            return None
        book = self.policy().book
        due = sum(book.assess(home.facts_at(member, p), p).amount for p in ahead)
        return unpaid + max(due - int(home.members[member]["credit"]), 0)

    def cancel_request(self, code: str, reason: str) -> None:
        request = self.get_request(code)
        request.cancel(reason.strip() or "cancelled", self.clock.now().isoformat())
        self.save(request)


def paid_into_target(request: PaymentRequest, tx: BankTransaction) -> bool:
    """The code alone is not enough: the money must have reached the request's own account
    (and bank, where the notification names one). Otherwise it stays recorded, unsettled."""
    target = request.target
    if tx.account_number.strip() != target["account_number"]:
        return False
    return tx.bin_code is None or tx.bin_code == target["bin"]


def is_expired(request: PaymentRequest, now: datetime) -> bool:
    return request.status(now) == "expired"


def _last_assessed(registers: list[Register], code: str) -> Period | None:
    """The last month any of these branches opened while the member was on its register."""
    months = [
        p
        for r in registers
        for p in r.opened
        if r.members[code]["from"] <= p
        and (r.members[code]["until"] is None or p < r.members[code]["until"])
    ]
    return max(months, default=None)
