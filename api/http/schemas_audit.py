"""What the auditor's endpoints read and write: verify reports, seals, replay differences.

Rule: a seal is exactly the JSON `dangphi audit seal` writes (format
`dangphi-audit-seal/1`), so a seal taken by the CLI can be checked over HTTP and
the other way round; request bodies refuse unknown fields.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.http.schemas import Page

HASH_PATTERN = r"^[0-9a-f]{64}$"


def _iso_moment(text: str) -> str:
    """An ISO 8601 moment, kept as written (a seal's `sealed_at`)."""
    datetime.fromisoformat(text)  # ValueError: refused as invalid, naming the field
    return text


class AuditFinding(BaseModel):
    """The first event (or snapshot, or seal) that does not match, and how."""

    kind: Literal["changed", "deleted", "inserted", "reordered", "snapshot", "seal"]
    notification_id: int | None
    originator_id: str
    originator_version: int
    topic: str
    vi: str
    en: str


class AuditReport(BaseModel):
    """`status`: `ok` (everything matches), `tampered` (`first` names the first bad event),
    `unchained` (events recorded before the chain was started: nothing proven)."""

    status: Literal["ok", "tampered", "unchained"]
    sound: bool
    message_vi: str
    message_en: str
    events: int
    head_id: int
    head_hash: str
    unchained: int
    problems: int
    first: AuditFinding | None = None
    snapshots: int
    seals: list[str]


class SealPublic(BaseModel):
    """The head of the hash chain at a moment: keep it where the database's administrators
    cannot write (docs/audit.md)."""

    format: Literal["dangphi-audit-seal/1"] = "dangphi-audit-seal/1"
    database: str | None = None
    notification_id: Annotated[int, Field(ge=0)]
    hash: Annotated[str, Field(pattern=HASH_PATTERN)]
    events: Annotated[int, Field(ge=0)]
    sealed_at: Annotated[str, AfterValidator(_iso_moment)] | None = None


class SealIn(SealPublic):
    model_config = ConfigDict(extra="forbid")


class VerifyRequest(BaseModel):
    """Seals to check against today's log (as `audit verify --seal`), and whether to check
    snapshots too."""

    model_config = ConfigDict(extra="forbid")

    seals: Annotated[list[SealIn], Field(max_length=100)] = []
    snapshots: bool = True


class ReplayDifference(BaseModel):
    table: str
    key: list[Any]
    live: list[Any] | None
    replayed: list[Any] | None


class ReplayResult(BaseModel):
    """`ok` when the read models rebuilt from the log equal the live ones; `rows` compared
    per table; `differences` a page of the rows that differ."""

    ok: bool
    position: int
    events: int
    rows: dict[str, int]
    differences: Page[ReplayDifference]
