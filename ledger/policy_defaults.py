"""Default dues policy: the rules the ledger starts with, each with its legal basis.

Rule: this is plain JSON-compatible data (str, int, list, dict, None; Decimals
written as strings), never read as code constants. A rule whose source is not
confirmed carries a basis starting with "UNCONFIRMED:". Policy changes are events
that produce new data (see `ledger.policy_rules.PolicyBook.with_rate` and
`with_retention`); this module only seeds the first version.
"""

from __future__ import annotations

from typing import Any

_QD01 = (
    "Quy định 01-QĐ/TW ngày 03/02/2026 (thay Quyết định 342-QĐ/TW); hiệu lực 01/02/2026 "
    "theo một thông báo; nguồn: bài viết về 01-QĐ/TW trên vietnamnet.vn, dantri.com.vn, "
    "thuvienphapluat.vn (tháng 2/2026)"
)
_QD342 = (
    "Quyết định 342-QĐ/TW (2010) và hướng dẫn 141-CV/VPTW, 1266-CV/VPTW; áp dụng cho các "
    "tháng trước 02/2026"
)
_QD342_FIXED = "UNCONFIRMED: placeholder, fixed amounts under 342 not found; " + _QD342
_OLD = "1900-01"
_NEW = "2026-02"
_STEP = "2028-01"

_RATES_342: list[dict[str, Any]] = [
    {
        "id": "342-QD-TW/social_insured",
        "category": "social_insured",
        "from": _OLD,
        "to": _NEW,
        "kind": "percent_of_base",
        "percent": "1",
        "basis": _QD342 + ": 1% tiền lương và phụ cấp tính đóng BHXH, trước thuế thu nhập cá nhân",
    },
    {
        "id": "342-QD-TW/sick_or_maternity",
        "category": "sick_or_maternity",
        "from": _OLD,
        "to": _NEW,
        "kind": "percent_of_base",
        "percent": "1",
        "basis": "UNCONFIRMED: 1% of the sick/maternity allowance assumed; " + _QD342,
    },
    {
        "id": "342-QD-TW/pensioner",
        "category": "pensioner",
        "from": _OLD,
        "to": _NEW,
        "kind": "percent_of_base",
        "percent": "0.5",
        "basis": _QD342 + ": 0,5% lương hưu",
    },
    {
        "id": "342-QD-TW/student",
        "category": "student",
        "from": _OLD,
        "to": _NEW,
        "kind": "fixed",
        "amount": 2000,
        "basis": _QD342_FIXED,
    },
    {
        "id": "342-QD-TW/other_below_retirement",
        "category": "other_below_retirement",
        "from": _OLD,
        "to": _NEW,
        "kind": "fixed",
        "amount": 3000,
        "basis": _QD342_FIXED,
    },
    {
        "id": "342-QD-TW/other_retirement_age",
        "category": "other_retirement_age",
        "from": _OLD,
        "to": _NEW,
        "kind": "fixed",
        "amount": 2000,
        "basis": _QD342_FIXED,
    },
]

_RATES_01: list[dict[str, Any]] = [
    {
        "id": "01-QD-TW/social_insured",
        "category": "social_insured",
        "from": _NEW,
        "to": None,
        "kind": "percent_of_base",
        "percent": "1",
        "basis": _QD01 + ": 1% tiền lương làm căn cứ đóng BHXH của tháng trước",
    },
    {
        "id": "01-QD-TW/sick_or_maternity",
        "category": "sick_or_maternity",
        "from": _NEW,
        "to": None,
        "kind": "percent_of_base",
        "percent": "1",
        "basis": _QD01 + ": 1% trợ cấp ốm đau, thai sản do BHXH chi trả",
    },
    {
        "id": "01-QD-TW/pensioner",
        "category": "pensioner",
        "from": _NEW,
        "to": None,
        "kind": "percent_of_base",
        "percent": "0.5",
        "basis": _QD01 + ": không tham gia BHXH, 0,5% lương hưu",
    },
    {
        "id": "01-QD-TW/student",
        "category": "student",
        "from": _NEW,
        "to": None,
        "kind": "fixed",
        "amount": 5000,
        "basis": _QD01 + ": học sinh, sinh viên 5.000 đồng/tháng",
    },
    {
        "id": "01-QD-TW/other_below_retirement/2026-2027",
        "category": "other_below_retirement",
        "from": _NEW,
        "to": _STEP,
        "kind": "percent_of_minimum_wage",
        "percent": "0.3",
        "basis": _QD01 + ": chưa đến tuổi nghỉ hưu, 0,3% lương tối thiểu vùng (2026-2027)",
    },
    {
        "id": "01-QD-TW/other_below_retirement/2028",
        "category": "other_below_retirement",
        "from": _STEP,
        "to": None,
        "kind": "percent_of_minimum_wage",
        "percent": "0.5",
        "basis": _QD01 + ": chưa đến tuổi nghỉ hưu, 0,5% lương tối thiểu vùng từ 2028",
    },
    {
        "id": "01-QD-TW/other_retirement_age/2026-2027",
        "category": "other_retirement_age",
        "from": _NEW,
        "to": _STEP,
        "kind": "percent_of_minimum_wage",
        "percent": "0.2",
        "basis": _QD01 + ": đã đến tuổi nghỉ hưu, 0,2% lương tối thiểu vùng (2026-2027)",
    },
    {
        "id": "01-QD-TW/other_retirement_age/2028",
        "category": "other_retirement_age",
        "from": _STEP,
        "to": None,
        "kind": "percent_of_minimum_wage",
        "percent": "0.3",
        "basis": _QD01 + ": đã đến tuổi nghỉ hưu, 0,3% lương tối thiểu vùng từ 2028",
    },
]

_WAGE_BASIS = (
    "UNCONFIRMED: Nghị định 293/2025/NĐ-CP, lương tối thiểu tháng theo vùng từ 01/01/2026; "
    "figures from public code, not the decree text"
)

_MINIMUM_WAGES: list[dict[str, Any]] = [
    {"region": region, "from": "2026-01", "amount": amount, "basis": _WAGE_BASIS}
    for region, amount in (("I", 5310000), ("II", 4730000), ("III", 4140000), ("IV", 3700000))
]

_ROUNDING: list[dict[str, Any]] = [
    {
        "from": _OLD,
        "unit": 1,
        "mode": "half_up",
        "basis": "UNCONFIRMED: rounding rule not found; nearest whole đồng, half up, "
        "as branches commonly round",
    }
]

_RETENTION_PLACEHOLDER = "UNCONFIRMED: placeholder, retention share for this level not found"
_RETENTION: list[dict[str, Any]] = [
    {
        "org_type": "branch",
        "from": _OLD,
        "retained_percent": "30",
        "basis": "342 guidance as quoted in a party-work quiz bank; weakly confirmed "
        "(chi bộ trực thuộc đảng ủy cơ sở trích giữ lại 30%, nộp cấp trên 70%)",
    },
    *(
        {
            "org_type": org_type,
            "from": _OLD,
            "retained_percent": percent,
            "basis": _RETENTION_PLACEHOLDER,
        }
        for org_type, percent in (
            ("sub_committee", "30"),
            ("grassroots_branch", "50"),
            ("grassroots_committee", "50"),
            ("above_grassroots", "50"),
            ("provincial", "50"),
        )
    ),
    {
        "org_type": "central",
        "from": _OLD,
        "retained_percent": "100",
        "basis": "UNCONFIRMED: placeholder; the Centre is the top of the tree and keeps all "
        "it receives",
    },
]

_EXEMPTIONS: dict[str, Any] = {
    "full_kinds": [
        "fifty_years_membership",
        "social_pension_allowance",
        "poor_household",
        "near_poor_household",
        "serious_illness",
        "hardship",
    ],
    "reduction_kinds": ["hardship"],
    "reduction_percents": [30, 50, 70],
    "limited_kinds": ["hardship"],
    "max_months": 12,
    "membership_years_for_exemption": 50,
    "basis": _QD01
    + ": miễn đảng phí cho đảng viên có 50 năm tuổi đảng trở lên, hưởng trợ cấp hưu trí xã "
    "hội, hộ nghèo, hộ cận nghèo, mắc bệnh hiểm nghèo theo danh mục của Bộ Y tế; khó khăn "
    "khác: miễn hoặc giảm 30%, 50%, 70%, tối đa 12 tháng, do cấp ủy có thẩm quyền quyết "
    "định theo đề nghị của đảng viên. UNCONFIRMED: the 50-year exemption is applied "
    "automatically from the month in which the 50th anniversary of joining falls, the "
    "decision and its start month are not confirmed; the same exemptions are assumed for "
    "months under 342-QĐ/TW.",
}

DEFAULT_POLICY: dict[str, Any] = {
    "rates": [*_RATES_342, *_RATES_01],
    "minimum_wages": _MINIMUM_WAGES,
    "rounding": _ROUNDING,
    "retention": _RETENTION,
    "exemptions": _EXEMPTIONS,
}
