"""The ledger application's shared machinery: clock, loading, the tree, the policy.

Rule: commands are short (load, call, save); everything they share lives here.
Loading many aggregates goes through the StoredEventReader port (one or two
queries for thousands of aggregates); the tree is walked level by level in the
shape it had in the month asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Transcoder

from ledger.clock import Clock, SystemClock, today
from ledger.errors import NotFound
from ledger.identity import IdentityCipher
from ledger.ids import member_id, org_id, roots_id
from ledger.loading import RecorderReader, StoredEventReader, load_many
from ledger.member import Member
from ledger.organisation import MEMBER_TYPES, Organisation, RootIndex
from ledger.period import Period, period_of
from ledger.policy import DuesPolicy
from ledger.policy_defaults import DEFAULT_POLICY
from ledger.register import Register
from ledger.transcoding import LedgerTranscoder

A = TypeVar("A", bound=Aggregate)


class LedgerBase(Application[UUID]):
    name = "dangphi"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Register: 20, Organisation: 50}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        reader: StoredEventReader | None = None,
        identity_cipher: IdentityCipher | None = None,
    ) -> None:
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        snapshot_recorder = self.snapshots.recorder if self.snapshots else None
        self.reader: StoredEventReader = reader or RecorderReader(self.recorder, snapshot_recorder)
        self.identity_cipher = identity_cipher

    def construct_transcoder(self) -> Transcoder:
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    # -- time ----------------------------------------------------------------
    def today_iso(self) -> str:
        return today(self.clock).isoformat()

    def current_period(self) -> Period:
        return period_of(today(self.clock))

    # -- loading -------------------------------------------------------------
    def load_many(self, ids: Sequence[UUID], cls: type[A]) -> dict[UUID, A]:
        return load_many(self, self.reader, ids, cls)

    def get_or_none(self, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, cls) else None

    def get_org(self, code: str) -> Organisation:
        org = self.get_or_none(org_id(code), Organisation)
        if org is None:
            raise NotFound(
                f"Không có tổ chức đảng mã '{code}'",
                f"No party organisation with code '{code}'",
                field="org",
            )
        return org

    def get_member(self, code: str) -> Member:
        member = self.get_or_none(member_id(code), Member)
        if member is None:
            raise NotFound(
                f"Không có đảng viên mã '{code}'", f"No member with code '{code}'", field="member"
            )
        return member

    def policy(self) -> DuesPolicy:
        policy = self.get_or_none(DuesPolicy.create_id(), DuesPolicy)
        if policy is None:
            policy = DuesPolicy(data=DEFAULT_POLICY)
            self.save(policy)
        return policy

    # -- the tree --------------------------------------------------------------
    def root_codes(self) -> list[str]:
        index = self.get_or_none(roots_id(), RootIndex)
        return [] if index is None else list(index.codes)

    def subtree(self, period: Period, code: str | None = None) -> list[Organisation]:
        """Every organisation active in `period` under `code` (default: all roots), top down."""
        level = [code] if code is not None else self.root_codes()
        if code is not None:
            self.get_org(code)
        out: list[Organisation] = []
        seen: set[str] = set()
        while level:
            loaded = self.load_many([org_id(c) for c in level], Organisation)
            next_level: list[str] = []
            for c in level:
                org = loaded.get(org_id(c))
                if org is None or c in seen:
                    continue
                seen.add(c)
                if org.is_active_at(period):
                    out.append(org)
                next_level.extend(org.children_at(period))
            level = next_level
        return out

    def branches(self, period: Period, code: str | None = None) -> list[Organisation]:
        return [o for o in self.subtree(period, code) if o.org_type in MEMBER_TYPES]
