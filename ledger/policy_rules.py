"""Dues policy: what a member owes for a month and what each level keeps.

Rule: the policy is versioned data (`ledger.policy_defaults`), read through a
`PolicyBook`. For a month, the applicable entry of each kind is the one with the
greatest `from` ≤ month (and month < `to` where `to` is set; of entries with the
same `from`, the later one in the list); no applicable entry is a `PolicyError`.
A month's dues are income × rate × (100 − reduction)% computed exactly as a
Decimal and rounded once by that month's rounding rule. An active full exemption
(50 years of membership applies by itself) makes the month free; of several
active exemptions the one most favourable to the member wins.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Protocol, TypeVar

from ledger.errors import InvalidInput, PolicyError
from ledger.money import round_dong
from ledger.period import add_months, parse_period

CATEGORIES: Final = (
    "social_insured",
    "sick_or_maternity",
    "pensioner",
    "student",
    "other_below_retirement",
    "other_retirement_age",
)
REGIONS: Final = ("I", "II", "III", "IV")
ORG_TYPES: Final = (
    "central",
    "provincial",
    "above_grassroots",
    "grassroots_committee",
    "grassroots_branch",
    "sub_committee",
    "branch",
)
RATE_KINDS: Final = ("percent_of_base", "percent_of_minimum_wage", "fixed")
FIFTY_YEARS: Final = "fifty_years_membership"
LAST_PERIOD: Final = "2999-12"


@dataclass(frozen=True)
class RateRule:
    """One dues rate entry: a category's rule from `from_period` until `to_period` (exclusive)."""

    id: str
    category: str
    from_period: str
    to_period: str | None
    kind: str
    percent: Decimal | None  # set for the percent kinds
    amount: int | None  # set for "fixed"
    basis: str


@dataclass(frozen=True)
class MinimumWage:
    region: str
    from_period: str
    to_period: str | None
    amount: int
    basis: str


@dataclass(frozen=True)
class RoundingRule:
    from_period: str
    to_period: str | None
    unit: int
    mode: str
    basis: str


@dataclass(frozen=True)
class RetentionRule:
    org_type: str
    from_period: str
    to_period: str | None
    retained_percent: Decimal
    basis: str


@dataclass(frozen=True)
class ExemptionRules:
    full_kinds: tuple[str, ...]
    reduction_kinds: tuple[str, ...]
    reduction_percents: tuple[int, ...]
    limited_kinds: tuple[str, ...]
    max_months: int
    membership_years_for_exemption: int | None
    basis: str


@dataclass(frozen=True)
class Exemption:
    kind: str  # one of full_kinds
    percent: int  # 100 = full exemption, else a 30/50/70 reduction
    decision_ref: str
    from_period: str
    to_period: str  # inclusive last month the exemption covers


@dataclass(frozen=True)
class MemberFacts:
    """The dues-relevant facts about a member effective for one month."""

    category: str
    monthly_base: int | None  # None where the rule uses the minimum wage or a fixed amount
    region: str
    party_joined_on: date
    exemptions: tuple[Exemption, ...] = ()


@dataclass(frozen=True)
class Assessment:
    amount: int  # đồng owed for the month, after exemption/reduction, rounded once
    rule_id: str  # e.g. "01-QD-TW/social_insured" or "exempt/poor_household"
    policy_version: int
    income: int  # base the percentage applied to; 0 for fixed amounts and full exemptions
    exempt_kind: str | None
    reduction_percent: int  # 0, 30, 50, 70 or 100


class _Dated(Protocol):
    @property
    def from_period(self) -> str: ...

    @property
    def to_period(self) -> str | None: ...


_D = TypeVar("_D", bound=_Dated)


def applicable(rules: Iterable[_D], period: str) -> _D | None:
    """The rule in force in `period`: greatest `from` ≤ period < `to`; later entry on ties."""
    live = [
        r
        for r in rules
        if r.from_period <= period and (r.to_period is None or period < r.to_period)
    ]
    return max(reversed(live), key=lambda r: r.from_period, default=None)


# --- reading policy data -------------------------------------------------------------------


def _bad(where: str, vi: str, en: str) -> PolicyError:
    return PolicyError(f"Chính sách đảng phí, mục {where}: {vi}", f"Dues policy, {where}: {en}")


def _field(entry: Any, key: str, where: str) -> Any:
    if not isinstance(entry, dict) or key not in entry:
        raise _bad(where, f"thiếu trường '{key}'", f"missing field '{key}'")
    return entry[key]


def _text(entry: Any, key: str, where: str) -> str:
    value = _field(entry, key, where)
    if not isinstance(value, str) or not value.strip():
        raise _bad(where, f"'{key}' phải là chuỗi không rỗng", f"'{key}' must be non-empty text")
    return value


def _one_of(entry: Any, key: str, where: str, allowed: tuple[str, ...]) -> str:
    value = _field(entry, key, where)
    if value not in allowed:
        listed = ", ".join(allowed)
        raise _bad(
            where,
            f"'{key}' = {value!r} không thuộc: {listed}",
            f"'{key}' = {value!r} is not one of: {listed}",
        )
    return str(value)


def _whole(entry: Any, key: str, where: str, minimum: int = 0) -> int:
    value = _field(entry, key, where)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(
            where,
            f"'{key}' phải là số nguyên ≥ {minimum} (nhận {value!r})",
            f"'{key}' must be a whole number ≥ {minimum} (got {value!r})",
        )
    return value


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _percent(entry: Any, key: str, where: str) -> Decimal:
    value = _field(entry, key, where)
    number = _to_decimal(value)
    if number is None or not 0 <= number <= 100:
        raise _bad(
            where,
            f"'{key}' = {value!r} phải là số thập phân viết dạng chuỗi, từ 0 đến 100",
            f"'{key}' = {value!r} must be a decimal written as text, from 0 to 100",
        )
    return number


def _period(value: Any, key: str, where: str) -> str:
    try:
        return parse_period(str(value), field=key)
    except InvalidInput as error:
        raise _bad(where, error.message_vi, error.message_en) from error


def _span(entry: Any, where: str) -> tuple[str, str | None]:
    start = _period(_field(entry, "from", where), "from", where)
    if entry.get("to") is None:
        return start, None
    end = _period(entry["to"], "to", where)
    if end <= start:
        raise _bad(where, "'to' phải sau 'from'", "'to' must be after 'from'")
    return start, end


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list) or not value:
        raise _bad(key, "phải là danh sách không rỗng", "must be a non-empty list")
    return value


def _parse_rate(entry: Any, index: int) -> RateRule:
    rule_id = _text(entry, "id", f"rates[{index}]")
    where = f"rates[{index}] '{rule_id}'"
    start, end = _span(entry, where)
    kind = _one_of(entry, "kind", where, RATE_KINDS)
    fixed = kind == "fixed"
    return RateRule(
        id=rule_id,
        category=_one_of(entry, "category", where, CATEGORIES),
        from_period=start,
        to_period=end,
        kind=kind,
        percent=None if fixed else _percent(entry, "percent", where),
        amount=_whole(entry, "amount", where) if fixed else None,
        basis=_text(entry, "basis", where),
    )


def _parse_wage(entry: Any, index: int) -> MinimumWage:
    where = f"minimum_wages[{index}]"
    start, end = _span(entry, where)
    region = _one_of(entry, "region", where, REGIONS)
    amount = _whole(entry, "amount", where, 1)
    return MinimumWage(region, start, end, amount, _text(entry, "basis", where))


def _parse_rounding(entry: Any, index: int) -> RoundingRule:
    where = f"rounding[{index}]"
    start, end = _span(entry, where)
    unit = _whole(entry, "unit", where, 1)
    mode = _one_of(entry, "mode", where, ("half_up", "down", "up"))
    return RoundingRule(start, end, unit, mode, _text(entry, "basis", where))


def _parse_retention(entry: Any, index: int) -> RetentionRule:
    where = f"retention[{index}]"
    start, end = _span(entry, where)
    org_type = _one_of(entry, "org_type", where, ORG_TYPES)
    percent = _percent(entry, "retained_percent", where)
    return RetentionRule(org_type, start, end, percent, _text(entry, "basis", where))


def _kinds(entry: Any, key: str) -> tuple[str, ...]:
    value = _field(entry, key, "exemptions")
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        raise _bad("exemptions", f"'{key}' phải là danh sách tên", f"'{key}' must list names")
    return tuple(value)


def _reduction_percents(entry: Any) -> tuple[int, ...]:
    value = _field(entry, "reduction_percents", "exemptions")
    ok = isinstance(value, list) and all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 100 for p in value
    )
    if not ok:
        raise _bad(
            "exemptions",
            "'reduction_percents' phải là các số nguyên từ 1 đến 99",
            "'reduction_percents' must be whole numbers from 1 to 99",
        )
    return tuple(value)


def _parse_exemptions(entry: Any) -> ExemptionRules:
    where = "exemptions"
    years = None
    if isinstance(entry, dict) and entry.get("membership_years_for_exemption") is not None:
        years = _whole(entry, "membership_years_for_exemption", where, 1)
    return ExemptionRules(
        full_kinds=_kinds(entry, "full_kinds"),
        reduction_kinds=_kinds(entry, "reduction_kinds"),
        reduction_percents=_reduction_percents(entry),
        limited_kinds=_kinds(entry, "limited_kinds"),
        max_months=_whole(entry, "max_months", where, 1),
        membership_years_for_exemption=years,
        basis=_text(entry, "basis", where),
    )


def _check_unique_ids(rates: tuple[RateRule, ...]) -> None:
    seen: set[str] = set()
    for rule in rates:
        if rule.id in seen:
            raise _bad(f"rates '{rule.id}'", "mã quy định bị trùng", "duplicate rule id")
        seen.add(rule.id)


# --- computing dues ------------------------------------------------------------------------


def exact_amount(rule: RateRule, income: int, reduction_percent: int) -> Decimal:
    """The unrounded dues: income × percent / 100 (or the fixed amount) × (100 − reduction)%."""
    full = Decimal(rule.amount or 0) if rule.percent is None else income * rule.percent / 100
    return full * (100 - reduction_percent) / 100


def rounded_amount(
    rule: RateRule, income: int, reduction_percent: int, unit: int, mode: str
) -> int:
    """`round_dong(exact_amount(...))` in exact integer arithmetic: the same value (a rate
    is a Decimal, so a fraction p/q exactly), about ten times faster on the hot path of
    opening a month. The property test in tests/unit/test_policy_rules.py holds it equal."""
    if rule.percent is None:
        num, den = (rule.amount or 0) * (100 - reduction_percent), 100
    else:
        p, q = rule.percent.as_integer_ratio()
        num, den = income * p * (100 - reduction_percent), q * 100 * 100
    den *= unit
    if mode == "half_up":
        units = (2 * num + den) // (2 * den)
    elif mode == "down":
        units = num // den
    elif mode == "up":
        units = -(-num // den)
    else:
        return round_dong(exact_amount(rule, income, reduction_percent), unit, mode)
    return units * unit


def membership_exemption_start(party_joined_on: date, years: int) -> str:
    """The month in which the `years`-th anniversary of joining falls."""
    return f"{party_joined_on.year + years:04d}-{party_joined_on.month:02d}"


def _most_favourable(exemptions: list[Exemption]) -> Exemption | None:
    return max(exemptions, key=lambda e: e.percent, default=None)


class PolicyBook:
    """One version of the dues policy: validated data and the lookups over it."""

    def __init__(self, data: dict[str, Any], version: int) -> None:
        if not isinstance(data, dict):
            raise _bad("(root)", "dữ liệu phải là một từ điển", "data must be a mapping")
        self.version = version
        self.data: dict[str, Any] = copy.deepcopy(data)
        self._rates = tuple(_parse_rate(e, i) for i, e in enumerate(_list(data, "rates")))
        _check_unique_ids(self._rates)
        self._wages = tuple(_parse_wage(e, i) for i, e in enumerate(_list(data, "minimum_wages")))
        self._rounding = tuple(_parse_rounding(e, i) for i, e in enumerate(_list(data, "rounding")))
        self._retention = tuple(
            _parse_retention(e, i) for i, e in enumerate(_list(data, "retention"))
        )
        self._exemptions = _parse_exemptions(data.get("exemptions"))
        # Lookups remembered per book (its rules never change): opening a month asks the
        # same few questions for every member. Only answers are kept, never errors.
        self._periods: dict[str, str] = {}
        self._rate_at: dict[tuple[str, str], RateRule] = {}
        self._wage_at: dict[tuple[str, str], int] = {}
        self._rounding_at: dict[str, RoundingRule] = {}
        self._automatic: dict[date, Exemption | None] = {}

    def _checked(self, period: str) -> str:
        """`parse_period`, remembered for text periods."""
        if not isinstance(period, str):
            return parse_period(period)
        checked = self._periods.get(period)
        if checked is None:
            checked = self._periods[period] = parse_period(period)
        return checked

    @property
    def exemption_rules(self) -> ExemptionRules:
        return self._exemptions

    # --- lookups ---

    def rate_rule(self, category: str, period: str) -> RateRule:
        period = self._checked(period)
        known = self._rate_at.get((category, period)) if isinstance(category, str) else None
        if known is not None:
            return known
        if category not in CATEGORIES:
            raise PolicyError(
                f"Loại đảng viên không xác định: '{category}' (tháng {period})",
                f"Unknown member category '{category}' (period {period})",
            )
        rule = applicable((r for r in self._rates if r.category == category), period)
        if rule is None:
            raise PolicyError(
                f"Không có quy định mức đảng phí cho loại '{category}' trong tháng {period}",
                f"No dues rate rule for category '{category}' in period {period}",
            )
        self._rate_at[(category, period)] = rule
        return rule

    def minimum_wage(self, region: str, period: str) -> int:
        period = self._checked(period)
        known = self._wage_at.get((region, period)) if isinstance(region, str) else None
        if known is not None:
            return known
        rule = applicable((w for w in self._wages if w.region == region), period)
        if rule is None:
            raise PolicyError(
                f"Không có lương tối thiểu vùng '{region}' cho tháng {period}",
                f"No minimum wage for region '{region}' in period {period}",
            )
        if isinstance(region, str):
            self._wage_at[(region, period)] = rule.amount
        return rule.amount

    def rounding(self, period: str) -> RoundingRule:
        period = self._checked(period)
        known = self._rounding_at.get(period)
        if known is not None:
            return known
        rule = applicable(self._rounding, period)
        if rule is None:
            raise PolicyError(
                f"Không có quy tắc làm tròn cho tháng {period}",
                f"No rounding rule for period {period}",
            )
        self._rounding_at[period] = rule
        return rule

    def retention_rule(self, org_type: str, period: str) -> RetentionRule:
        period = parse_period(period)
        rule = applicable((r for r in self._retention if r.org_type == org_type), period)
        if rule is None:
            raise PolicyError(
                f"Không có tỷ lệ trích giữ lại cho loại tổ chức '{org_type}' trong tháng {period}",
                f"No retention share for organisation type '{org_type}' in period {period}",
            )
        return rule

    def retained_percent(self, org_type: str, period: str) -> Decimal:
        return self.retention_rule(org_type, period).retained_percent

    def retention_basis(self, org_type: str, period: str) -> str:
        return self.retention_rule(org_type, period).basis

    # --- assessing a month ---

    def assess(self, facts: MemberFacts, period: str) -> Assessment:
        period = self._checked(period)
        rule = self.rate_rule(facts.category, period)
        if facts.exemptions:
            exemption = _most_favourable(self.active_exemptions(facts, period))
        else:  # most members: only the automatic exemption can apply (as in active_exemptions)
            exemption = self.membership_exemption(facts.party_joined_on)
            if exemption is not None and not exemption.from_period <= period:
                exemption = None
        if exemption is not None and exemption.percent >= 100:
            return Assessment(0, f"exempt/{exemption.kind}", self.version, 0, exemption.kind, 100)
        reduction = exemption.percent if exemption is not None else 0
        income = self._income(rule, facts, period)
        rounding = self._rounding_at.get(period) or self.rounding(period)
        amount = rounded_amount(rule, income, reduction, rounding.unit, rounding.mode)
        kind = exemption.kind if exemption is not None else None
        return Assessment(amount, rule.id, self.version, income, kind, reduction)

    def active_exemptions(self, facts: MemberFacts, period: str) -> list[Exemption]:
        """The member's exemptions covering `period`, with the automatic 50-year one."""
        active = [e for e in facts.exemptions if e.from_period <= period <= e.to_period]
        automatic = self.membership_exemption(facts.party_joined_on)
        if automatic is not None and automatic.from_period <= period:
            active.append(automatic)
        return active

    def membership_exemption(self, party_joined_on: date) -> Exemption | None:
        """The automatic exemption for long membership, from its anniversary month on."""
        if isinstance(party_joined_on, date) and party_joined_on in self._automatic:
            return self._automatic[party_joined_on]
        years = self._exemptions.membership_years_for_exemption
        if years is None:
            return None
        start = membership_exemption_start(party_joined_on, years)
        ref = f"tự động: {years} năm tuổi đảng / automatic: {years} years of membership"
        exemption = Exemption(FIFTY_YEARS, 100, ref, start, LAST_PERIOD)
        if isinstance(party_joined_on, date):
            self._automatic[party_joined_on] = exemption
        return exemption

    def _income(self, rule: RateRule, facts: MemberFacts, period: str) -> int:
        if rule.kind == "fixed":
            return 0
        if rule.kind == "percent_of_minimum_wage":
            return self.minimum_wage(facts.region, period)
        if facts.monthly_base is None:
            raise PolicyError(
                f"Loại '{facts.category}' cần mức thu nhập tháng làm căn cứ (tháng {period})",
                f"Category '{facts.category}' needs a monthly base (period {period})",
            )
        if isinstance(facts.monthly_base, bool) or facts.monthly_base < 0:
            raise InvalidInput(
                f"Thu nhập làm căn cứ không hợp lệ: {facts.monthly_base}",
                f"Invalid monthly base: {facts.monthly_base}",
                field="monthly_base",
            )
        return facts.monthly_base

    # --- exemptions ---

    def check_exemption(self, exemption: Exemption) -> None:
        """Refuse an exemption the policy does not allow (kind, percent, months)."""
        rules = self._exemptions
        start = parse_period(exemption.from_period, field="from_period")
        end = parse_period(exemption.to_period, field="to_period")
        if exemption.kind not in rules.full_kinds + rules.reduction_kinds:
            raise PolicyError(
                f"Loại miễn, giảm đảng phí không xác định: '{exemption.kind}'",
                f"Unknown exemption kind '{exemption.kind}'",
                field="kind",
            )
        allowed = ", ".join(f"{p}%" for p in self._allowed_percents(exemption.kind))
        if exemption.percent not in self._allowed_percents(exemption.kind):
            raise PolicyError(
                f"Loại '{exemption.kind}' chỉ cho phép {allowed}, không phải {exemption.percent}%",
                f"Kind '{exemption.kind}' allows {allowed}, not {exemption.percent}%",
                field="percent",
            )
        if end < start:
            raise PolicyError(
                f"Miễn, giảm đảng phí kết thúc ({end}) trước khi bắt đầu ({start})",
                f"Exemption ends ({end}) before it starts ({start})",
                field="to_period",
            )
        self._check_duration(exemption.kind, start, end)

    def _allowed_percents(self, kind: str) -> tuple[int, ...]:
        rules = self._exemptions
        full = (100,) if kind in rules.full_kinds else ()
        return full + (rules.reduction_percents if kind in rules.reduction_kinds else ())

    def _check_duration(self, kind: str, start: str, end: str) -> None:
        limit = self._exemptions.max_months
        if kind in self._exemptions.limited_kinds and end >= add_months(start, limit):
            raise PolicyError(
                f"Miễn, giảm vì '{kind}' tối đa {limit} tháng ({start} đến {end} là quá dài)",
                f"Exemption for '{kind}' lasts at most {limit} months ({start} to {end} is longer)",
                field="to_period",
            )

    # --- policy changes (return new data; the caller records it as an event) ---

    def with_retention(
        self, org_type: str, percent: Decimal, from_period: str, basis: str
    ) -> dict[str, Any]:
        """New data with a retention share for `org_type` from `from_period` on."""
        start = parse_period(from_period, field="from_period")
        number = self._check_retention_change(org_type, percent, start, basis)
        data = copy.deepcopy(self.data)
        entry = {"org_type": org_type, "from": start, "retained_percent": str(number)}
        data["retention"].append({**entry, "basis": basis})
        PolicyBook(data, self.version)
        return data

    def _check_retention_change(
        self, org_type: str, percent: Decimal, start: str, basis: str
    ) -> Decimal:
        if org_type not in ORG_TYPES:
            raise PolicyError(
                f"Loại tổ chức không xác định: '{org_type}'",
                f"Unknown organisation type '{org_type}'",
            )
        number = percent if isinstance(percent, Decimal) else _to_decimal(percent)
        if number is None or not number.is_finite() or not 0 <= number <= 100:
            raise PolicyError(
                f"Tỷ lệ trích giữ lại phải từ 0 đến 100 (nhận {percent})",
                f"Retained percent must be from 0 to 100 (got {percent})",
            )
        if not basis.strip():
            raise PolicyError("Cần ghi căn cứ pháp lý", "A legal basis is required")
        latest = max((r.from_period for r in self._retention if r.org_type == org_type), default="")
        if start < latest:
            raise PolicyError(
                f"Tỷ lệ mới cho '{org_type}' không được áp dụng trước {latest} (nhận {start})",
                f"A new share for '{org_type}' cannot start before {latest} (got {start})",
            )
        return number

    def with_rate(self, entry: dict[str, Any]) -> dict[str, Any]:
        """New data with a rate entry added; it closes its category's earlier entries."""
        new = _parse_rate(entry, len(self._rates))
        same = [r for r in self._rates if r.category == new.category]
        later = [r.id for r in same if r.from_period >= new.from_period]
        if later:
            raise PolicyError(
                f"Quy định mới từ {new.from_period} không được đi trước quy định đã có: {later}",
                f"A new rule from {new.from_period} cannot precede existing rules: {later}",
            )
        data = copy.deepcopy(self.data)
        for old in data["rates"]:
            end = old.get("to")
            if old["category"] == new.category and (end is None or end > new.from_period):
                old["to"] = new.from_period
        data["rates"].append(copy.deepcopy(entry))
        PolicyBook(data, self.version)
        return data
