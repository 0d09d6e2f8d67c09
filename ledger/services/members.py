"""Member commands: import, transfer, temporary attendance, income changes, exemptions, leaving.

Rule: a member's dues facts live in their branch's Register and their identity
in the Member aggregate; a command that touches both saves both in one call.
An official transfer carries the member's credit and unpaid months to the new
branch (the transfer papers' "paid through" month is recorded with it).
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.errors import Conflict, ImportRejected, InvalidInput, NotFound
from ledger.ids import member_id, org_id, register_id, roll_id
from ledger.member import Member
from ledger.money import MAX_MONTHLY_BASE
from ledger.organisation import MEMBER_TYPES, Organisation
from ledger.period import Period, add_months, parse_period, period_of
from ledger.policy_rules import Exemption
from ledger.postings import acct, check_balanced, credit, credit_transfer_postings, debit
from ledger.register import Register, new_record
from ledger.roll import Roll, roll_line
from ledger.services.base import LedgerBase, UnitOfWork
from ledger.services.structure import CODE, ImportResult

CATEGORIES = (
    "social_insured",
    "sick_or_maternity",
    "pensioner",
    "student",
    "other_below_retirement",
    "other_retirement_age",
)
BASE_CATEGORIES = ("social_insured", "sick_or_maternity", "pensioner")
REGIONS = ("I", "II", "III", "IV")


def parse_day(text: str) -> date | None:
    value = (text or "").strip()
    for pattern, order in (
        (r"(\d{4})-(\d{2})-(\d{2})", "ymd"),
        (r"(\d{2})/(\d{2})/(\d{4})", "dmy"),
    ):
        m = re.fullmatch(pattern, value)
        if m:
            a, b, c = (int(x) for x in m.groups())
            try:
                return date(a, b, c) if order == "ymd" else date(c, b, a)
            except ValueError:
                return None
    return None


def member_row_problems(row: dict[str, str], today: date) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    code = (row.get("code") or "").strip()
    if not CODE.match(code):
        out.append((f"mã đảng viên '{code}' không hợp lệ", f"member code '{code}' is invalid"))
    if not (row.get("full_name") or "").strip():
        out.append(("thiếu họ tên", "full_name is empty"))
    category = (row.get("category") or "").strip()
    if category not in CATEGORIES:
        out.append(
            (
                f"đối tượng '{category}' không hợp lệ",
                f"category '{category}' is not one of {', '.join(CATEGORIES)}",
            )
        )
    base = (row.get("monthly_base") or "").strip().replace(",", "")
    if base and not (base.isascii() and base.isdigit()):  # "5²" is a digit to isdigit
        out.append(
            (
                f"mức thu nhập '{base}' không phải số đồng nguyên",
                f"monthly_base '{base}' is not a whole number of đồng",
            )
        )
    elif base and (len(base.lstrip("0")) > 13 or int(base) > MAX_MONTHLY_BASE):
        # (the length first: int() refuses a 5,000-digit text)
        out.append(
            (
                f"mức thu nhập {base[:20]}… quá lớn (tối đa {MAX_MONTHLY_BASE:,} đ)"
                if len(base) > 20
                else f"mức thu nhập {int(base):,} quá lớn (tối đa {MAX_MONTHLY_BASE:,} đ)",
                f"monthly_base {base[:20]}… is too large (at most {MAX_MONTHLY_BASE:,} đ)"
                if len(base) > 20
                else f"monthly_base {int(base):,} is too large (at most {MAX_MONTHLY_BASE:,} đ)",
            )
        )
    if not base and category in BASE_CATEGORIES:
        out.append(
            (f"đối tượng {category} cần mức thu nhập", f"category {category} needs a monthly_base")
        )
    if (row.get("region") or "").strip() not in REGIONS:
        out.append(
            (
                f"vùng '{row.get('region', '')}' không hợp lệ (I..IV)",
                f"region '{row.get('region', '')}' is not one of I, II, III, IV",
            )
        )
    joined = parse_day(row.get("party_joined_on", ""))
    if joined is None:
        out.append(
            (
                f"ngày vào Đảng '{row.get('party_joined_on', '')}' không hợp lệ",
                f"party_joined_on '{row.get('party_joined_on', '')}' is not a date (YYYY-MM-DD)",
            )
        )
    elif joined > today:
        out.append(("ngày vào Đảng ở tương lai", "party_joined_on is in the future"))
    national_id = (row.get("national_id") or "").strip()
    if national_id and not re.fullmatch(r"\d{9}|\d{12}", national_id):
        out.append(
            ("số định danh phải có 9 hoặc 12 chữ số", "national_id must have 9 or 12 digits")
        )
    return out


class MemberCommands(LedgerBase):
    def import_members(
        self, rows: list[tuple[int, dict[str, str]]], from_period: Period | None = None
    ) -> ImportResult:
        """`rows`: (line, {code, full_name, branch_code, category, monthly_base, region,
        party_joined_on, national_id?}). All rows are checked before anything is saved."""
        if from_period is not None:
            from_period = parse_period(from_period, field="from_period")
        today = date.fromisoformat(self.today_iso())
        problems: list[tuple[int, str, str]] = []
        seen: set[str] = set()
        for line, row in rows:
            for vi, en in member_row_problems(row, today):
                problems.append((line, vi, en))
            code = (row.get("code") or "").strip()
            if code in seen:
                problems.append(
                    (line, f"mã '{code}' bị trùng trong tệp", f"code '{code}' appears twice")
                )
            seen.add(code)
        branch_codes = {(r.get("branch_code") or "").strip() for _, r in rows}
        branches = {
            o.code: o
            for o in self.load_many([org_id(c) for c in branch_codes if c], Organisation).values()
        }
        existing = {
            m.code: m for m in self.load_many([member_id(c) for c in seen if c], Member).values()
        }
        for line, row in rows:
            for vi, en in self._member_row_conflicts(row, branches, existing):
                problems.append((line, vi, en))
        if problems:
            raise ImportRejected(sorted(problems), "đảng viên / members")
        return self._enrol(rows, existing, from_period)

    @staticmethod
    def _member_row_conflicts(
        row: dict[str, str], branches: dict[str, Organisation], existing: dict[str, Member]
    ) -> list[tuple[str, str]]:
        branch = (row.get("branch_code") or "").strip()
        org = branches.get(branch)
        if org is None:
            return [(f"không có chi bộ '{branch}'", f"branch '{branch}' does not exist")]
        if org.org_type not in MEMBER_TYPES:
            return [
                (f"'{branch}' không phải chi bộ", f"'{branch}' is a {org.org_type}, not a branch")
            ]
        old = existing.get((row.get("code") or "").strip())
        if old is not None and (
            old.branch_code != branch or old.full_name != row["full_name"].strip()
        ):
            return [
                (
                    f"đảng viên '{old.code}' đã có ở chi bộ {old.branch_code}",
                    f"member '{old.code}' is already registered in branch {old.branch_code}",
                )
            ]
        return []

    def _enrol(
        self,
        rows: list[tuple[int, dict[str, str]]],
        existing: dict[str, Member],
        from_period: Period | None,
    ) -> ImportResult:
        by_branch: dict[str, list[dict[str, Any]]] = {}
        members: list[Aggregate] = []
        for _, row in rows:
            code = row["code"].strip()
            if code in existing:
                continue
            joined = parse_day(row["party_joined_on"])
            assert joined is not None
            since = max(from_period or period_of(joined), period_of(joined))
            branch = row["branch_code"].strip()
            base = (row.get("monthly_base") or "").strip().replace(",", "")
            record = new_record(
                code,
                row["full_name"].strip(),
                since,
                row["category"].strip(),
                int(base) if base else None,
                row["region"].strip(),
                joined.isoformat(),
            )
            by_branch.setdefault(branch, []).append(record)
            national_id = (row.get("national_id") or "").strip() or None
            members.append(
                Member(
                    code=code,
                    full_name=record["name"],
                    branch_code=branch,
                    from_period=since,
                    party_joined_on=joined.isoformat(),
                    national_id_encrypted=self._encrypt_id(national_id),
                )
            )
        registers = self.load_many([register_id(b) for b in by_branch], Register)
        uow = UnitOfWork(self)
        late: list[tuple[str, str, int]] = []
        for branch, records in by_branch.items():
            register = registers.get(register_id(branch)) or Register(branch_code=branch)
            register.enrol(records)
            uow.add(register)
            late += self._assess_late(uow, register, [r["code"] for r in records])
        for member in members:
            uow.add(member)
        self.save(*uow.pending())
        return ImportResult(
            created=len(members), unchanged=len(existing), assessed_late=tuple(late)
        )

    def _assess_late(
        self, uow: UnitOfWork, register: Register, codes: list[str]
    ) -> list[tuple[str, str, int]]:
        """Members just enrolled into months their branch has already opened (from the month
        they belong from, `--from` or the month they joined the party) owe those months as
        every member did: each is assessed now, on that month's roll, as a back-dated
        assessment (`arrears` on the month, nothing `assessed_at_opening`; docs/policy.md).
        Before, such a member was never assessed for those months and no request asked for
        them. Returns (code, period, amount) for each month assessed."""
        periods = {p: register.active_codes(p) for p in register.opened}
        wanted = [(p, c) for p, active in periods.items() for c in codes if c in active]
        if not wanted:
            return []
        b = register.branch_code
        rolls = uow.load_many(sorted({roll_id(b, p) for p, _ in wanted}), Roll)
        policy = self.policy()
        book = policy.book
        late: list[tuple[str, str, int]] = []
        for p, code in sorted(wanted):
            roll = rolls.get(roll_id(b, p))
            if roll is None or code in roll.lines:  # a guard: an opened month has its roll
                continue
            a = book.assess(register.facts_at(code, p), p)
            line = roll_line(code, a)
            postings = [
                debit(acct(b, "assets", "receivable", code), a.amount),
                credit(acct(b, "income", "dues_assessed"), a.amount),
            ]
            roll.adjust(code, line, 0, 0, 0, check_balanced(postings))
            register.adjust(code, b, p, a.amount, 0)
            late.append((code, p, a.amount))
        if late and policy.pending_events:
            uow.add(policy)
        return late

    def _encrypt_id(self, national_id: str | None) -> str | None:
        if national_id is None:
            return None
        if self.identity_cipher is None:
            raise InvalidInput(
                "Chưa cấu hình khoá mã hoá nên không lưu được số định danh",
                "No encryption key is configured, so national ID numbers cannot be stored",
                field="national_id",
            )
        return self.identity_cipher.encrypt(national_id)

    def national_id_of(self, code: str) -> str | None:
        """The decrypted national ID (for authorised use only; print it masked)."""
        member = self.get_member(code)
        if member.national_id_encrypted is None or self.identity_cipher is None:
            return None
        return self.identity_cipher.decrypt(member.national_id_encrypted)

    def _member_and_register(self, code: str, period: Period) -> tuple[Member, Register]:
        member = self.get_member(code)
        member.check_active(period)
        branch = member.branch_at(period) or member.branch_code
        register = self.get_or_none(register_id(branch), Register)
        if register is None or code not in register.members:
            raise NotFound(
                f"Không thấy {code} trong sổ chi bộ {branch}",
                f"{code} is not in the register of {branch}",
            )
        return member, register

    def transfer_member(self, code: str, to_branch: str, from_period: Period) -> None:
        """Official transfer from a month. Credit moves with the member; months the old branch
        assessed stay owed there (its register stays their authority) and are paid through
        the new branch like any others."""
        from_period = parse_period(from_period, field="from_period")
        member, old = self._member_and_register(code, from_period)
        target = self.get_org(to_branch)
        target.check_active(from_period)
        if target.org_type not in MEMBER_TYPES:
            raise Conflict(f"'{to_branch}' không phải chi bộ", f"'{to_branch}' is not a branch")
        new = self.get_or_none(register_id(to_branch), Register) or Register(branch_code=to_branch)
        for reg in (old, new):
            if any(p >= from_period for p in reg.opened):
                raise Conflict(
                    f"Chi bộ {reg.branch_code} đã mở sổ tháng {max(reg.opened)}; chuyển từ tháng sau đó",
                    f"Branch {reg.branch_code} already opened {max(reg.opened)}; transfer from a later month",
                )
        record = copy.deepcopy(old.record(code))
        oldest_unpaid = min((i[1] for i in record["unpaid"]), default=from_period)
        record.update(
            {
                "from": from_period,
                "until": None,
                "unpaid": [],
                "paid_through_on_transfer": add_months(oldest_unpaid, -1),
            }
        )
        moving = int(record["credit"])  # only the credit the old branch holds leaves it
        returning = new.members.get(code)
        if returning is not None:
            # Back to a branch the member left: the months it assessed stay owed there.
            record["unpaid"] = copy.deepcopy(returning["unpaid"])
            record["credit"] = moving + int(returning["credit"])
        member.transfer(to_branch, from_period)
        old.leave(code, from_period)
        if moving:
            old.move_credit(
                code,
                to_branch,
                moving,
                credit_transfer_postings(old.branch_code, to_branch, code, moving),
            )
        new.transfer_in(record)
        self.save(member, old, new)

    def attend_temporarily(
        self, code: str, branch: str, from_period: Period, until_period: Period
    ) -> None:
        from_period = parse_period(from_period, field="from_period")
        until_period = parse_period(until_period, field="until")
        member = self.get_member(code)
        member.check_active(from_period)
        self.get_org(branch).check_active(from_period)
        if until_period < from_period:
            raise InvalidInput(
                "Tháng kết thúc trước tháng bắt đầu", "until is before from", field="until"
            )
        member.attend_temporarily(branch, from_period, until_period)
        self.save(member)

    def end_membership(self, code: str, from_period: Period, reason: str) -> None:
        """Off the party list from a month. Months already opened from then are no longer
        owed: what is unpaid of each is withdrawn, what was paid stays paid
        (`withdraw_unpaid`); credit stays the member's (docs/policy.md)."""
        from_period = parse_period(from_period, field="from_period")
        member, register = self._member_and_register(code, from_period)
        uow = UnitOfWork(self)
        uow.add(member)
        uow.add(register)  # the same register the withdrawal adjusts
        self.withdraw_unpaid(code, from_period, uow)  # type: ignore[attr-defined]
        member.end_membership(from_period, reason)
        register.leave(code, from_period)
        self.save(*uow.pending())

    def grant_exemption(
        self,
        code: str,
        kind: str,
        percent: int,
        decision_ref: str,
        from_period: Period,
        to_period: Period,
    ) -> None:
        if not (decision_ref or "").strip():
            raise InvalidInput(
                "Thiếu số quyết định", "The decision reference is empty", field="decision_ref"
            )
        self.policy().book.check_exemption(
            Exemption(kind, percent, decision_ref, from_period, to_period)
        )
        uow = UnitOfWork(self)
        for register in self._registers_from(uow, code, from_period):
            register.record_exemption(
                code, kind, percent, decision_ref.strip(), from_period, to_period
            )
        self.reassess(code, from_period, uow)  # type: ignore[attr-defined]
        self.save(*uow.pending())

    def change_income(
        self, code: str, category: str, monthly_base: int | None, from_period: Period
    ) -> None:
        """A new category or income base from a month; months already assessed are re-assessed."""
        from_period = parse_period(from_period, field="from_period")
        if monthly_base is not None and (
            isinstance(monthly_base, bool)
            or not isinstance(monthly_base, int)
            or monthly_base < 0
            or monthly_base > MAX_MONTHLY_BASE
        ):
            raise InvalidInput(
                f"Mức thu nhập '{monthly_base}' phải là số đồng nguyên từ 0 đến "
                f"{MAX_MONTHLY_BASE:,}",
                f"Monthly base '{monthly_base}' must be a whole number of đồng from 0 to "
                f"{MAX_MONTHLY_BASE:,}",
                field="monthly_base",
            )
        if category not in CATEGORIES:
            raise InvalidInput(
                f"Đối tượng '{category}' không hợp lệ",
                f"Unknown category '{category}'",
                field="category",
            )
        if category in BASE_CATEGORIES and monthly_base is None:
            raise InvalidInput(
                f"Đối tượng {category} cần mức thu nhập",
                f"Category {category} needs a monthly base",
                field="monthly_base",
            )
        uow = UnitOfWork(self)
        for register in self._registers_from(uow, code, from_period):
            register.change_facts(code, from_period, category, monthly_base)
        self.reassess(code, from_period, uow)  # type: ignore[attr-defined]
        self.save(*uow.pending())

    def _registers_from(self, uow: UnitOfWork, code: str, from_period: Period) -> list[Register]:
        """Every register holding the member from `from_period` on (the old branch's too, when
        a transfer is recorded ahead of its month), so a change reaches every copy of the facts."""
        member = self.get_member(code)
        member.check_active(from_period)
        registers = self.member_registers(uow, member, from_period)
        if not registers:
            raise NotFound(
                f"Không thấy {code} trong sổ chi bộ nào từ {from_period}",
                f"{code} is in no branch register from {from_period}",
            )
        return registers
