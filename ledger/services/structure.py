"""Organisation commands: import the tree, register accounts, move, merge, dissolve.

Rule: an import is checked whole before anything is saved: every bad row is
reported by line number and nothing from the file is recorded. Importing the
same rows again changes nothing. Moves, merges and dissolutions take effect
from a month, so the tree of any earlier month stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import RecordConflictError

from ledger.account_index import AccountIndex, account_index_id
from ledger.errors import Conflict, ImportRejected, InvalidInput
from ledger.ids import org_id, register_id, roots_id
from ledger.organisation import MEMBER_TYPES, ORG_TYPES, Organisation, RootIndex
from ledger.period import Period, parse_period
from ledger.register import Register
from ledger.services.base import LedgerBase, UnitOfWork
from ledger.services.matching import CONFLICT_RETRIES

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
SINCE_ALWAYS = "1900-01"


@dataclass(frozen=True)
class ImportResult:
    created: int
    unchanged: int
    # members enrolled into months their branch had already opened, assessed for them at
    # once: (code, period, amount), one per month (`MemberCommands._assess_late`)
    assessed_late: tuple[tuple[str, str, int], ...] = ()


def check_code(value: str, field: str = "code") -> str:
    if not CODE.match(value or ""):
        raise InvalidInput(
            f"{field}: mã '{value}' không hợp lệ (chữ, số, _ . -; tối đa 40 ký tự)",
            f"{field}: code '{value}' is invalid (letters, digits, _ . -; at most 40)",
            field=field,
        )
    return value


class StructureCommands(LedgerBase):
    def import_orgs(
        self, rows: list[tuple[int, dict[str, str]]], from_period: Period = SINCE_ALWAYS
    ) -> ImportResult:
        """`rows`: (line number, {code, name, type, parent_code}) as read from the file."""
        from_period = parse_period(from_period, field="from_period")
        problems: list[tuple[int, str, str]] = []
        wanted: dict[str, tuple[int, dict[str, str]]] = {}
        for line, row in rows:
            for vi, en in self._org_row_problems(row, wanted):
                problems.append((line, vi, en))
            if row.get("code"):
                wanted.setdefault(row["code"].strip(), (line, row))
        codes = set(wanted) | {r.get("parent_code", "").strip() for _, r in rows}
        existing = {
            o.code: o
            for o in self.load_many([org_id(c) for c in codes if c], Organisation).values()
        }
        roots = self.root_codes()
        for line, row in wanted.values():
            for vi, en in self._org_row_conflicts(row, wanted, existing, roots):
                problems.append((line, vi, en))
        if problems:
            raise ImportRejected(sorted(problems), "tổ chức / organisations")
        return self._create_orgs(wanted, existing, from_period)

    @staticmethod
    def _org_row_problems(row: dict[str, str], seen: dict[str, Any]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        code = (row.get("code") or "").strip()
        if not CODE.match(code):
            out.append((f"mã '{code}' không hợp lệ", f"code '{code}' is invalid"))
        elif code in seen:
            out.append((f"mã '{code}' bị trùng trong tệp", f"code '{code}' appears twice"))
        if not (row.get("name") or "").strip():
            out.append(("thiếu tên", "name is empty"))
        org_type = (row.get("type") or "").strip()
        if org_type not in ORG_TYPES:
            out.append(
                (
                    f"loại '{org_type}' không hợp lệ",
                    f"type '{org_type}' is not one of {', '.join(ORG_TYPES)}",
                )
            )
        parent = (row.get("parent_code") or "").strip()
        if parent and not CODE.match(parent):
            out.append(
                (f"mã cấp trên '{parent}' không hợp lệ", f"parent_code '{parent}' is invalid")
            )
        if parent and parent == code:
            out.append(
                (
                    "tổ chức không thể là cấp trên của chính nó",
                    "an organisation cannot be its own parent",
                )
            )
        return out

    @staticmethod
    def _org_row_conflicts(
        row: dict[str, str],
        wanted: dict[str, tuple[int, dict[str, str]]],
        existing: dict[str, Organisation],
        roots: list[str],
    ) -> list[tuple[str, str]]:
        code = row["code"].strip()
        parent = (row.get("parent_code") or "").strip()
        out: list[tuple[str, str]] = []
        if parent and parent not in wanted and parent not in existing:
            out.append(
                (f"không có tổ chức cấp trên '{parent}'", f"parent '{parent}' does not exist")
            )
        if parent and parent in existing and existing[parent].org_type in MEMBER_TYPES:
            out.append(
                (
                    f"'{parent}' là chi bộ, không có tổ chức trực thuộc",
                    f"'{parent}' is a branch and cannot have children",
                )
            )
        if (
            parent
            and parent in wanted
            and (wanted[parent][1].get("type") or "").strip() in MEMBER_TYPES
        ):
            out.append(
                (
                    f"'{parent}' là chi bộ, không có tổ chức trực thuộc",
                    f"'{parent}' is a branch and cannot have children",
                )
            )
        old = existing.get(code)
        if old is not None:
            same = (
                old.name == row.get("name", "").strip()
                and old.org_type == row.get("type", "").strip()
                and (old.parents[-1][1] or "") == parent
            )
            if not same:
                out.append(
                    (
                        f"mã '{code}' đã có với thông tin khác",
                        f"code '{code}' already exists with different details",
                    )
                )
        if not parent and old is None and roots:
            out.append(
                (
                    f"đã có tổ chức gốc {roots[0]}; cần mã cấp trên",
                    f"a root ({roots[0]}) exists already; parent_code is required",
                )
            )
        # A cycle within the file: follow parents until a known or empty one.
        seen = {code}
        cursor = parent
        while cursor in wanted and cursor not in existing:
            if cursor in seen:
                out.append(("cấp trên tạo thành vòng lặp", "parent links form a cycle"))
                break
            seen.add(cursor)
            cursor = (wanted[cursor][1].get("parent_code") or "").strip()
        return out

    def _create_orgs(
        self,
        wanted: dict[str, tuple[int, dict[str, str]]],
        existing: dict[str, Organisation],
        from_period: Period,
    ) -> ImportResult:
        orgs = dict(existing)
        new: list[Organisation] = []
        unchanged = 0
        roots = self.get_or_none(roots_id(), RootIndex)
        for code, (_, row) in wanted.items():
            if code in existing:
                unchanged += 1
                continue
            parent = (row.get("parent_code") or "").strip() or None
            org = Organisation(
                code=code,
                name=row["name"].strip(),
                org_type=row["type"].strip(),
                parent_code=parent,
                from_period=from_period,
            )
            orgs[code] = org
            new.append(org)
            if parent is None:
                roots = roots or RootIndex()
                roots.add(code)
        for created in new:
            parent = created.parent_at(from_period)
            if parent is not None:
                orgs[parent].attach_child(created.code, from_period)
        touched = {o.id: o for o in orgs.values() if o.pending_events}
        self.save(*touched.values(), roots)
        return ImportResult(created=len(new), unchanged=unchanged)

    def add_account(
        self, org_code: str, bin_code: str, number: str, holder_name: str, holder_kind: str
    ) -> bool:
        """Register a bank account of an organisation; True if it was new."""
        if not re.fullmatch(r"\d{6}", bin_code or ""):
            raise InvalidInput("BIN phải gồm 6 chữ số", "BIN must be 6 digits", field="bin")
        if not re.fullmatch(r"[0-9A-Za-z]{1,19}", number or ""):
            raise InvalidInput(
                "Số tài khoản: 1–19 chữ hoặc số",
                "Account number: 1–19 letters or digits",
                field="account_number",
            )
        if not (holder_name or "").strip():
            raise InvalidInput(
                "Thiếu tên chủ tài khoản", "Holder name is empty", field="holder_name"
            )
        for attempt in range(1, CONFLICT_RETRIES + 1):
            org = self.get_org(org_code)
            created = org.register_account(
                bin_code, number, holder_name.strip(), holder_kind, self.today_iso()
            )
            uow = UnitOfWork(self)
            index = uow.get(account_index_id(number), AccountIndex)
            if index is None:
                index = AccountIndex(number=number)
                uow.add(index)
            index.add(bin_code, org_code)
            if not created and not index.pending_events:
                return False  # registered before: nothing to write
            # lines a gateway reported before the account was registered: into its books
            self.book_waiting(uow, number, org_code)  # type: ignore[attr-defined]
            try:
                self.save(org, *uow.pending())
            except RecordConflictError:
                if attempt == CONFLICT_RETRIES:
                    raise
                continue  # a notification for the account was saved meanwhile: again
            return created
        raise AssertionError("unreachable: the last attempt returns or raises")

    def move_org(self, code: str, new_parent: str, from_period: Period) -> None:
        from_period = parse_period(from_period, field="from_period")
        org, parent = self.get_org(code), self.get_org(new_parent)
        parent.check_active(from_period)
        if parent.org_type in MEMBER_TYPES:
            raise Conflict(
                f"'{new_parent}' là chi bộ", f"'{new_parent}' is a branch and cannot have children"
            )
        if new_parent in {o.code for o in self.subtree(from_period, code)}:
            raise Conflict(
                "Không thể chuyển vào cấp dưới của chính mình",
                "Cannot move under its own descendant",
            )
        old_parent = org.parent_at(from_period)
        org.move_to(new_parent, from_period)
        parent.attach_child(code, from_period)
        touched: list[Aggregate] = [org, parent]
        if old_parent:
            old = self.get_org(old_parent)
            old.detach_child(code, from_period)
            touched.append(old)
        self.save(*touched)

    def merge_org(self, code: str, into: str, from_period: Period) -> None:
        """`code` joins `into` from a month: its children and members move there, it ends."""
        from_period = parse_period(from_period, field="from_period")
        org, target = self.get_org(code), self.get_org(into)
        target.check_active(from_period)
        if (org.org_type in MEMBER_TYPES) != (target.org_type in MEMBER_TYPES):
            raise Conflict(
                "Chỉ hợp nhất chi bộ với chi bộ, đảng bộ với đảng bộ",
                "Merge branches into branches and committees into committees",
            )
        for child in org.children_at(from_period):
            self.move_org(child, into, from_period)
        org = self.get_org(code)
        if org.org_type in MEMBER_TYPES:
            register = self.get_or_none(register_id(code), Register)
            for member_code in register.active_codes(from_period) if register else []:
                self.transfer_member(member_code, into, from_period)  # type: ignore[attr-defined]
            org = self.get_org(code)
        self._end_org(org, "merged", from_period, into)

    def dissolve_org(self, code: str, from_period: Period) -> None:
        from_period = parse_period(from_period, field="from_period")
        org = self.get_org(code)
        if org.children_at(from_period):
            raise Conflict(
                f"{code} còn tổ chức trực thuộc; chuyển hoặc hợp nhất trước",
                f"{code} still has organisations under it; move or merge them first",
            )
        register = self.get_or_none(register_id(code), Register)
        if register and register.active_codes(from_period):
            raise Conflict(
                f"{code} còn đảng viên; chuyển sinh hoạt trước",
                f"{code} still has members; transfer them first",
            )
        self._end_org(org, "dissolved", from_period, None)

    def _end_org(self, org: Organisation, how: str, from_period: Period, into: str | None) -> None:
        org.end(how, from_period, into)
        touched: list[Aggregate] = [org]
        parent_code = org.parent_at(from_period)
        if parent_code:
            parent = self.get_org(parent_code)
            parent.detach_child(org.code, from_period)
            touched.append(parent)
        self.save(*touched)
