"""What the API reads and writes (pydantic 2), separate from the ledger's events.

Rule: money is integer đồng, dates ISO 8601, months `YYYY-MM`; request bodies
refuse unknown fields; every list is a page (`items`, `page`, `size`, `total`).
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
Period = Annotated[str, StringConstraints(pattern=PERIOD_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.\-]{1,40}$")]
T = TypeVar("T")


class Problem(BaseModel):
    """An error (RFC 9457), in Vietnamese and English, naming the field it is about."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    detail_vi: str
    detail_en: str
    field: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    size: int
    total: int


# -- member statement ----------------------------------------------------------------------
class StatementMonth(BaseModel):
    period: str
    branch: str
    assessed: int
    assessed_at_opening: int
    arrears: int
    paid: int
    outstanding: int
    rule: str | None = None
    policy_version: int | None = None
    income: int | None = None
    exempt: str | None = None
    reduction_percent: int = 0
    closed: bool = False


class MemberStatement(BaseModel):
    member: str
    full_name: str
    branch: str
    months: list[StatementMonth]
    assessed: int
    paid: int
    outstanding: int
    credit: int
    paid_through: str | None = None
    unpaid_months_by_year: dict[str, int]
    ended_from: str | None = None
    as_of: str | None = None
    known_at: str | None = None


# -- payment requests ----------------------------------------------------------------------
class PaymentRequestCreate(BaseModel):
    """`months`: months to pay (older months still owed are included, since money is
    applied oldest first); null or absent: everything owed up to this month."""

    model_config = ConfigDict(extra="forbid")

    months: Annotated[list[Period], Field(min_length=1, max_length=25)] | None = None


class TargetAccount(BaseModel):
    org: str
    bin: str
    account_number: str
    holder_name: str
    holder_kind: str


class RequestItem(BaseModel):
    member: str
    months: list[str]
    amount: int
    remaining: int  # what the member still owes under this request


class Transfer(BaseModel):
    transaction_id: str
    amount: int
    received_at: str
    status_at_receipt: str
    held: int


class PaymentRequestPublic(BaseModel):
    reference: str
    kind: str
    status: str
    amount: int
    received: int
    held: int
    branch: str
    payer: str
    hint: str
    items: list[RequestItem]
    target: TargetAccount
    override_reason: str | None = None
    expires_at: str
    payload: str
    transfers: list[Transfer]
    image_png_url: str | None = None
    image_svg_url: str | None = None


# -- receipts and member lists ---------------------------------------------------------------
class AppliedMonth(BaseModel):
    branch: str
    period: str
    amount: int


class Receipt(BaseModel):
    reference: str
    amount: int
    channel: str
    received_on: str
    received_by: str
    months: list[AppliedMonth]
    to_credit: int
    reversed: bool
    reversed_by: str | None = None


class MemberSummary(BaseModel):
    code: str
    full_name: str
    branch: str


# -- balances ------------------------------------------------------------------------------
class Collection(BaseModel):
    members: int
    members_exempt: int
    members_due: int
    members_paid: int
    members_rate: str | None = None
    assessed: int
    collected: int
    amount_rate: str | None = None


class Figures(BaseModel):
    assessed: int
    collected: int
    outstanding: int
    retained: int
    payable_to_parent: int
    remitted_to_parent: int
    received_from_children: int
    in_transit: int
    suspense: int
    bank: int
    cash: int
    due_to: int
    due_from: int
    spent: int


class Counts(Figures):
    members: int
    members_exempt: int
    members_due: int
    members_paid: int


class BalanceMonth(Counts):
    period: str
    subtree: Counts
    organisations: int


class Balance(Figures):
    org: str
    name: str
    type: str
    period: str | None = None
    periods: list[str]
    as_of: str | None = None
    known_at: str | None = None
    subtree_collected: int
    retained_available: int
    collection: Collection
    subtree: Counts
    months: list[BalanceMonth]


# -- webhooks ------------------------------------------------------------------------------
class RecordedTransaction(BaseModel):
    external_id: str
    direction: str
    amount: int
    recorded: bool
    matched: bool
    matched_to: str | None = None


class WebhookAck(BaseModel):
    """SePay reads `success`; Casso and payOS need only a 2xx (they also get `error: 0`)."""

    success: bool = True
    error: int = 0
    message: str = "ok"
    transactions: list[RecordedTransaction]
