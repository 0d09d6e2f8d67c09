"""Loading many aggregates at once: the port the bulk paths read through.

Rule: opening a month or walking the tree loads thousands of aggregates; one
query per aggregate would dominate the time. The ledger owns a small
`StoredEventReader` protocol; the outer layer plugs in a reader that fetches
many aggregates' snapshots and events in a few queries (see api/storage.py).
Without one, `RecorderReader` asks the recorder one aggregate at a time, so the
ledger works on any eventsourcing storage, the in-memory one included.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import AggregateRecorder, StoredEvent

A = TypeVar("A", bound=Aggregate)


class StoredEventReader(Protocol):
    def latest_snapshots(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The newest snapshot of each id that has one."""

    def events_after(self, versions: dict[UUID, int]) -> list[StoredEvent]:
        """Every event of each id with a version above the given one (any order)."""

    def topics_after(self, versions: dict[UUID, int]) -> list[tuple[UUID, int, str]]:
        """(id, version, topic) of the same events, without their state: what changed."""

    def first_events(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        """The first event (version 1) of each id that has one: which exist, and as what."""


class RecorderReader:
    """The portable reader: one recorder query per aggregate."""

    def __init__(self, events: AggregateRecorder, snapshots: AggregateRecorder | None) -> None:
        self.events = events
        self.snapshots = snapshots

    def latest_snapshots(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        if self.snapshots is None:
            return []
        out: list[StoredEvent] = []
        for i in ids:
            out.extend(self.snapshots.select_events(i, desc=True, limit=1))
        return out

    def events_after(self, versions: dict[UUID, int]) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for i, v in versions.items():
            out.extend(self.events.select_events(i, gt=v or None))
        return out

    def topics_after(self, versions: dict[UUID, int]) -> list[tuple[UUID, int, str]]:
        return [
            (UUID(str(s.originator_id)), s.originator_version, s.topic)
            for s in self.events_after(versions)
        ]

    def first_events(self, ids: Sequence[UUID]) -> list[StoredEvent]:
        out: list[StoredEvent] = []
        for i in ids:
            out.extend(self.events.select_events(i, limit=1))
        return out


def _version(stored: StoredEvent) -> int:
    return stored.originator_version


def load_many(
    app: Application[UUID], reader: StoredEventReader, ids: Sequence[UUID], cls: type[A]
) -> dict[UUID, A]:
    """Reconstruct every existing aggregate among `ids`; missing ids are simply absent."""
    unique = list(dict.fromkeys(ids))
    if not unique:
        return {}
    snapshots = {s.originator_id: s for s in reader.latest_snapshots(unique)}
    versions = {i: snapshots[i].originator_version if i in snapshots else 0 for i in unique}
    grouped: dict[Any, list[StoredEvent]] = defaultdict(list)
    for stored in reader.events_after(versions):
        grouped[stored.originator_id].append(stored)
    for seq in grouped.values():
        seq.sort(key=_version)
    mapper = app.mapper
    out: dict[UUID, A] = {}
    for i in unique:
        stored_seq = ([snapshots[i]] if i in snapshots else []) + grouped.get(i, [])
        if not stored_seq:
            continue
        # What project_aggregate does, without its runtime-Protocol isinstance check per
        # event (about a tenth of opening a month).
        aggregate: Any = None
        for s in stored_seq:
            event: Any = mapper.to_domain_event(s)
            aggregate = event.mutate(aggregate)
        if isinstance(aggregate, cls):
            out[i] = aggregate
    return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one bulk command.

    Opening a month creates millions of objects that all live until it ends;
    the collector would walk them all again and again (about half the time of
    opening a province). Reference counting still frees everything as usual;
    the collector resumes (if it was on) when the command ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
