"""Read model: inspection findings (kinds 1–10 of issue 7), each with its evidence.

A finding is one row of `rm_findings`: kind, severity, organisation, month, a
plain explanation in Vietnamese and English, and evidence (stored event ids as
`originator_id@version`, bank transaction ids, account numbers, the figures).
Its id is a UUIDv5 of kind, organisation, month and subject, so a rebuild gives
the same ids. A finding is never deleted: evidence that arrives later (a late
deposit, the treasurer's explanation) is added to it; inspectors' notes are
events (`FindingReview.Reviewed`) kept in `rm_finding_reviews`.

Time-based kinds (cash not deposited, remittance missing or late, transfer not
received) are watched (`rm_fnd_watch`, each with its last allowed day) and
judged by the ledger's own clock: before each event this model handles, every
watch whose day has passed by that event's recorded date (Vietnam time) is
judged. So live catch-up and a rebuild judge at the same events and agree; the
`Findings` reader also shows, as provisional, watches overdue by today when no
later event has arrived yet. Thresholds come from `ledger.inspection_policy`
(events override the defaults from a month); rates, minimum wages and
exemption rules from the dues policy's own events. docs/inspection.md has
every rule, its parameter and source, and the choices made.
"""

from __future__ import annotations

import builtins
import copy
import heapq
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import uuid5

from ledger.account_index import WaitingLines
from ledger.bank_transaction import BankTransaction
from ledger.clock import today
from ledger.errors import InvalidInput, NotFound, PolicyError
from ledger.finding_review import FindingReview
from ledger.ids import NAMESPACE
from ledger.income_source import IncomeReport
from ledger.inspection_policy import DEFAULT_PARAMETERS, InspectionParameters, InspectionPolicy
from ledger.organisation import Organisation
from ledger.payment import Payment
from ledger.payment_request import KINDS as DUES_KINDS
from ledger.payment_request import PaymentRequest, request_id
from ledger.period import add_months, months_between, parse_period
from ledger.policy import DuesPolicy
from ledger.policy_defaults import DEFAULT_POLICY
from ledger.policy_rules import FIFTY_YEARS, REGIONS, PolicyBook
from ledger.reference_code import find_codes
from ledger.register import Register
from ledger.remittance import Remittance
from ledger.roll import Roll
from ledger.suspense import SuspenseQueue, item_key
from projections.base import VIETNAM, ReadModel, collect_handlers, handles, recorded_at
from projections.store import Table, Views
from projections.tree import subtree_at

if TYPE_CHECKING:
    from projections.reads import Reads

KINDS: dict[int, tuple[str, str, str]] = {
    1: (
        "personal_account",
        "Thu vào tài khoản cá nhân, kho bạc hoặc không đăng ký",
        "Dues collected into a personal, treasury or unregistered account",
    ),
    2: (
        "no_org_account",
        "Thu đảng phí khi không có tài khoản mang tên tổ chức",
        "Dues collected without an active organisation account",
    ),
    3: (
        "unexplained_outflow",
        "Tiền ra khỏi tài khoản không khớp nộp cấp trên, chi hay hoàn trả",
        "Money left an account without a matching remittance, expenditure or refund",
    ),
    4: (
        "shared_personal_account",
        "Một tài khoản cá nhân nhận đảng phí cho nhiều tổ chức",
        "One personal account receives dues for several organisations",
    ),
    5: (
        "cash_not_deposited",
        "Tiền mặt không nộp ngân hàng đúng hạn",
        "Cash not deposited within the allowed days",
    ),
    6: (
        "remittance_late",
        "Nộp cấp trên thiếu, muộn hoặc chưa đến",
        "Remittance missing, late or not received",
    ),
    7: (
        "retained_too_much",
        "Giữ lại quá tỉ lệ, nộp cấp trên thiếu",
        "Retained more than the share, remitted less",
    ),
    8: (
        "under_assessed",
        "Tính đảng phí thấp hơn quy định",
        "Member assessed below the rule",
    ),
    9: (
        "long_unpaid",
        "Đảng viên không nộp đảng phí nhiều tháng trong năm",
        "Member unpaid for several months within a year",
    ),
    10: (
        "deactivated_account",
        "Tiền vào tài khoản đã ngừng sử dụng",
        "Payments into an account after it was deactivated",
    ),
}
KIND_BY_NAME = {name: k for k, (name, _, _) in KINDS.items()}
HOLDER = {
    "personal": ("tài khoản cá nhân", "a personal account"),
    "treasury": ("tài khoản kho bạc", "a treasury account"),
    "unregistered": ("tài khoản không đăng ký cho tổ chức", "an account not registered to it"),
}
BASE_CATEGORIES = ("social_insured", "sick_or_maternity")
NO_INCOME_CATEGORIES = ("student", "other_below_retirement", "other_retirement_age")
NEVER = "9999-12-31"
_NS = uuid5(NAMESPACE, "inspection-findings")

Key = tuple[str, str, str, str]

FINDINGS = Table(
    "rm_findings",
    [
        ("id", "TEXT"),
        ("kind", "INTEGER"),
        ("severity", "TEXT"),
        ("org", "TEXT"),
        ("period", "TEXT"),
        ("subject", "TEXT"),
        ("explanation_vi", "TEXT"),
        ("explanation_en", "TEXT"),
        ("evidence", "TEXT"),
        ("status", "TEXT"),
        ("recorded_at", "TEXT"),
    ],
    ["id"],
)
REVIEWS = Table(
    "rm_finding_reviews",
    [
        ("finding_id", "TEXT"),
        ("n", "INTEGER"),
        ("note", "TEXT"),
        ("reviewer", "TEXT"),
        ("at", "TEXT"),
        ("event", "TEXT"),
        ("recorded_at", "TEXT"),
    ],
    ["finding_id", "n"],
)
# What the checks remember: ids of aggregates -> what they are; organisations and their
# accounts; accounts by number; each open roll's lines; watches with a last allowed day;
# unpaid months per member and year; exemptions per member; non-organisation accounts and
# whose dues they took; policy data.
REFS = Table("rm_fnd_refs", [("id", "TEXT"), ("what", "TEXT"), ("data", "TEXT")], ["id"])
ORGS = Table("rm_fnd_orgs", [("code", "TEXT"), ("data", "TEXT")], ["code"])
ACCOUNTS = Table("rm_fnd_accounts", [("number", "TEXT"), ("data", "TEXT")], ["number"])
ROLLS = Table(
    "rm_fnd_rolls",
    [
        ("id", "TEXT"),
        ("branch", "TEXT"),
        ("period", "TEXT"),
        ("org_type", "TEXT"),
        ("lines", "TEXT"),
        ("closed", "INTEGER"),
    ],
    ["id"],
)
WATCH = Table(
    "rm_fnd_watch",
    [
        ("kind", "TEXT"),
        ("org", "TEXT"),
        ("period", "TEXT"),
        ("subject", "TEXT"),
        ("due", "TEXT"),
        ("done", "INTEGER"),
        ("state", "TEXT"),
    ],
    ["kind", "org", "period", "subject"],
)
UNPAID = Table(
    "rm_fnd_unpaid", [("member", "TEXT"), ("year", "TEXT"), ("data", "TEXT")], ["member", "year"]
)
EXEMPT = Table("rm_fnd_exempt", [("member", "TEXT"), ("data", "TEXT")], ["member"])
SHARED = Table("rm_fnd_shared", [("account", "TEXT"), ("data", "TEXT")], ["account"])
STATE = Table("rm_fnd_state", [("name", "TEXT"), ("data", "TEXT")], ["name"])


@lru_cache(maxsize=65_536)
def finding_id(kind: int, org: str, period: str, subject: str) -> str:
    return str(uuid5(_NS, f"{kind}/{org}/{period}/{subject}"))


def event_ref(e: Any) -> str:
    return f"{e.originator_id}@{e.originator_version}"


def vietnam_day(e: Any) -> str:
    ts: datetime = e.timestamp
    return ts.astimezone(VIETNAM).date().isoformat()


def add_days(day: str, n: int) -> str:
    return (date.fromisoformat(day[:10]) + timedelta(days=n)).isoformat()


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def active_on(reg: dict[str, Any], day: str) -> bool:
    return bool(reg["active_from"] <= day and (reg["active_to"] is None or day <= reg["active_to"]))


def parse_kind(value: str | int | None) -> int | None:
    """A kind by number (1–10) or name (`personal_account`, ...)."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit() and int(text) in KINDS:
        return int(text)
    if text in KIND_BY_NAME:
        return KIND_BY_NAME[text]
    names = ", ".join(f"{k} ({n})" for k, (n, _, _) in KINDS.items())
    raise InvalidInput(
        f"Loại phát hiện '{value}' không hợp lệ; chọn: {names}",
        f"Unknown finding kind '{value}'; choose: {names}",
        field="kind",
    )


def _add(items: list[Any], item: Any) -> bool:
    if item in items:
        return False
    items.append(item)
    return True


# -- explanations ------------------------------------------------------------------------


def render(kind: int, org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    """(severity, Vietnamese, English) for a finding's details."""
    return _RENDER[kind](org, period, d)


def _r1(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    hk = d["holder_kind"]
    vi_kind, en_kind = HOLDER.get(hk, (hk, hk))
    who = f", chủ tài khoản {d['holder_name']}" if d.get("holder_name") else ""
    who_en = f", held by {d['holder_name']}" if d.get("holder_name") else ""
    vi = f"{org} thu đảng phí tháng {period} vào tài khoản {d['account']} ({vi_kind}{who})"
    en = f"{org} collected dues for {period} into account {d['account']} ({en_kind}{who_en})"
    if d["lines"]:
        vi += f": {d['lines']} khoản chuyển đến, {d['amount']:,} đ"
        en += f": {d['lines']} incoming transfers, {d['amount']:,} đ"
    requests = d["requests"]
    if requests:
        by_reason: dict[str, list[str]] = {}
        for r in requests:
            if r.get("reason"):
                by_reason.setdefault(r["reason"], []).append(r["code"])
        reasons = "; ".join(f"'{why}' ({', '.join(codes)})" for why, codes in by_reason.items())
        vi += f"; {len(requests)} yêu cầu thanh toán chỉ định tài khoản này"
        en += f"; {len(requests)} payment requests named this account"
        if reasons:
            vi += f", lý do ngoại lệ đã ghi: {reasons}"
            en += f", override recorded: {reasons}"
    return ("medium" if hk == "treasury" else "high"), vi, en


def _r2(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    others = ", ".join(d["accounts"])
    vi = (
        f"{org} nhận {d['payments']} khoản đảng phí ({d['amount']:,} đ) trong tháng {period} "
        "khi không có tài khoản mang tên tổ chức đang hoạt động"
    )
    en = (
        f"{org} received {d['payments']} dues payments ({d['amount']:,} đ) in {period} "
        "with no active account in the organisation's name"
    )
    if others:
        vi += f" (chỉ có: {others})"
        en += f" (it has only: {others})"
    return "medium", vi, en


def _r3(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    vi = (
        f"{d['amount']:,} đ rời tài khoản {d['account']} của {org} ngày {d['value_date']} "
        "không khớp khoản nộp cấp trên, khoản chi hay hoàn trả nào"
    )
    en = (
        f"{d['amount']:,} đ left {org}'s account {d['account']} on {d['value_date']} "
        "without a matching remittance, expenditure or refund"
    )
    if d.get("counterparty"):
        vi += f"; người nhận: {d['counterparty']}"
        en += f"; payee: {d['counterparty']}"
    vi += f"; nội dung: {d['narrative']}"
    en += f"; narrative: {d['narrative']}"
    res = d.get("resolution")
    if res:
        why = res.get("reason") or res.get("reference") or ""  # a voucher or a code
        vi += f"; thủ quỹ đã ghi: {res['how']} ({why})"
        en += f"; the treasurer recorded: {res['how']} ({why})"
    return "high", vi, en


def _r4(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    orgs = ", ".join(d["orgs"])
    return (
        "high",
        f"Tài khoản {d['account']} (không mang tên tổ chức) nhận đảng phí cho "
        f"{len(d['orgs'])} tổ chức: {orgs}",
        f"Account {d['account']} (not an organisation's) takes dues for "
        f"{len(d['orgs'])} organisations: {orgs}",
    )


def _r5(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    receipts = d["receipts"]
    late = sum(r["undeposited"] for r in receipts)
    later = sum(x[1] for r in receipts for x in r["deposited"])
    first = min(r["on"] for r in receipts)
    vi = (
        f"{org}: {late:,} đ tiền mặt thu trong tháng {period} không nộp vào ngân hàng trong "
        f"{d['days']} ngày ({len(receipts)} khoản, sớm nhất ngày {first})"
    )
    en = (
        f"{org}: {late:,} đ of cash received in {period} was not deposited within "
        f"{d['days']} days ({len(receipts)} receipts, the earliest on {first})"
    )
    if later:
        vi += f"; sau hạn đã nộp/chi {later:,} đ"
        en += f"; {later:,} đ deposited or spent after the deadline"
    return "medium", vi, en


def _r6(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    if d["check"] == "transit":
        got = sum(x["amount"] for x in d["received"])
        vi = (
            f"{org} chuyển {d['amount']:,} đ nộp cấp trên tháng {period} (mã {d['reference']}) "
            f"ngày {d['sent_on']}; cấp trên chưa nhận sau {d['days']} ngày (hạn {d['due']})"
        )
        en = (
            f"{org} sent {d['amount']:,} đ for {period} to its parent (code {d['reference']}) "
            f"on {d['sent_on']}; not received after {d['days']} days (by {d['due']})"
        )
        if got:
            last = d["received"][-1]["on"]
            vi += f"; sau đó nhận {got:,} đ (ngày {last})"
            en += f"; {got:,} đ received later (on {last})"
        return "high", vi, en
    vi = (
        f"{org} chưa nộp cấp trên đảng phí tháng {period} ({d['payable']:,} đ phải nộp) "
        f"đến hạn {d['due']}"
    )
    en = f"{org} had not remitted {d['payable']:,} đ payable for {period} by {d['due']}"
    late = d["late"]
    if late:
        vi += "; nộp muộn: " + ", ".join(f"{x['amount']:,} đ ngày {x['on']}" for x in late)
        en += "; remitted late: " + ", ".join(f"{x['amount']:,} đ on {x['on']}" for x in late)
    return ("medium" if late else "high"), vi, en


def _r7(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    short = d["payable"] - d["remitted"]
    vi = (
        f"{org} đến hạn {d['due']} chỉ nộp cấp trên {d['remitted']:,} đ trên {d['payable']:,} đ "
        f"phải nộp tháng {period}: giữ lại quá tỉ lệ {short:,} đ"
    )
    en = (
        f"{org} had remitted only {d['remitted']:,} đ of {d['payable']:,} đ payable for "
        f"{period} by {d['due']}: {short:,} đ retained beyond its share"
    )
    if d["late"]:
        later = sum(x["amount"] for x in d["late"])
        vi += f"; nộp thêm sau hạn {later:,} đ"
        en += f"; {later:,} đ remitted after the deadline"
    return "high", vi, en


def _r8(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    m, check = d["member"], d["check"]
    if check == "income":
        vi = (
            f"Đảng viên {m}: thu nhập tính đảng phí tháng {period} là {d['used']:,} đ, thấp hơn "
            f"thu nhập {d['reported']:,} đ do nguồn {d['source']} báo"
        )
        en = (
            f"Member {m}: dues for {period} were assessed on {d['used']:,} đ, below the "
            f"{d['reported']:,} đ reported by {d['source']}"
        )
    elif check == "category":
        vi = (
            f"Đảng viên {m} được tính theo đối tượng '{d['category']}' nhưng nguồn "
            f"{d['source']} báo thu nhập đóng BHXH {d['reported']:,} đ tháng {period}"
        )
        en = (
            f"Member {m} is assessed as '{d['category']}' but {d['source']} reports "
            f"{d['reported']:,} đ of insured income for {period}"
        )
    elif check == "minimum_wage":
        vi = (
            f"Đảng viên {m} (đóng BHXH): thu nhập tính đảng phí tháng {period} là "
            f"{d['income']:,} đ, thấp hơn lương tối thiểu vùng thấp nhất {d['floor']:,} đ"
        )
        en = (
            f"Member {m} (socially insured): dues for {period} were assessed on "
            f"{d['income']:,} đ, below the lowest regional minimum wage {d['floor']:,} đ"
        )
    elif check == "exemption_past_end":
        vi = (
            f"Đảng viên {m} được miễn/giảm ({d['exempt_kind']}, {d['percent']}%) tháng {period} "
            "nhưng không có quyết định miễn/giảm nào còn hiệu lực tháng đó"
        )
        en = (
            f"Member {m} was exempted ({d['exempt_kind']}, {d['percent']}%) for {period} "
            "but no recorded exemption covers that month"
        )
    else:
        decisions = ", ".join(d["decisions"])
        vi = (
            f"Đảng viên {m} được miễn/giảm liên tục {d['months']} tháng ({d['from']} đến "
            f"{d['to']}), quá {d['max']} tháng cho phép (quyết định: {decisions})"
        )
        en = (
            f"Member {m} is exempted or reduced for {d['months']} months in a row "
            f"({d['from']} to {d['to']}), more than the {d['max']} allowed ({decisions})"
        )
    return "medium", vi, en


def _r9(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    months = ", ".join(p for p, _, _ in d["months"])
    owed = sum(o for _, _, o in d["months"])
    vi = (
        f"Đảng viên {d['member']} không nộp đủ đảng phí {len(d['months'])} tháng trong năm "
        f"{d['year']} ({months}; {owed:,} đ khi khoá sổ); quy định: {d['threshold']} tháng "
        "trong năm không nộp thì chi bộ xem xét xoá tên"
    )
    en = (
        f"Member {d['member']} did not pay in full for {len(d['months'])} months of "
        f"{d['year']} ({months}; {owed:,} đ owed at closing); the rule: {d['threshold']} "
        "months unpaid in a year calls for the branch to consider removal"
    )
    return "medium", vi, en


def _r10(org: str, period: str, d: dict[str, Any]) -> tuple[str, str, str]:
    return (
        "high",
        f"{d['lines']} khoản ({d['amount']:,} đ) chuyển vào tài khoản {d['account']} của {org} "
        f"trong tháng {period}, sau khi tài khoản ngừng sử dụng ngày {d['deactivated_on']}",
        f"{d['lines']} transfers ({d['amount']:,} đ) reached {org}'s account {d['account']} in "
        f"{period}, after it was deactivated on {d['deactivated_on']}",
    )


_RENDER: dict[int, Callable[[str, str, dict[str, Any]], tuple[str, str, str]]] = {
    1: _r1,
    2: _r2,
    3: _r3,
    4: _r4,
    5: _r5,
    6: _r6,
    7: _r7,
    8: _r8,
    9: _r9,
    10: _r10,
}


def _row_of(table: str, obj: Any) -> list[Any]:
    """A cached object as its table's value columns (rendered, for findings)."""
    if table == "rm_findings":
        kind, org, period, subject, evidence, status, first = obj
        severity, vi, en = render(kind, org, period, evidence["details"])
        return [kind, severity, org, period, subject, vi, en, dumps(evidence), status, first]
    if table == "rm_fnd_refs":
        return [obj[0], dumps(obj[1])]
    if table == "rm_fnd_watch":
        return [obj[0], obj[1], dumps(obj[2])]
    if table == "rm_fnd_rolls":
        return [obj["branch"], obj["period"], obj["org_type"], dumps(obj["lines"]), obj["closed"]]
    return [dumps(obj)]


def _obj_of(table: str, row: list[Any]) -> Any:
    if table == "rm_findings":
        return [int(row[0]), row[2], row[3], row[4], json.loads(row[7]), row[8], row[9]]
    if table == "rm_fnd_refs":
        return [row[0], json.loads(row[1])]
    if table == "rm_fnd_watch":
        return [row[0], int(row[1]), json.loads(row[2])]
    if table == "rm_fnd_rolls":
        keys = ("branch", "period", "org_type")
        return dict(zip(keys, row[:3], strict=True)) | {
            "lines": json.loads(row[3]),
            "closed": int(row[4]),
        }
    return json.loads(row[-1])


def _evidence() -> dict[str, Any]:
    return {"events": [], "bank_transactions": [], "accounts": [], "details": {}}


class FindingsModel(ReadModel):
    name = "findings"
    tables: ClassVar[list[Table]] = [
        FINDINGS,
        REVIEWS,
        REFS,
        ORGS,
        ACCOUNTS,
        ROLLS,
        WATCH,
        UNPAID,
        EXEMPT,
        SHARED,
        STATE,
    ]
    indexes: ClassVar[list[str]] = [
        "CREATE INDEX IF NOT EXISTS rm_findings_org ON rm_findings (org, period)",
        "CREATE INDEX IF NOT EXISTS rm_fnd_watch_due ON rm_fnd_watch (done, due)",
    ]
    groups: ClassVar[dict[str, int]] = {"rm_finding_reviews": 1}

    def __init__(self, view: Views) -> None:
        super().__init__(view)
        self._heap: list[tuple[str, Key]] = []
        self._db_due: str | None = None
        self._due_known = False
        self._parsed: dict[str, tuple[Any, Any]] = {}
        # Rows as Python objects, serialised (and findings rendered) only when flushed.
        self._objs: dict[str, dict[tuple[Any, ...], Any]] = {}
        self._changed: dict[str, set[tuple[Any, ...]]] = {}

    def reset(self) -> None:
        super().reset()
        self._heap, self._db_due, self._due_known = [], None, False
        self._objs, self._changed = {}, {}

    def obj(self, table: str, key: tuple[Any, ...]) -> Any:
        objs = self._objs.setdefault(table, {})
        if key in objs:
            return objs[key]
        row = self.get(table, key)
        found = objs[key] = None if row is None else _obj_of(table, row)
        return found

    def put_obj(self, table: str, key: tuple[Any, ...], value: Any) -> None:
        self._objs.setdefault(table, {})[key] = value
        self._changed.setdefault(table, set()).add(key)

    def changed_rows(self, table: str) -> dict[tuple[Any, ...], list[Any]]:
        objs = self._objs.get(table, {})
        return {k: _row_of(table, objs[k]) for k in sorted(self._changed.get(table, ()))}

    def flush(self, position: int, since: int | None = None) -> int:
        for table in list(self._changed):
            for key, values in self.changed_rows(table).items():
                self.put(table, key, values)
        self._changed = {}
        count = super().flush(position, since)
        if not self.fresh:
            self._objs = {}
        return count

    # -- the model's clock: judge overdue watches before each event --------------------
    def process_event(self, domain_event: Any, tracking: Any) -> None:
        handler = self.handlers.get(type(domain_event))
        if handler is None:
            return
        at = recorded_at(domain_event)
        self.advance(vietnam_day(domain_event), at)
        handler(self, domain_event, tracking.notification_id, at)

    def advance(self, day: str, at: str) -> None:
        if not self._due_known:
            self._db_due = None if self.fresh else self._db_next_due(None)
            self._due_known = True
        due = [d for d in (self._db_due, self._heap[0][0] if self._heap else None) if d]
        if due and min(due) < day:
            self.scan(day, at)

    def _db_next_due(self, since: str | None) -> str | None:
        sql = "SELECT MIN(due) FROM rm_fnd_watch WHERE done = 0"
        rows = self.view.query(sql + (" AND due >= ?" if since else ""), [since] if since else [])
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def scan(self, day: str, at: str) -> None:
        """Judge every watch whose last allowed day is before `day` (in key order)."""
        keys: set[Key] = set()
        while self._heap and self._heap[0][0] < day:
            keys.add(heapq.heappop(self._heap)[1])
        if not self.fresh:
            rows = self.view.query(
                "SELECT kind, org, period, subject FROM rm_fnd_watch WHERE done = 0 AND due < ?",
                [day],
            )
            keys.update((str(a), str(b), str(c), str(d)) for a, b, c, d in rows)
        for key in sorted(keys):
            row = self.obj("rm_fnd_watch", key)
            if row is None or row[1] or row[0] >= day:
                continue
            state = row[2]
            {
                "cash": self._expire_cash,
                "remit": self._expire_remit,
                "transit": self._expire_transit,
            }[key[0]](key, state, day, at)
        if not self.fresh:
            self._db_due = self._db_next_due(day)

    def _put_watch(self, key: Key, due: str, done: bool, state: dict[str, Any]) -> None:
        self.put_obj("rm_fnd_watch", key, [due, 1 if done else 0, state])
        if not done:
            heapq.heappush(self._heap, (due, key))

    def _watch(self, key: Key) -> tuple[dict[str, Any], bool] | None:
        row = self.obj("rm_fnd_watch", key)
        return None if row is None else (row[2], bool(row[1]))

    # -- rows as objects -----------------------------------------------------------------
    def _json(self, table: str, key: tuple[Any, ...]) -> Any:
        return self.obj(table, key)

    def _put_json(self, table: str, key: tuple[Any, ...], data: Any) -> None:
        self.put_obj(table, key, data)

    def _ref(self, aggregate_id: Any) -> dict[str, Any] | None:
        row = self.obj("rm_fnd_refs", (str(aggregate_id),))
        return None if row is None else dict(row[1])

    def _put_ref(self, aggregate_id: Any, what: str, data: dict[str, Any]) -> None:
        self.put_obj("rm_fnd_refs", (str(aggregate_id),), [what, data])

    def _state(self, name: str, default: Any) -> Any:
        found = self.obj("rm_fnd_state", (name,))
        return default if found is None else found

    def _book(self) -> PolicyBook:
        data = self._state("dues_policy", DEFAULT_POLICY)
        cached = self._parsed.get("book")
        if cached is None or cached[0] is not data:
            cached = self._parsed["book"] = (data, PolicyBook(data, 0))
        book: PolicyBook = cached[1]
        return book

    def _params(self) -> InspectionParameters:
        return InspectionParameters(self._state("inspection", DEFAULT_PARAMETERS))

    def _category(self, rule: str) -> str | None:
        data = self._state("dues_policy", DEFAULT_POLICY)
        cached = self._parsed.get("categories")
        if cached is None or cached[0] is not data:
            rates = {str(r["id"]): str(r["category"]) for r in data["rates"]}
            cached = self._parsed["categories"] = (data, rates)
        found: str | None = cached[1].get(rule)
        return found

    # -- findings ----------------------------------------------------------------------
    def finding(
        self,
        kind: int,
        org: str,
        period: str,
        subject: str,
        at: str,
        update: Callable[[dict[str, Any]], None],
    ) -> str:
        """Create or add to a finding; its text is rendered again from its details."""
        fid = finding_id(kind, org, period, subject)
        found = self.obj("rm_findings", (fid,))
        if found is None:
            reviewed = self.get("rm_finding_reviews", (fid, 2)) is not None
            status = "reviewed" if reviewed else "open"
            found = [kind, org, period, subject, _evidence(), status, at]
        elif found[5] == "withdrawn":  # every line was taken back; a new one opens it again,
            # with its own account's kind
            reviewed = self.get("rm_finding_reviews", (fid, 2)) is not None
            found[5] = "reviewed" if reviewed else "open"
            found[4]["details"] = {}
        update(found[4])
        self.put_obj("rm_findings", (fid,), found)
        return fid

    # -- the tree and accounts -----------------------------------------------------------
    @handles(Organisation.Registered)  # type: ignore[attr-defined]
    def _org(self, e: Any, pos: int, at: str) -> None:
        self._put_ref(e.originator_id, "org", {"code": e.code})
        self._put_json("rm_fnd_orgs", (e.code,), {"type": e.org_type, "accounts": []})

    @handles(Organisation.AccountRegistered)  # type: ignore[attr-defined]
    def _account(self, e: Any, pos: int, at: str) -> None:
        code = self._org_code(e)
        reg = {
            "org": code,
            "bin": e.bin_code,
            "number": e.number,
            "holder_kind": e.holder_kind,
            "holder_name": e.holder_name,
            "active_from": e.active_from,
            "active_to": None,
            "event": event_ref(e),
        }
        org = self._json("rm_fnd_orgs", (code,))
        org["accounts"] = [
            a for a in org["accounts"] if (a["bin"], a["number"]) != (e.bin_code, e.number)
        ] + [dict(reg)]
        self._put_json("rm_fnd_orgs", (code,), org)
        held = self._json("rm_fnd_accounts", (e.number,)) or {"regs": []}
        held["regs"] = [r for r in held["regs"] if (r["org"], r["bin"]) != (code, e.bin_code)]
        held["regs"].append(dict(reg))
        self._put_json("rm_fnd_accounts", (e.number,), held)

    @handles(Organisation.AccountDeactivated)  # type: ignore[attr-defined]
    def _deactivated(self, e: Any, pos: int, at: str) -> None:
        code = self._org_code(e)

        def close(regs: list[dict[str, Any]]) -> None:
            for r in regs:
                if (r["org"], r["bin"], r["number"]) == (code, e.bin_code, e.number):
                    r["active_to"], r["deactivated_event"] = e.active_to, event_ref(e)

        org = self._json("rm_fnd_orgs", (code,))
        close(org["accounts"])
        self._put_json("rm_fnd_orgs", (code,), org)
        held = self._json("rm_fnd_accounts", (e.number,))
        if held is not None:
            close(held["regs"])
            self._put_json("rm_fnd_accounts", (e.number,), held)

    def _org_code(self, e: Any) -> str:
        ref = self._ref(e.originator_id)
        assert ref is not None, f"organisation {e.originator_id} seen before it was registered"
        return str(ref["code"])

    # -- kind 1 and 4: collecting into accounts not in the organisation's name ---------
    def _collected_into(
        self,
        org: str,
        period: str,
        account: str,
        holder_kind: str,
        holder_name: str | None,
        at: str,
        *,
        event: str,
        tx: str | None = None,
        amount: int = 0,
        request: dict[str, Any] | None = None,
    ) -> None:
        def update(ev: dict[str, Any]) -> None:
            d = ev["details"]
            if not d:
                d.update(account=account, holder_kind=holder_kind, holder_name=holder_name)
                d.update(lines=0, amount=0, requests=[])
            _add(ev["events"], event)
            _add(ev["accounts"], account)
            if tx is not None and _add(ev["bank_transactions"], tx):
                d["lines"] += 1
                d["amount"] += amount
            if request is not None and request["code"] not in [r["code"] for r in d["requests"]]:
                d["requests"].append(request)

        self.finding(1, org, period, account, at, update)
        self._shared(account, org, period, event, at)

    def _shared(self, account: str, org: str, period: str, event: str, at: str) -> None:
        """Kind 4: the same non-organisation account takes dues for a second organisation."""
        data = self._json("rm_fnd_shared", (account,)) or {"orgs": {}}
        orgs: dict[str, Any] = data["orgs"]
        if org not in orgs:
            orgs[org] = {"since": period, "events": []}
        _add(orgs[org]["events"], event)
        self._put_json("rm_fnd_shared", (account,), data)
        if len(orgs) < 2:
            return
        for code, seen in sorted(orgs.items()):

            def update(ev: dict[str, Any], seen: dict[str, Any] = seen) -> None:
                ev["details"] = {"account": account, "orgs": sorted(orgs)}
                _add(ev["accounts"], account)
                for other in sorted(orgs.values(), key=lambda o: str(o["since"])):
                    for x in other["events"]:
                        _add(ev["events"], x)

            self.finding(4, code, seen["since"], account, at, update)

    @handles(PaymentRequest.Created)
    def _request(self, e: Any, pos: int, at: str) -> None:
        target = e.target or {}
        info = {
            "code": e.code,
            "kind": e.kind,
            "branch": e.branch_code,
            "account": target.get("account_number"),
            "holder_kind": target.get("holder_kind"),
            "holder_name": target.get("holder_name"),
            "org": target.get("org") or e.branch_code,
            "period": str(e.created_at)[:7],
        }
        self._put_ref(e.originator_id, "request", info)
        if e.kind in DUES_KINDS and info["holder_kind"] not in (None, "organisation"):
            self._collected_into(
                e.branch_code,
                info["period"],
                info["account"],
                info["holder_kind"],
                info["holder_name"],
                at,
                event=event_ref(e),
                request={"code": e.code, "reason": None},
            )

    @handles(PaymentRequest.TargetOverridden)  # type: ignore[attr-defined]
    def _override(self, e: Any, pos: int, at: str) -> None:
        info = self._ref(e.originator_id)
        if info is None or info["kind"] not in DUES_KINDS:
            return

        def update(ev: dict[str, Any]) -> None:
            _add(ev["events"], event_ref(e))
            for r in ev["details"]["requests"]:
                if r["code"] == info["code"]:
                    r["reason"] = e.reason

        self.finding(1, info["branch"], info["period"], info["account"], at, update)

    @handles(BankTransaction.Recorded)  # type: ignore[attr-defined]
    def _line(self, e: Any, pos: int, at: str) -> None:
        day = str(e.value_date)[:10]
        number = e.account_number.strip()
        if e.direction == "out":
            self._put_ref(
                e.originator_id,
                "tx",
                {
                    "account": number,
                    "amount": e.amount,
                    "value_date": day,
                    "narrative": e.narrative,
                    "counterparty": e.counterparty,
                    "event": event_ref(e),
                },
            )
            held = getattr(e, "held", None)  # v4: held (flagged) as it was recorded
            if held is not None:
                self._flag(e, str(held["org_code"]), bool(held["flagged"]), at)
            return
        held = self._json("rm_fnd_accounts", (number,)) or {"regs": []}
        regs = [r for r in held["regs"] if e.bin_code is None or r["bin"] == e.bin_code]
        active = [r for r in regs if active_on(r, day)]
        tx, ref, period = str(e.originator_id), event_ref(e), day[:7]
        waiting: dict[str, Any] | None = None
        if not regs:  # nobody's yet: judged again when its account is registered
            waiting = {"account": number, "bin": e.bin_code, "day": day, "amount": e.amount}
            waiting |= {"event": ref, "unregistered": []}
            self._put_ref(f"waiting:{tx}", "waiting", waiting)
        if regs and not active:
            for r in sorted(regs, key=lambda r: str(r["org"])):
                if r["active_to"] is not None and r["active_to"] < day:
                    self._after_deactivation(r, period, tx, e.amount, ref, at)
        for r in sorted(active or regs, key=lambda r: str(r["org"])):
            if r["holder_kind"] != "organisation":
                self._collected_into(
                    r["org"], period, number, r["holder_kind"], r["holder_name"], at,
                    event=ref, tx=tx, amount=e.amount,
                )  # fmt: skip
        holders = {r["org"] for r in regs}
        org_holders = {r["org"] for r in regs if r["holder_kind"] == "organisation"}
        for code in find_codes(e.narrative):
            info = self._ref(request_id(code))
            if info is None or info["kind"] not in DUES_KINDS or number == info["account"]:
                continue
            if info["branch"] in holders or info["org"] in org_holders:
                continue
            self._collected_into(
                info["branch"], period, number, "unregistered", None, at,
                event=ref, tx=tx, amount=e.amount,
                request={"code": info["code"], "reason": None},
            )  # fmt: skip
            if waiting is not None:  # taken back if the number is registered to them
                waiting["unregistered"].append([info["branch"], info["org"]])
                self._put_ref(f"waiting:{tx}", "waiting", waiting)

    def _withdraw(self, org: str, period: str, account: str, tx: str, amount: int) -> None:
        """Take one line back out of a kind-1 finding (it was judged on a number nobody had
        registered, since registered to the organisation it paid). A finding left with no
        line is `withdrawn`: not listed, its id still answers."""
        fid = finding_id(1, org, period, account)
        found = self.obj("rm_findings", (fid,))
        if found is None or tx not in found[4]["bank_transactions"]:
            return
        ev = found[4]
        ev["bank_transactions"].remove(tx)
        ev["details"]["lines"] -= 1
        ev["details"]["amount"] -= amount
        if ev["details"]["lines"] <= 0:
            found[5] = "withdrawn"
        self.put_obj("rm_findings", (fid,), found)

    @handles(WaitingLines.LinesBooked)  # type: ignore[attr-defined]
    def _booked(self, e: Any, pos: int, at: str) -> None:
        """Lines that came before their account was registered, booked by the registration:
        kind 1 (and 4) for a personal or treasury account, as for a line recorded after."""
        booked = []
        for tx in e.transactions:
            w = self._ref(f"waiting:{tx}")
            if w is None:
                continue
            held = self._json("rm_fnd_accounts", (w["account"],)) or {"regs": []}
            regs = [r for r in held["regs"] if w["bin"] is None or r["bin"] == w["bin"]]
            booked.append((tx, w, [r for r in regs if r["org"] == e.org_code]))
        # judged "unregistered" when they came: not so if the number is now the request's
        # own organisation's (before 2026-11-24 the finding stayed, for good). Every line is
        # taken back before any is judged again, so a finding left empty starts again with
        # the account's own kind (one line at a time, a second line kept "unregistered")
        for tx, w, regs in booked:
            for branch, request_org in w.get("unregistered", []):
                if any(
                    branch == r["org"]
                    or (request_org == r["org"] and r["holder_kind"] == "organisation")
                    for r in regs
                ):
                    self._withdraw(branch, w["day"][:7], w["account"], tx, int(w["amount"]))
        for tx, w, regs in booked:
            for r in regs:
                if r["holder_kind"] != "organisation":
                    self._collected_into(
                        r["org"], w["day"][:7], w["account"], r["holder_kind"], r["holder_name"],
                        at, event=w["event"], tx=tx, amount=w["amount"],
                    )  # fmt: skip

    def _after_deactivation(
        self, reg: dict[str, Any], period: str, tx: str, amount: int, ref: str, at: str
    ) -> None:
        """Kind 10."""

        def update(ev: dict[str, Any]) -> None:
            d = ev["details"]
            if not d:
                d.update(account=reg["number"], deactivated_on=reg["active_to"], lines=0, amount=0)
                _add(ev["events"], reg.get("deactivated_event") or reg["event"])
            _add(ev["events"], ref)
            _add(ev["accounts"], reg["number"])
            if _add(ev["bank_transactions"], tx):
                d["lines"] += 1
                d["amount"] += amount

        self.finding(10, reg["org"], period, reg["number"], at, update)

    # -- kind 3: money out without a matching remittance, expenditure or refund --------
    @handles(BankTransaction.HeldInSuspense)  # type: ignore[attr-defined]
    def _flagged(self, e: Any, pos: int, at: str) -> None:
        self._flag(e, e.org_code, e.flagged, at)

    def _flag(self, e: Any, org_code: str, flagged: bool, at: str) -> None:
        """Kind 3 for the line `e` is of: its `HeldInSuspense`, or its `Recorded` (v4) when
        it was held as it was recorded."""
        info = self._ref(e.originator_id)
        if not flagged or info is None:
            return
        tx, period = str(e.originator_id), info["value_date"][:7]

        def update(ev: dict[str, Any]) -> None:
            ev["details"] = {k: info[k] for k in ("account", "amount", "value_date")} | {
                "narrative": info["narrative"],
                "counterparty": info["counterparty"],
                "resolution": ev["details"].get("resolution"),
            }
            _add(ev["events"], info["event"])
            _add(ev["events"], event_ref(e))
            _add(ev["bank_transactions"], tx)
            _add(ev["accounts"], info["account"])

        self.finding(3, org_code, period, tx, at, update)
        info["finding"] = [org_code, period]
        self._put_ref(e.originator_id, "tx", info)

    @handles(SuspenseQueue.Started)  # type: ignore[attr-defined]
    def _queue(self, e: Any, pos: int, at: str) -> None:
        self._put_ref(e.originator_id, "queue", {"org": e.org_code, "day": e.day, "n": 0})

    @handles(SuspenseQueue.ItemAdded)  # type: ignore[attr-defined]
    def _item(self, e: Any, pos: int, at: str) -> None:
        self._items(e.originator_id, [(e.transaction, e.direction)])

    @handles(SuspenseQueue.ItemsAdded)  # type: ignore[attr-defined]
    def _items_added(self, e: Any, pos: int, at: str) -> None:
        self._items(e.originator_id, [(i[0], i[1]) for i in e.items])

    def _items(self, queue_id: Any, added: list[tuple[str, str]]) -> None:
        """Number the queue's new items as the queue does; remember the outgoing ones' lines
        (a resolution names the item)."""
        queue = self._ref(queue_id)
        if queue is None:
            return
        for transaction, direction in added:
            queue["n"] += 1
            if direction == "out":
                key = item_key(queue["org"], queue.get("day"), queue["n"])
                self._put_ref(f"item:{key}", "item", {"tx": transaction})
        self._put_ref(queue_id, "queue", queue)

    @handles(SuspenseQueue.Resolved)  # type: ignore[attr-defined]
    def _resolved(self, e: Any, pos: int, at: str) -> None:
        item = self._ref(f"item:{e.item_id}")
        info = self._ref(item["tx"]) if item is not None else None
        if info is None or "finding" not in info:
            return
        org, period = info["finding"]

        def update(ev: dict[str, Any]) -> None:
            ev["details"]["resolution"] = {
                "how": e.how,
                "reason": e.detail.get("reason"),
                "reference": e.detail.get("reference"),  # spending's voucher, a code
                "item": e.item_id,
            }
            _add(ev["events"], event_ref(e))

        fid = self.finding(3, org, period, str(item["tx"]) if item else "", at, update)
        if e.how == "reversal" or (e.how == "spending" and e.detail.get("by") == "voucher"):
            # the ledger found the line to be the bank's reversal of a line recorded after
            # it (its flag taken back in the books), or spending recorded after it whose
            # voucher the line prints: not kind 3 (docs/inspection.md), so withdrawn, as a
            # kind-1 finding whose lines were taken back (before, it stayed open)
            found = self.obj("rm_findings", (fid,))
            if found is not None:
                found[5] = "withdrawn"
                self.put_obj("rm_findings", (fid,), found)

    # -- kind 2 and 5: who received money, and cash ---------------------------------------
    @handles(Payment.Received)  # type: ignore[attr-defined]
    def _payment(self, e: Any, pos: int, at: str) -> None:
        org, day = e.branch_code, str(e.received_on)[:10]
        row = self._json("rm_fnd_orgs", (org,))
        accounts = row["accounts"] if row else []
        # a bank line into an account the organisation registered in its own name shows
        # that account in use that day, even if it was registered later (a statement
        # imported after `org account add` starts before it): not "without an account"
        # (money resolved from its suspense came by a line through one of its registered
        # accounts: taken as the organisation account it has, if it has one; a personal
        # account's lines are kind 1's)
        into = {str(p[0]) for p in e.postings if p[1] == "D"}
        from_suspense = f"{org}:liabilities:suspense" in into
        shown = any(
            a["holder_kind"] == "organisation"
            and (from_suspense or f"{org}:assets:bank:{a['number']}" in into)
            and (a["active_to"] is None or day <= a["active_to"])
            for a in accounts
        )
        if not shown and not any(
            a["holder_kind"] == "organisation" and active_on(a, day) for a in accounts
        ):

            def update(ev: dict[str, Any]) -> None:
                d = ev["details"]
                if not d:
                    d.update(payments=0, amount=0, accounts=[])
                ev["events"].append(event_ref(e))  # each payment is handled once
                d["payments"] += 1
                d["amount"] += e.amount
                for a in accounts:
                    _add(d["accounts"], f"{a['number']} ({a['holder_kind']})")
                    _add(ev["accounts"], a["number"])

            self.finding(2, org, day[:7], "collection", at, update)
        if e.channel == "cash":
            self._cash_in(org, day, e.amount, event_ref(e))

    def _cash_in(self, org: str, day: str, amount: int, ref: str) -> None:
        key: Key = ("cash", org, "", "")
        found = self._watch(key)
        state = found[0] if found else {"receipts": []}
        days = int(self._params().value("cash_deposit_days", day[:7]))
        receipt = {"event": ref, "on": day, "amount": amount, "left": amount}
        state["receipts"].append(receipt | {"due": add_days(day, days), "days": days, "late": 0})
        self._put_cash(key, state)

    def _put_cash(self, key: Key, state: dict[str, Any]) -> None:
        state["receipts"] = [r for r in state["receipts"] if r["left"] > 0]
        waiting = [r["due"] for r in state["receipts"] if not r["late"]]
        self._put_watch(key, min(waiting, default=NEVER), not waiting, state)

    def _cash_out(
        self, org: str, amount: int, day: str, ref: str, at: str, deposit: str | None = None
    ) -> None:
        """A deposit slip or cash spending takes the oldest cash first; cash already past
        its day is added to its finding (deposited late: it happened). `deposit`: the
        deposit's request id, under which what it took is kept (`_deposit_cancelled`)."""
        key: Key = ("cash", org, "", "")
        found = self._watch(key)
        if found is None:
            return
        state, left = found[0], amount
        took: list[list[Any]] = []
        for r in state["receipts"]:
            take = min(left, r["left"])
            if not take:
                continue
            r["left"] -= take
            left -= take
            took.append([dict(r), take])
            if r["late"]:

                def update(ev: dict[str, Any], r: dict[str, Any] = r, take: int = take) -> None:
                    for x in ev["details"]["receipts"]:
                        if x["event"] == r["event"]:
                            x["deposited"].append([day, take, ref])
                    _add(ev["events"], ref)

                self.finding(5, org, r["on"][:7], "cash", at, update)
        if deposit is not None and took:
            state.setdefault("deposits", {})[deposit] = took
        self._put_cash(key, state)

    def _cash_back(self, org: str, deposit: str, amount: int) -> None:
        """A deposit cancelled: `amount` (what it still had in transit) is cash again, the
        cash it took, latest first, with each receipt's own day and deadline, so a slip
        recorded and then cancelled does not stop the clock (before 2026-11-24 a
        cancelled deposit's cash counted as deposited here)."""
        key: Key = ("cash", org, "", "")
        found = self._watch(key)
        if found is None:
            return
        state, left = found[0], amount
        by_event = {r["event"]: r for r in state["receipts"]}
        for r, take in reversed(state.get("deposits", {}).pop(deposit, [])):
            give = min(left, int(take))
            if give <= 0:
                break
            left -= give
            if r["event"] in by_event:
                by_event[r["event"]]["left"] += give
            else:
                by_event[r["event"]] = r | {"left": give}
        state["receipts"] = sorted(by_event.values(), key=lambda r: (r["on"], r["event"]))
        self._put_cash(key, state)

    def _expire_cash(self, key: Key, state: dict[str, Any], day: str, at: str) -> None:
        org = key[1]
        for r in state["receipts"]:
            if r["late"] or r["due"] >= day or r["left"] <= 0:
                continue
            r["late"] = 1

            def update(ev: dict[str, Any], r: dict[str, Any] = r) -> None:
                d = ev["details"]
                if not d:
                    d.update(days=r["days"], receipts=[])
                d["receipts"].append(
                    {
                        "event": r["event"],
                        "on": r["on"],
                        "amount": r["amount"],
                        "undeposited": r["left"],
                        "due": r["due"],
                        "deposited": [],
                    }
                )
                _add(ev["events"], r["event"])

            self.finding(5, org, r["on"][:7], "cash", at, update)
        self._put_cash(key, state)

    @handles(PaymentRequest.CashDeposited)  # type: ignore[attr-defined]
    def _deposit(self, e: Any, pos: int, at: str) -> None:
        info = self._ref(e.originator_id)
        if info is not None:
            day, deposit = vietnam_day(e), str(e.originator_id)
            self._cash_out(info["branch"], e.amount, day, event_ref(e), at, deposit)

    @handles(PaymentRequest.DepositCancelled)  # type: ignore[attr-defined]
    def _deposit_cancelled(self, e: Any, pos: int, at: str) -> None:
        info = self._ref(e.originator_id)
        if info is not None:
            self._cash_back(info["branch"], str(e.originator_id), int(e.amount))

    @handles(Organisation.Spent)  # type: ignore[attr-defined]
    def _spent(self, e: Any, pos: int, at: str) -> None:
        if e.channel == "cash":
            self._cash_out(self._org_code(e), e.amount, str(e.spent_on)[:10], event_ref(e), at)

    # -- rolls: kind 8 (assessment) and 9 (unpaid at closing), payable for 6 and 7 -------
    @handles(Roll.Opened)  # type: ignore[attr-defined]
    def _opened(self, e: Any, pos: int, at: str) -> None:
        roll = {
            "branch": e.branch_code,
            "period": e.period,
            "org_type": e.org_type,
            "lines": {line[0]: [line[1], line[6]] for line in e.lines},
            "closed": 0,
        }
        self.put_obj("rm_fnd_rolls", (str(e.originator_id),), roll)
        self._assessment_checks(e.branch_code, e.period, e.lines, event_ref(e), at)

    def _roll(self, e: Any) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.obj("rm_fnd_rolls", (str(e.originator_id),))
        return found

    def _move_paid(self, e: Any, sign: int, at: str) -> None:
        self._paid_lines(e, [(e.code, sign * e.amount, sign * e.payable)], at)

    def _paid_lines(self, e: Any, paid: list[tuple[str, int, int]], at: str) -> None:
        """`paid`: (member, amount, payable), signed, on the roll `e` is an event of."""
        roll = self._roll(e)
        if roll is None:
            return
        changed = False
        for code, amount, payable in paid:
            line = roll["lines"].get(code)
            if line is not None:
                line[1] += amount
                changed = True
            if payable:
                b, p, t = roll["branch"], roll["period"], roll["org_type"]
                self._payable(b, p, t, payable, vietnam_day(e), e, at)
        if changed:
            self.put_obj("rm_fnd_rolls", (str(e.originator_id),), roll)

    @handles(Roll.PaymentApplied, Roll.CreditApplied)  # type: ignore[attr-defined]
    def _applied(self, e: Any, pos: int, at: str) -> None:
        self._move_paid(e, 1, at)

    @handles(Roll.PaymentsApplied)  # type: ignore[attr-defined]
    def _applied_many(self, e: Any, pos: int, at: str) -> None:
        self._paid_lines(e, [(c, a, payable) for c, a, _r, _ret, payable in e.payments], at)

    @handles(Roll.PaymentReversed)  # type: ignore[attr-defined]
    def _reversed(self, e: Any, pos: int, at: str) -> None:
        self._move_paid(e, -1, at)

    @handles(Roll.Adjusted)  # type: ignore[attr-defined]
    def _adjusted(self, e: Any, pos: int, at: str) -> None:
        roll = self._roll(e)
        if roll is None:
            return
        b, p, t = roll["branch"], roll["period"], roll["org_type"]
        if not roll["closed"]:
            paid = roll["lines"].get(e.code, [0, 0])[1]
            roll["lines"][e.code] = [e.line[1], paid - e.refund]
            self.put_obj("rm_fnd_rolls", (str(e.originator_id),), roll)
        if e.refund_payable:
            self._payable(b, p, t, -e.refund_payable, vietnam_day(e), e, at)
        self._assessment_checks(b, p, [e.line], event_ref(e), at)

    @handles(Roll.Closed)  # type: ignore[attr-defined]
    def _closed(self, e: Any, pos: int, at: str) -> None:
        roll = self._roll(e)
        if roll is None:
            return
        branch, period = roll["branch"], roll["period"]
        for code, (assessed, paid) in sorted(roll["lines"].items()):
            if paid < assessed:
                self._unpaid(code, branch, period, assessed - paid, event_ref(e), at)
        # a closed roll's lines are done with; late money only moves the payable share
        roll = roll | {"lines": {}, "closed": 1}
        self.put_obj("rm_fnd_rolls", (str(e.originator_id),), roll)
        if e.payable:
            self._payable(branch, period, roll["org_type"], e.payable, vietnam_day(e), e, at)

    def _assessment_checks(
        self, branch: str, period: str, lines: list[list[Any]], ref: str, at: str
    ) -> None:
        book = self._book()
        try:
            floor: int | None = min(book.minimum_wage(r, period) for r in REGIONS)
        except PolicyError:  # no minimum wage in the policy for that month (before 2026)
            floor = None
        for code, _amount, rule, income, exempt, reduction, *_ in lines:
            if exempt and exempt != FIFTY_YEARS:
                self._check_exemption_covers(code, branch, period, exempt, reduction, ref, at)
            if floor is not None and self._category(rule) == "social_insured" and income < floor:
                self._member_finding(
                    branch, period, code, "minimum_wage", at, [ref],
                    {"income": income, "floor": floor, "rule": rule},
                )  # fmt: skip

    def _member_finding(
        self,
        branch: str,
        period: str,
        member: str,
        check: str,
        at: str,
        events: list[str],
        details: dict[str, Any],
    ) -> None:
        """Kind 8."""

        def update(ev: dict[str, Any]) -> None:
            ev["details"] = {"member": member, "check": check, **details}
            for x in events:
                _add(ev["events"], x)

        self.finding(8, branch, period, f"{member}/{check}", at, update)

    def _check_exemption_covers(
        self, code: str, branch: str, period: str, kind: str, percent: int, ref: str, at: str
    ) -> None:
        data = self._json("rm_fnd_exempt", (code,)) or {"list": []}
        if any(x["x"][0] == kind and x["x"][3] <= period <= x["x"][4] for x in data["list"]):
            return
        self._member_finding(
            branch, period, code, "exemption_past_end", at, [ref],
            {"exempt_kind": kind, "percent": percent, "recorded": [list(x["x"]) for x in data["list"]]},
        )  # fmt: skip

    def _unpaid(self, member: str, branch: str, period: str, owed: int, ref: str, at: str) -> None:
        """Kind 9: months still owed when their roll closed, per member and calendar year."""
        year = period[:4]
        data = self._json("rm_fnd_unpaid", (member, year)) or {"months": [], "finding": None}
        data["months"].append([period, branch, owed, ref])
        threshold = int(self._params().value("unpaid_months_in_year", period))
        if data["finding"] is None and len(data["months"]) >= threshold:
            data["finding"] = [branch, period, threshold]
        self._put_json("rm_fnd_unpaid", (member, year), data)
        if data["finding"] is None:
            return
        org, found_in, needed = data["finding"]

        def update(ev: dict[str, Any]) -> None:
            ev["details"] = {
                "member": member,
                "year": year,
                "threshold": needed,
                "months": [m[:3] for m in data["months"]],
            }
            for m in data["months"]:
                _add(ev["events"], m[3])

        self.finding(9, org, found_in, member, at, update)

    # -- exemptions (kind 8: longer than the rule allows) ----------------------------------
    @handles(Register.Started)  # type: ignore[attr-defined]
    def _register(self, e: Any, pos: int, at: str) -> None:
        self._put_ref(e.originator_id, "register", {"branch": e.branch_code})

    @handles(Register.ExemptionRecorded)  # type: ignore[attr-defined]
    def _exemption(self, e: Any, pos: int, at: str) -> None:
        ref = self._ref(e.originator_id)
        branch = str(ref["branch"]) if ref else ""
        x = [e.kind, e.percent, e.decision_ref, e.from_period, e.to_period]
        self._add_exemption(e.code, branch, x, event_ref(e), at)

    @handles(Register.TransferredIn)  # type: ignore[attr-defined]
    def _transferred_in(self, e: Any, pos: int, at: str) -> None:
        ref = self._ref(e.originator_id)
        for x in e.record.get("exemptions", []):
            self._add_exemption(e.record["code"], str(ref["branch"]) if ref else "", x, None, at)

    def _add_exemption(
        self, member: str, branch: str, x: list[Any], ref: str | None, at: str
    ) -> None:
        data = self._json("rm_fnd_exempt", (member,)) or {"list": []}
        same = [y for y in data["list"] if y["x"] == list(x)]
        if same:
            if ref is not None:
                _add(same[0]["events"], ref)
            self._put_json("rm_fnd_exempt", (member,), data)
            return
        data["list"].append({"x": list(x), "branch": branch, "events": [ref] if ref else []})
        self._put_json("rm_fnd_exempt", (member,), data)
        rules = self._book().exemption_rules
        limited = sorted(
            (y for y in data["list"] if y["x"][0] in rules.limited_kinds), key=lambda y: y["x"][3]
        )
        run: list[dict[str, Any]] = []
        for y in [*limited, None]:
            if y is not None and (not run or y["x"][3] <= add_months(run_end(run), 1)):
                run.append(y)
                continue
            start, end = run[0]["x"][3] if run else "", run_end(run) if run else ""
            months = len(months_between(start, end)) if run else 0
            if months > rules.max_months:
                events = [r for z in run for r in z["events"]]
                self._member_finding(
                    run[-1]["branch"], start, member, "exemption_too_long", at, events,
                    {"from": start, "to": end, "months": months, "max": rules.max_months,
                     "decisions": [z["x"][2] for z in run]},
                )  # fmt: skip
            run = [y] if y is not None else []

    # -- kind 8: what the income source reported ------------------------------------------
    @handles(IncomeReport.Reported)  # type: ignore[attr-defined]
    def _incomes(self, e: Any, pos: int, at: str) -> None:
        for member, branch, reported, used, rule, _assessed, roll_ref in e.entries:
            category = self._category(rule)
            events = [event_ref(e), roll_ref]
            if category in BASE_CATEGORIES and used < reported:
                self._member_finding(
                    branch, e.period, member, "income", at, events,
                    {"reported": reported, "used": used, "source": e.source, "rule": rule},
                )  # fmt: skip
            elif category in NO_INCOME_CATEGORIES and reported > 0:
                self._member_finding(
                    branch, e.period, member, "category", at, events,
                    {"category": category, "reported": reported, "source": e.source},
                )  # fmt: skip

    # -- kind 6 and 7: remittances --------------------------------------------------------
    def _remit_watch(
        self, org: str, period: str, org_type: str | None
    ) -> tuple[Key, dict[str, Any], bool] | None:
        key: Key = ("remit", org, period, "")
        found = self._watch(key)
        if found is not None:
            return key, found[0], found[1]
        if org_type is None:
            row = self._json("rm_fnd_orgs", (org,))
            org_type = row["type"] if row else None
        params = self._params()
        day = params.value("remittance_deadline_day", period).get(org_type or "")
        if day is None:
            return None  # the top of the tree (or an unknown level) remits to no one
        state = {
            "due": f"{add_months(period, 1)}-{int(day):02d}",
            "payable": 0,
            "payable_late": 0,
            "remitted": 0,
            "late": [],
            "events": [],
            "tolerance": int(params.value("retained_tolerance_dong", period)),
            "flagged": None,
        }
        return key, state, False

    def _payable(
        self,
        org: str,
        period: str,
        org_type: str | None,
        amount: int,
        day: str,
        e: Any,
        at: str,
    ) -> None:
        watch = self._remit_watch(org, period, org_type)
        if watch is None:
            return
        key, state, done = watch
        state["payable" if day <= state["due"] else "payable_late"] += amount
        _add(state["events"], event_ref(e))
        self._put_watch(key, state["due"], done, state)

    @handles(Remittance.Started)  # type: ignore[attr-defined]
    def _remittance(self, e: Any, pos: int, at: str) -> None:
        self._put_ref(e.originator_id, "remittance", {"org": e.org_code, "period": e.period})

    @handles(Remittance.Remitted)  # type: ignore[attr-defined]
    def _remitted(self, e: Any, pos: int, at: str) -> None:
        info = self._ref(e.originator_id)
        if info is None:
            return
        org, period, day = info["org"], info["period"], str(e.remitted_on)[:10]
        info["parent"] = e.parent_code
        self._put_ref(e.originator_id, "remittance", info)
        self._count_remitted(org, period, day, e, at)
        if e.parent_payable:
            self._payable(e.parent_code, period, None, e.parent_payable, day, e, at)
        if e.via == "bank":
            days = int(self._params().value("remittance_transit_days", period))
            due = add_days(day, days)
            state = {
                "reference": e.reference,
                "amount": e.amount,
                "sent_on": day,
                "due": due,
                "days": days,
                "received": [],
                "event": event_ref(e),
                "flagged": False,
            }
            self._put_watch(("transit", org, period, e.reference), due, False, state)

    @handles(Remittance.Offset)  # type: ignore[attr-defined]
    def _offset(self, e: Any, pos: int, at: str) -> None:
        """An earlier month's excess deducted from this month's remittance settles this month
        as money sent would (docs/policy.md): counted as remitted on its day."""
        info = self._ref(e.originator_id)
        if info is None:
            return
        self._count_remitted(info["org"], info["period"], str(e.on)[:10], e, at)

    def _count_remitted(self, org: str, period: str, day: str, e: Any, at: str) -> None:
        """`e.amount` of the month's share settled on `day` (money sent, or an earlier
        month's excess deducted): remitted in time, or late (added to the finding)."""
        watch = self._remit_watch(org, period, None)
        if watch is None:
            return
        key, state, done = watch
        if day <= state["due"]:
            state["remitted"] += e.amount
            _add(state["events"], event_ref(e))
        else:
            state["late"].append({"amount": e.amount, "on": day, "event": event_ref(e)})
            self._late_remittance(org, period, state, event_ref(e), at)
        self._put_watch(key, state["due"], done, state)

    @handles(Remittance.Netted)  # type: ignore[attr-defined]
    def _netted(self, e: Any, pos: int, at: str) -> None:
        """This month's excess, used by a later month: no longer counted as remitted here."""
        info = self._ref(e.originator_id)
        if info is None:
            return
        watch = self._remit_watch(info["org"], info["period"], None)
        if watch is None:
            return
        key, state, done = watch
        state["remitted"] -= e.amount
        _add(state["events"], event_ref(e))
        self._put_watch(key, state["due"], done, state)

    def _late_remittance(
        self, org: str, period: str, state: dict[str, Any], ref: str, at: str
    ) -> None:
        flagged = state["flagged"]
        if flagged is None:
            return

        def update(ev: dict[str, Any]) -> None:
            ev["details"]["late"] = copy.deepcopy(state["late"])
            _add(ev["events"], ref)

        kind, subject = (6, "deadline") if flagged == "missing" else (7, "share")
        self.finding(kind, org, period, subject, at, update)

    def _expire_remit(self, key: Key, state: dict[str, Any], day: str, at: str) -> None:
        _, org, period, _ = key
        payable, remitted = state["payable"], state["remitted"]
        common = {"due": state["due"], "payable": payable, "late": copy.deepcopy(state["late"])}
        events = list(state["events"])
        if payable > 0 and remitted == 0:
            state["flagged"] = "missing"
            kind, subject, details = 6, "deadline", {"check": "deadline", **common}
        elif remitted > 0 and payable - remitted > state["tolerance"]:
            state["flagged"] = "short"
            kind, subject = 7, "share"
            details = {"remitted": remitted, "tolerance": state["tolerance"], **common}
        else:
            self._put_watch(key, state["due"], True, state)
            return

        def update(ev: dict[str, Any]) -> None:
            ev["details"] = details
            for x in events:
                _add(ev["events"], x)

        self.finding(kind, org, period, subject, at, update)
        self._put_watch(key, state["due"], True, state)

    @handles(Remittance.Received)  # type: ignore[attr-defined]
    def _received(self, e: Any, pos: int, at: str) -> None:
        info = self._ref(e.originator_id)
        if info is None:
            return
        org, period, day = info["org"], info["period"], str(e.received_on)[:10]
        key: Key = ("transit", org, period, e.reference)
        found = self._watch(key)
        if found is not None:
            state, done = found
            state["received"].append({"amount": e.amount, "on": day, "event": event_ref(e)})
            got = sum(x["amount"] for x in state["received"])
            self._put_watch(key, state["due"], done or got >= state["amount"], state)
            if state["flagged"]:
                self._transit_finding(key, state, [event_ref(e), e.transaction], at)
        if e.parent_payable and info.get("parent"):
            self._payable(info["parent"], period, None, e.parent_payable, day, e, at)

    def _expire_transit(self, key: Key, state: dict[str, Any], day: str, at: str) -> None:
        got = sum(x["amount"] for x in state["received"])
        if got < state["amount"]:
            state["flagged"] = True
            self._transit_finding(key, state, [state["event"]], at)
        self._put_watch(key, state["due"], True, state)

    def _transit_finding(self, key: Key, state: dict[str, Any], refs: list[str], at: str) -> None:
        _, org, period, reference = key

        def update(ev: dict[str, Any]) -> None:
            ev["details"] = {"check": "transit"} | copy.deepcopy(
                {k: state[k] for k in ("reference", "amount", "sent_on", "due", "days", "received")}
            )
            for x in refs:
                if "@" in x:
                    _add(ev["events"], x)
                else:
                    _add(ev["bank_transactions"], x)

        self.finding(6, org, period, f"transit:{reference}", at, update)

    # -- policy data ----------------------------------------------------------------------
    @handles(DuesPolicy.Adopted)  # type: ignore[attr-defined]
    def _policy(self, e: Any, pos: int, at: str) -> None:
        self.put_obj("rm_fnd_state", ("dues_policy",), copy.deepcopy(e.data))

    @handles(DuesPolicy.RetentionChanged)  # type: ignore[attr-defined]
    def _retention(self, e: Any, pos: int, at: str) -> None:
        book = self._book()
        data = book.with_retention(e.org_type, Decimal(e.retained_percent), e.from_period, e.basis)
        self.put_obj("rm_fnd_state", ("dues_policy",), data)

    @handles(DuesPolicy.RateChanged)  # type: ignore[attr-defined]
    def _rate(self, e: Any, pos: int, at: str) -> None:
        self.put_obj("rm_fnd_state", ("dues_policy",), self._book().with_rate(e.entry))

    @handles(InspectionPolicy.Adopted)  # type: ignore[attr-defined]
    def _inspection_policy(self, e: Any, pos: int, at: str) -> None:
        self.put_obj("rm_fnd_state", ("inspection",), copy.deepcopy(e.entries))

    @handles(InspectionPolicy.ParameterChanged)  # type: ignore[attr-defined]
    def _parameter(self, e: Any, pos: int, at: str) -> None:
        entries = self._params().with_entry(e.entry)
        self.put_obj("rm_fnd_state", ("inspection",), entries)

    # -- reviews --------------------------------------------------------------------------
    @handles(FindingReview.Reviewed)  # type: ignore[attr-defined]
    def _reviewed(self, e: Any, pos: int, at: str) -> None:
        fid = e.finding_id
        self.put(
            "rm_finding_reviews",
            (fid, e.originator_version),
            [e.note, e.reviewer, e.at, event_ref(e), at],
        )
        found = self.obj("rm_findings", (fid,))
        if found is not None and found[5] not in ("reviewed", "withdrawn"):
            found[5] = "reviewed"
            self.put_obj("rm_findings", (fid,), found)


def run_end(run: list[dict[str, Any]]) -> str:
    return max(str(y["x"][4]) for y in run)


FindingsModel.handlers = collect_handlers(FindingsModel)


# -- queries ------------------------------------------------------------------------------

COLUMNS = [c for c in FINDINGS.columns]


class Findings:
    """What an inspector asks: findings for an organisation's subtree (the tree as it was
    in each finding's month), one finding, and the reviews on them."""

    def __init__(self, reads: Reads) -> None:
        self.reads = reads
        self.views = reads.views

    def list(
        self,
        org: str,
        period: str | None = None,
        kind: str | int | None = None,
        subtree: bool = True,
    ) -> builtins.list[dict[str, Any]]:
        self.reads.catch_up()
        tree = self.reads.tree
        if tree.org(org) is None:
            raise NotFound(
                f"Không có tổ chức đảng mã '{org}'",
                f"No party organisation with code '{org}'",
                field="org",
            )
        period = parse_period(period) if period else None
        wanted = parse_kind(kind)
        links = tree.links(org, None) if subtree else {}
        codes = sorted({org} | {c for kids in links.values() for c, _, _ in kids})
        lifetimes = tree.lifetimes(codes, None)
        known = set(codes)
        rows = {r[0]: (r, False) for r in self._stored(codes)}
        for fid, r in self._provisional().items():
            rows[fid] = (r, fid not in rows or rows[fid][1])
        members: dict[str, set[str]] = {}
        out: builtins.list[dict[str, Any]] = []
        for row, provisional in rows.values():
            f = dict(zip(COLUMNS, row, strict=True))
            if (period and f["period"] != period) or (wanted and f["kind"] != wanted):
                continue
            if f["status"] == "withdrawn":  # every line it held was taken back
                continue
            if f["org"] not in known:
                continue
            if subtree and f["period"] not in members:
                members[f["period"]] = set(subtree_at(org, f["period"], links, lifetimes))
            if f["org"] != org and (not subtree or f["org"] not in members[f["period"]]):
                continue
            out.append(self._shown(f, provisional))
        self._attach_reviews(out)
        return sorted(out, key=lambda f: (f["period"], f["kind"], f["org"], f["subject"]))

    def get(self, finding_id: str) -> dict[str, Any] | None:
        self.reads.catch_up()
        rows = self.views.query("SELECT * FROM rm_findings WHERE id = ?", [finding_id.strip()])
        if rows:
            found = self._shown(dict(zip(COLUMNS, rows[0], strict=True)), False)
        else:
            row = self._provisional().get(finding_id.strip())
            if row is None:
                return None
            found = self._shown(dict(zip(COLUMNS, row, strict=True)), True)
        self._attach_reviews([found])
        return found

    def _stored(self, codes: builtins.list[str]) -> builtins.list[tuple[Any, ...]]:
        out: builtins.list[tuple[Any, ...]] = []
        for i in range(0, len(codes), 500):
            chunk = codes[i : i + 500]
            marks = ",".join("?" for _ in chunk)
            out += self.views.query(f"SELECT * FROM rm_findings WHERE org IN ({marks})", chunk)
        return out

    def _provisional(self) -> dict[str, tuple[Any, ...]]:
        """Findings that overdue watches would give if an event arrived today (nothing is
        written): so an idle ledger still shows cash or remittances past their day."""
        day = today(self.reads.app.clock).isoformat()
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        model = FindingsModel(self.views)
        model.reset()
        model._due_known = True
        model.scan(day, now)
        return {
            str(key[0]): (key[0], *values)
            for key, values in model.changed_rows("rm_findings").items()
        }

    @staticmethod
    def _shown(f: dict[str, Any], provisional: bool) -> dict[str, Any]:
        f["kind"] = int(f["kind"])
        f["kind_name"] = KINDS[f["kind"]][0]
        f["evidence"] = json.loads(f["evidence"])
        f["provisional"] = provisional
        return f

    def _attach_reviews(self, findings: builtins.list[dict[str, Any]]) -> None:
        ids = [f["id"] for f in findings]
        reviews: dict[str, builtins.list[dict[str, Any]]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" for _ in chunk)
            for fid, _n, note, reviewer, at, event, _ in self.views.query(
                f"SELECT * FROM rm_finding_reviews WHERE finding_id IN ({marks}) "
                "ORDER BY finding_id, n",
                chunk,
            ):
                reviews.setdefault(fid, []).append(
                    {"note": note, "reviewer": reviewer, "at": at, "event": event}
                )
        for f in findings:
            f["reviews"] = reviews.get(f["id"], [])
