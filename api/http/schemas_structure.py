"""What the treasurer's structure endpoints read and write: the tree, members, months, batches.

Rule: as in `api.http.schemas`: money is integer đồng, dates ISO 8601, months
`YYYY-MM`; request bodies refuse unknown fields. Names follow the CLI's options.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.http.schemas import Code, Period
from ledger.money import MAX_MONTHLY_BASE

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Literal[
    "social_insured",
    "sick_or_maternity",
    "pensioner",
    "student",
    "other_below_retirement",
    "other_retirement_age",
]


# -- the tree ------------------------------------------------------------------------------
class OrgNode(BaseModel):
    code: str
    name: str
    type: str
    parent: str | None = None
    account_holder_kinds: list[str]
    non_organisation_account: bool = Field(
        description="Có tài khoản không mang tên tổ chức / holds a personal or treasury account"
    )
    children: list[OrgNode] = []


class OrgTree(BaseModel):
    period: str
    organisations: int
    root: OrgNode


# -- members -------------------------------------------------------------------------------
class LateMonth(BaseModel):
    """A month the member's branch had opened before they were enrolled, assessed then."""

    code: str
    period: str
    amount: int


class ImportCounts(BaseModel):
    rows: int
    created: int
    unchanged: int
    assessed_late: list[LateMonth] = []


class MemberCreate(BaseModel):
    """One member, with the columns of a members CSV; `branch_code` defaults to the
    organisation in the path."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")]
    full_name: Text
    branch_code: Code | None = None
    category: Category
    monthly_base: Annotated[int, Field(ge=0, le=MAX_MONTHLY_BASE)] | None = None
    region: Literal["I", "II", "III", "IV"]
    party_joined_on: date
    national_id: Annotated[str, StringConstraints(pattern=r"^(\d{9}|\d{12})$")] | None = None


class MemberRegistered(BaseModel):
    code: str
    full_name: str
    branch: str
    created: bool
    assessed_late: list[LateMonth] = []


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_branch: Code
    from_period: Period


class Transferred(BaseModel):
    member: str
    from_branch: str
    to_branch: str
    from_period: str


class ExemptionCreate(BaseModel):
    """As `member exempt`: `kind` one of the policy's kinds; 100 is an exemption, 30, 50
    and 70 a reduction; `decision` the committee's decision reference."""

    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    percent: Literal[100, 30, 50, 70]
    decision: Text
    from_period: Period
    to_period: Period


class ExemptionGranted(BaseModel):
    member: str
    kind: str
    percent: int
    decision: str
    from_period: str
    to_period: str


# -- months and batches ----------------------------------------------------------------------
class MonthRoll(BaseModel):
    """`amount`: assessed (open) or collected (close) over the branches acted on;
    `skipped`: branches already open (open) or not open (close)."""

    org: str
    period: str
    action: Literal["open", "close"]
    branches: int
    members: int
    amount: int
    skipped: list[str]


class BatchCreate(BaseModel):
    """As `batch create`: one QR for what the listed members (one branch) owe for `period`
    (default: this month); `payroll` for collection through an employer's payroll."""

    model_config = ConfigDict(extra="forbid")

    payer: Text
    members: Annotated[list[Code], Field(min_length=1, max_length=500)]
    period: Period | None = None
    payer_account: Text | None = None
    payroll: bool = False
    account: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,19}$")] | None = None
    override_reason: Text | None = None
