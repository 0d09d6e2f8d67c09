"""What the treasurer's money endpoints read and write: cash, statements, reconciliation,
suspense, remittances.

Rule: money is integer đồng (never zero or negative in a request), months `YYYY-MM`;
request bodies refuse unknown fields. Items the ledger keeps open-ended (a suspense
item's notes, a resolution's detail) allow extra keys, so nothing the ledger says is lost.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.http.schemas import AppliedMonth, Code, Period
from ledger.money import MAX_DONG

# strict: "70.000" is 70,000 đ to a Vietnamese reader, so a string is never read as a number
Amount = Annotated[
    int, Field(strict=True, gt=0, le=MAX_DONG, description="Số tiền (đồng) / amount in đồng")
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Months = Annotated[list[Period], Field(min_length=1, max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- cash ----------------------------------------------------------------------------------
class CashReceiptCreate(Strict):
    """Cash a treasurer received in hand. `months`: only these months (default: oldest owed
    first, any excess kept as credit)."""

    member: Code
    amount: Amount
    receipt: Text = Field(description="Số biên lai / receipt number (keys the payment)")
    months: Months | None = None


class CashReceipt(BaseModel):
    reference: str
    member: str
    amount: int
    months: list[AppliedMonth]
    to_credit: int
    duplicate: bool


class CashDepositCreate(Strict):
    amount: Amount
    slip: Text = Field(description="Số giấy nộp tiền / deposit slip number")


class CashDeposit(BaseModel):
    reference: str = Field(description="Mã ghi trên giấy nộp tiền / code to write on the slip")
    org: str
    amount: int
    account: str
    seen_on_statement: bool
    in_transit: int = Field(description="Chưa thấy về tài khoản / not yet on the account")


# -- statements ----------------------------------------------------------------------------
class LineAmount(BaseModel):
    direction: str
    amount: int


class DifferingLine(BaseModel):
    external_id: str
    value_date: str
    recorded: LineAmount
    statement: LineAmount


class StatementImport(BaseModel):
    new: int
    already: int
    matched: int
    cleared: int
    reversed: int = Field(description="Lines that undid an earlier line (a bank's reversal)")
    proposed: int
    suspense: int
    flagged: int
    held: int = Field(
        description="Matched lines part of whose money waits in suspense (a batch's excess)"
    )
    lines: int
    layout: str
    account: str
    closing_balance: int | None = None
    differing: list[DifferingLine] = Field(
        default_factory=list,
        description="Lines recorded before under the same key with another amount or "
        "direction (the first record is kept)",
    )


class BadLine(BaseModel):
    line: int
    detail_vi: str
    detail_en: str


# -- suspense ------------------------------------------------------------------------------
class Proposal(BaseModel):
    member: str
    months: list[str]
    amount: int
    by: str


class SuspenseItem(BaseModel):
    """`number` is what follows `ORG/` in `id`, as the item's URLs take it: `YYYYMMDD-n`, the
    n-th item held on that value date (or `n` for an item held before queues were kept by
    day)."""

    model_config = ConfigDict(extra="allow")

    id: str
    number: str
    transaction: str
    direction: str
    amount: int
    value_date: str
    narrative: str
    resolution: dict[str, Any] | None = None
    proposal: Proposal | None = None


class Share(Strict):
    member: Code
    amount: Amount


class SuspenseResolve(Strict):
    """Exactly one of: `member` (with `months`, default the oldest owed), `split` (shares
    of members adding up to the item, each to that member's oldest months owed, the rest
    credit), `refund: true`, `not_dues` (the reason), `spending` (money out: the voucher of
    bank spending recorded with `spend`), `code` (the deposit, remittance or refund whose
    bank line this is, printed without its code)."""

    member: Code | None = None
    months: Months | None = None
    split: Annotated[list[Share], Field(min_length=1, max_length=200)] | None = None
    refund: bool = False
    not_dues: Annotated[str, StringConstraints(max_length=500)] | None = None
    spending: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        None, description="Khoản chi đã ghi sổ (số chứng từ) / recorded bank spending's voucher"
    )
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        None,
        description="Mã của khoản nộp tiền mặt, chuyển nộp hay hoàn trả mà dòng này là (in "
        "thiếu mã) / the code of the cash deposit, remittance or refund this line is",
    )


class Resolution(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    how: Literal[
        "member",
        "members",
        "refund",
        "not_dues",
        "spending",
        "deposit",
        "remittance",
        "refund_paid",
    ]
    member: str | None = None
    payment: str | None = None
    payments: list[dict[str, Any]] | None = Field(
        None, description="Chia (`members`): member, amount, payment / the shares, when split"
    )
    reference: str | None = Field(
        None, description="Mã ghi vào nội dung chuyển khoản hoàn trả / the refund's memo code"
    )
    reason: str | None = None


# -- reconciliation ------------------------------------------------------------------------
class InTransit(BaseModel):
    child: str
    period: str
    amount: int


class AccountReconciliation(BaseModel):
    model_config = ConfigDict(extra="allow")

    account: str
    bin: str
    holder_kind: str
    opening: dict[str, Any] | None = None
    # in minus out, of the account's lines dated before the opening's day: the opening
    # holds them, so the ledger's balance does not count them again
    before_opening: int = 0
    lines: int
    statements: int
    as_of: str | None = None
    statement_closing: int | None = None
    ledger_balance: int | None = None
    difference: int | None = None
    # other statements ending on `as_of` that printed a different closing balance
    same_day_closings: list[dict[str, Any]] = []
    not_on_statement: list[dict[str, Any]]
    balance_breaks: list[dict[str, Any]]
    reversed: list[dict[str, Any]]


class Reconciliation(BaseModel):
    org: str
    matched: dict[str, int]
    proposed: list[SuspenseItem]
    suspense: list[SuspenseItem]
    flagged: list[SuspenseItem]
    in_transit: list[InTransit]
    accounts: list[AccountReconciliation]


# -- remittances ---------------------------------------------------------------------------
class RemittanceCreate(Strict):
    """`via`: `portal` (received at once) or `bank` (a transfer, in transit until the
    parent's statement shows its code)."""

    period: Period
    via: Literal["portal", "bank"] = "portal"


class Remittance(BaseModel):
    org: str
    parent: str
    period: str
    amount: int = Field(description="Nộp lần này / remitted now (0: nothing left to remit)")
    payable: int
    remitted_before: int
    via: str
    reference: str | None = Field(None, description="Mã ghi vào nội dung chuyển khoản (bank)")
    payload: str | None = Field(None, description="VietQR đến tài khoản cấp trên (bank)")
    in_transit: int
    over_remitted: int = Field(
        0,
        description="Đã nộp thừa (một khoản thu bị hoàn sau khi nộp) / remitted beyond what is "
        "now payable: a payment of the month was taken back after remitting, not yet "
        "deducted from a later month's remittance",
    )
    offset: int = Field(
        0,
        description="Trừ vào lần nộp này phần đã nộp thừa các tháng trước / deducted from "
        "this remittance: what earlier months remitted beyond their payable share",
    )
    offsets: list[tuple[str, int]] = Field(
        default_factory=list, description="[tháng / month, đ]: whose excess was deducted"
    )
