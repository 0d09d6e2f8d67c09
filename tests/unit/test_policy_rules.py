"""Dues policy: rates by category and regime, exemptions, rounding and retention shares."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import PolicyError
from ledger.money import round_dong, split_retained
from ledger.policy_defaults import DEFAULT_POLICY
from ledger.policy_rules import (
    CATEGORIES,
    ORG_TYPES,
    REGIONS,
    Exemption,
    MemberFacts,
    PolicyBook,
)

BOOK = PolicyBook(DEFAULT_POLICY, 1)
JOINED = date(2001, 5, 19)


def facts(
    category: str,
    base: int | None = None,
    *,
    region: str = "I",
    joined: date = JOINED,
    exemptions: tuple[Exemption, ...] = (),
) -> MemberFacts:
    return MemberFacts(category, base, region, joined, exemptions)


def hardship(percent: int, start: str = "2026-01", end: str = "2026-12") -> Exemption:
    return Exemption("hardship", percent, "NQ 12/CB", start, end)


def refusal(error: pytest.ExceptionInfo[PolicyError]) -> str:
    return f"{error.value.message_vi} | {error.value.message_en}"


# --- 01-QĐ/TW, from February 2026 --------------------------------------------------------


def test_social_insured_member_pays_one_percent_of_last_months_salary() -> None:
    result = BOOK.assess(facts("social_insured", 10_000_000), "2026-03")
    assert (result.amount, result.income, result.rule_id) == (
        100_000,
        10_000_000,
        "01-QD-TW/social_insured",
    )
    assert (result.exempt_kind, result.reduction_percent, result.policy_version) == (None, 0, 1)


def test_member_on_sick_or_maternity_leave_pays_one_percent_of_the_allowance() -> None:
    result = BOOK.assess(facts("sick_or_maternity", 6_000_000), "2026-02")
    assert (result.amount, result.rule_id) == (60_000, "01-QD-TW/sick_or_maternity")


def test_pensioner_pays_half_a_percent_of_the_pension() -> None:
    result = BOOK.assess(facts("pensioner", 8_000_000), "2026-02")
    assert (result.amount, result.rule_id) == (40_000, "01-QD-TW/pensioner")


def test_student_pays_a_fixed_five_thousand_dong_whatever_the_base() -> None:
    result = BOOK.assess(facts("student", 3_000_000), "2026-02")
    assert (result.amount, result.income, result.rule_id) == (5_000, 0, "01-QD-TW/student")


@pytest.mark.parametrize(
    ("region", "wage", "below", "at_retirement"),
    [
        ("I", 5_310_000, 15_930, 10_620),
        ("II", 4_730_000, 14_190, 9_460),
        ("III", 4_140_000, 12_420, 8_280),
        ("IV", 3_700_000, 11_100, 7_400),
    ],
)
def test_member_outside_social_insurance_pays_a_share_of_the_regional_minimum_wage(
    region: str, wage: int, below: int, at_retirement: int
) -> None:
    young = BOOK.assess(facts("other_below_retirement", region=region), "2026-06")
    old = BOOK.assess(facts("other_retirement_age", region=region), "2026-06")
    assert (young.amount, young.income) == (below, wage)
    assert (old.amount, old.income) == (at_retirement, wage)


@pytest.mark.parametrize(
    ("category", "december_2027", "january_2028"),
    [("other_below_retirement", 15_930, 26_550), ("other_retirement_age", 10_620, 15_930)],
)
def test_minimum_wage_shares_step_up_in_january_2028(
    category: str, december_2027: int, january_2028: int
) -> None:
    before = BOOK.assess(facts(category), "2027-12")
    after = BOOK.assess(facts(category), "2028-01")
    assert (before.amount, after.amount) == (december_2027, january_2028)
    assert before.rule_id == f"01-QD-TW/{category}/2026-2027"
    assert after.rule_id == f"01-QD-TW/{category}/2028"


# --- 342-QĐ/TW, before February 2026 -----------------------------------------------------


@pytest.mark.parametrize(
    ("category", "base", "amount", "unconfirmed"),
    [
        ("social_insured", 10_000_000, 100_000, False),
        ("sick_or_maternity", 6_000_000, 60_000, True),
        ("pensioner", 8_000_000, 40_000, False),
        ("student", None, 2_000, True),
        ("other_below_retirement", None, 3_000, True),
        ("other_retirement_age", None, 2_000, True),
    ],
)
def test_arrears_before_february_2026_are_assessed_under_342(
    category: str, base: int | None, amount: int, unconfirmed: bool
) -> None:
    result = BOOK.assess(facts(category, base), "2026-01")
    assert (result.amount, result.rule_id) == (amount, f"342-QD-TW/{category}")
    basis = BOOK.rate_rule(category, "2026-01").basis
    assert basis.startswith("UNCONFIRMED:") is unconfirmed


def test_fixed_amounts_under_342_are_labelled_placeholders() -> None:
    for category in ("student", "other_below_retirement", "other_retirement_age"):
        assert "placeholder" in BOOK.rate_rule(category, "2010-01").basis


def test_each_category_has_a_rule_under_each_regime_with_a_basis() -> None:
    for category in CATEGORIES:
        old = BOOK.rate_rule(category, "2026-01")
        new = BOOK.rate_rule(category, "2026-02")
        assert old.id.startswith("342-QD-TW/") and new.id.startswith("01-QD-TW/")
        assert "342" in old.basis and "01-QĐ/TW" in new.basis


def test_rates_are_decimals_read_from_text() -> None:
    assert BOOK.rate_rule("pensioner", "2026-02").percent == Decimal("0.5")
    assert BOOK.rate_rule("student", "2026-02").percent is None


# --- rounding and reductions ---------------------------------------------------------------


def test_one_percent_of_7234567_rounds_half_up_to_72346() -> None:
    assert BOOK.assess(facts("social_insured", 7_234_567), "2026-02").amount == 72_346


def test_rounding_is_to_the_nearest_whole_dong_half_up_and_unconfirmed() -> None:
    rule = BOOK.rounding("2026-02")
    assert (rule.unit, rule.mode) == (1, "half_up")
    assert rule.basis.startswith("UNCONFIRMED:")


@pytest.mark.parametrize(("reduction", "amount"), [(30, 50_642), (50, 36_173), (70, 21_704)])
def test_hardship_reduction_lowers_the_dues_by_its_percent(reduction: int, amount: int) -> None:
    member = facts("social_insured", 7_234_567, exemptions=(hardship(reduction),))
    result = BOOK.assess(member, "2026-03")
    assert (result.amount, result.reduction_percent) == (amount, reduction)
    assert (result.exempt_kind, result.rule_id) == ("hardship", "01-QD-TW/social_insured")


def test_reduced_dues_are_rounded_once_not_twice() -> None:
    # exact: 72,346.43 × 70% = 50,642.501 → 50,643; rounding 72,346 first would give 50,642
    member = facts("social_insured", 7_234_643, exemptions=(hardship(30),))
    assert BOOK.assess(member, "2026-03").amount == 50_643


# --- exemptions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "fifty_years_membership",
        "social_pension_allowance",
        "poor_household",
        "near_poor_household",
        "serious_illness",
        "hardship",
    ],
)
def test_each_full_exemption_makes_the_month_free(kind: str) -> None:
    exemption = Exemption(kind, 100, "QĐ 7/ĐU", "2026-01", "2026-12")
    result = BOOK.assess(facts("social_insured", 9_000_000, exemptions=(exemption,)), "2026-04")
    assert (result.amount, result.rule_id) == (0, f"exempt/{kind}")
    assert (result.exempt_kind, result.reduction_percent) == (kind, 100)


def test_full_exemption_does_not_need_a_monthly_base() -> None:
    exemption = Exemption("poor_household", 100, "QĐ 7/ĐU", "2026-01", "2026-12")
    assert BOOK.assess(facts("pensioner", exemptions=(exemption,)), "2026-05").amount == 0


def test_exemption_covers_only_its_months() -> None:
    member = facts("social_insured", 9_000_000, exemptions=(hardship(100, "2026-03", "2026-05"),))
    amounts = [BOOK.assess(member, p).amount for p in ("2026-02", "2026-03", "2026-05", "2026-06")]
    assert amounts == [90_000, 0, 0, 90_000]


def test_fifty_years_of_membership_exempts_from_the_anniversary_month() -> None:
    member = facts("pensioner", 8_000_000, joined=date(1976, 3, 31))
    before = BOOK.assess(member, "2026-02")
    on = BOOK.assess(member, "2026-03")
    assert (before.amount, before.exempt_kind) == (40_000, None)
    assert (on.amount, on.rule_id) == (0, "exempt/fifty_years_membership")
    assert BOOK.assess(member, "2031-01").amount == 0


def test_most_favourable_active_exemption_wins() -> None:
    both_reductions = (hardship(30), hardship(70, "2026-06", "2026-08"))
    member = facts("social_insured", 10_000_000, exemptions=both_reductions)
    assert BOOK.assess(member, "2026-07").reduction_percent == 70
    full = Exemption("serious_illness", 100, "QĐ 9/ĐU", "2026-07", "2027-06")
    member = facts("social_insured", 10_000_000, exemptions=(hardship(50), full))
    assert BOOK.assess(member, "2026-07").rule_id == "exempt/serious_illness"


def test_hardship_of_twelve_months_is_allowed() -> None:
    BOOK.check_exemption(hardship(50, "2026-01", "2026-12"))


def test_hardship_longer_than_twelve_months_is_refused() -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.check_exemption(hardship(100, "2026-01", "2027-01"))
    assert "12" in error.value.message_vi and "12 months" in error.value.message_en


def test_poor_household_exemption_is_not_limited_to_twelve_months() -> None:
    BOOK.check_exemption(Exemption("poor_household", 100, "QĐ 3", "2026-01", "2028-12"))


@pytest.mark.parametrize(
    ("exemption", "words"),
    [
        (Exemption("lottery_win", 100, "x", "2026-01", "2026-02"), "lottery_win"),
        (Exemption("poor_household", 50, "x", "2026-01", "2026-02"), "50%"),
        (Exemption("hardship", 40, "x", "2026-01", "2026-02"), "40%"),
        (Exemption("hardship", 30, "x", "2026-05", "2026-02"), "before it starts"),
    ],
)
def test_exemption_the_policy_does_not_allow_is_refused(exemption: Exemption, words: str) -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.check_exemption(exemption)
    assert words in error.value.message_en and error.value.message_vi


# --- refusals ------------------------------------------------------------------------------


def test_unknown_category_is_refused_naming_it_and_the_month() -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.assess(facts("astronaut", 1_000_000), "2026-02")
    assert "astronaut" in error.value.message_vi and "2026-02" in error.value.message_vi
    assert "astronaut" in error.value.message_en and "2026-02" in error.value.message_en


def test_month_without_a_rule_is_refused_naming_category_and_month() -> None:
    data = copy.deepcopy(DEFAULT_POLICY)
    data["rates"] = [r for r in data["rates"] if r["from"] == "2026-02"]
    with pytest.raises(PolicyError) as error:
        PolicyBook(data, 2).assess(facts("pensioner", 8_000_000), "2025-12")
    assert "pensioner" in refusal(error) and "2025-12" in error.value.message_en


def test_minimum_wage_before_its_first_entry_is_refused_naming_region() -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.minimum_wage("III", "2025-12")
    assert "'III'" in error.value.message_vi and "2025-12" in error.value.message_en


def test_percent_of_base_without_a_monthly_base_is_refused() -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.assess(facts("social_insured"), "2026-02")
    assert "monthly base" in error.value.message_en and "social_insured" in error.value.message_vi


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["rates"][0].update(percent=1.0), "342-QD-TW/social_insured"),
        (lambda d: d["rates"][1].update(category="astronaut"), "astronaut"),
        (lambda d: d["rates"][2].pop("basis"), "basis"),
        (lambda d: d["rates"][3].update(to="1900-01"), "'to'"),
        (lambda d: d["rates"].append(copy.deepcopy(d["rates"][0])), "duplicate"),
        (lambda d: d["minimum_wages"][0].update(region="V"), "minimum_wages[0]"),
        (lambda d: d["retention"][0].update(retained_percent="130"), "retention[0]"),
        (lambda d: d["rounding"][0].update(mode="bankers"), "bankers"),
        (lambda d: d["exemptions"].update(reduction_percents=[100]), "reduction_percents"),
    ],
)
def test_invalid_policy_data_is_refused_naming_the_entry(change: Any, words: str) -> None:
    data = copy.deepcopy(DEFAULT_POLICY)
    change(data)
    with pytest.raises(PolicyError) as error:
        PolicyBook(data, 2)
    assert words in error.value.message_en and error.value.message_vi


# --- retention -----------------------------------------------------------------------------


def test_branch_keeps_thirty_percent_on_weak_confirmation() -> None:
    assert BOOK.retained_percent("branch", "2026-02") == Decimal(30)
    assert "quiz bank" in BOOK.retention_basis("branch", "2026-02")


def test_every_other_retention_share_is_an_unconfirmed_placeholder() -> None:
    others = [t for t in ORG_TYPES if t != "branch"]
    assert all(BOOK.retention_basis(t, "2026-02").startswith("UNCONFIRMED:") for t in others)
    assert BOOK.retained_percent("central", "2026-02") == Decimal(100)


def test_new_retention_share_takes_effect_only_from_its_month() -> None:
    data = BOOK.with_retention("branch", Decimal("40"), "2027-01", "Hướng dẫn 5-HD/VPTW")
    book = PolicyBook(data, 2)
    assert book.retained_percent("branch", "2026-12") == Decimal(30)
    assert book.retained_percent("branch", "2027-01") == Decimal(40)
    assert book.retention_basis("branch", "2027-01") == "Hướng dẫn 5-HD/VPTW"
    assert book.retained_percent("sub_committee", "2027-01") == Decimal(30)
    assert BOOK.retained_percent("branch", "2027-01") == Decimal(30)
    assert len(DEFAULT_POLICY["retention"]) == len(BOOK.data["retention"])


@pytest.mark.parametrize(
    ("org_type", "percent", "start", "words"),
    [
        ("branch", Decimal("101"), "2027-01", "0 to 100"),
        ("branch", Decimal("-1"), "2027-01", "0 to 100"),
        ("cell", Decimal("30"), "2027-01", "cell"),
    ],
)
def test_invalid_retention_change_is_refused(
    org_type: str, percent: Decimal, start: str, words: str
) -> None:
    with pytest.raises(PolicyError) as error:
        BOOK.with_retention(org_type, percent, start, "basis")
    assert words in error.value.message_en and error.value.message_vi


def test_retention_change_cannot_be_backdated_before_the_current_share() -> None:
    book = PolicyBook(BOOK.with_retention("branch", Decimal(40), "2027-01", "basis"), 2)
    with pytest.raises(PolicyError):
        book.with_retention("branch", Decimal(45), "2026-06", "basis")


@pytest.mark.parametrize("org_type", ORG_TYPES)
@pytest.mark.parametrize("total", [0, 1, 5_000, 72_346, 1_234_567])
def test_retained_and_payable_parts_add_up_to_what_was_collected(org_type: str, total: int) -> None:
    retained, payable = split_retained(total, BOOK.retained_percent(org_type, "2026-02"))
    assert retained + payable == total and retained >= 0 and payable >= 0


# --- rate changes --------------------------------------------------------------------------


def test_new_rate_closes_the_open_rule_of_its_category() -> None:
    entry = {
        "id": "99-QD-TW/social_insured",
        "category": "social_insured",
        "from": "2030-01",
        "to": None,
        "kind": "percent_of_base",
        "percent": "1.5",
        "basis": "Quy định 99-QĐ/TW",
    }
    data = BOOK.with_rate(entry)
    book = PolicyBook(data, 2)
    closed = book.rate_rule("social_insured", "2029-12")
    assert (closed.id, closed.to_period) == ("01-QD-TW/social_insured", "2030-01")
    assert book.assess(facts("social_insured", 10_000_000), "2030-01").amount == 150_000
    assert BOOK.rate_rule("social_insured", "2030-01").to_period is None


def test_new_rate_that_would_precede_an_existing_rule_is_refused() -> None:
    entry = {
        "id": "x/pensioner",
        "category": "pensioner",
        "from": "2026-02",
        "kind": "percent_of_base",
        "percent": "0.4",
        "basis": "x",
    }
    with pytest.raises(PolicyError) as error:
        BOOK.with_rate(entry)
    assert "01-QD-TW/pensioner" in error.value.message_en


# --- the data itself -----------------------------------------------------------------------


def _no_floats(value: object) -> bool:
    if isinstance(value, dict):
        return all(_no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_floats(v) for v in value)
    return not isinstance(value, float)


def test_default_policy_is_plain_json_without_floats() -> None:
    assert json.loads(json.dumps(DEFAULT_POLICY)) == DEFAULT_POLICY
    assert _no_floats(DEFAULT_POLICY)


def test_minimum_wages_are_unconfirmed_figures_for_every_region() -> None:
    assert [BOOK.minimum_wage(r, "2026-01") for r in REGIONS] == [
        5_310_000,
        4_730_000,
        4_140_000,
        3_700_000,
    ]
    assert all(w["basis"].startswith("UNCONFIRMED:") for w in DEFAULT_POLICY["minimum_wages"])


# --- property ------------------------------------------------------------------------------


@given(
    base=st.integers(min_value=0, max_value=200_000_000),
    category=st.sampled_from(CATEGORIES),
    region=st.sampled_from(REGIONS),
    period=st.sampled_from(["2025-06", "2026-01", "2026-02", "2027-12", "2028-01", "2035-07"]),
    reduction=st.sampled_from([0, 30, 50, 70]),
)
def test_dues_are_never_negative_and_equal_the_exact_value_rounded_once(
    base: int, category: str, region: str, period: str, reduction: int
) -> None:
    exemptions = (hardship(reduction, period, period),) if reduction else ()
    member = MemberFacts(category, base, region, date(2000, 1, 1), exemptions)
    result = BOOK.assess(member, period)
    rule = BOOK.rate_rule(category, period)
    if rule.kind == "fixed":
        full = Decimal(rule.amount or 0)
    else:
        income = base if rule.kind == "percent_of_base" else BOOK.minimum_wage(region, period)
        full = Decimal(income) * (rule.percent or Decimal(0)) / 100
    expected = round_dong(full * (100 - reduction) / 100)
    assert result.amount >= 0
    assert result.amount == expected
