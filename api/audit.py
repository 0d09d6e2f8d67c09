"""Tamper evidence: the hash chain over the event log, `audit verify` and `audit seal`.

Rule: every stored event has a chain row, written by the recorder in the same
transaction (api/storage.py). A row holds the event's key, its digest and the
link hash_n = sha256(hash_prev || notification_id || digest_n). Verify streams
the events and the chain in notification order, inside one read snapshot, and
names the first event that does not match; a seal (the head of the chain at a
moment, kept by an auditor) proves that the chain itself was not recomputed.
The format and its reasons are in docs/audit.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from ledger.errors import InvalidInput

GENESIS = bytes(32)
SEAL_FORMAT = "dangphi-audit-seal/1"
PAGE = 1000  # rows per query: a month's roll events are a few kB each


@dataclass(frozen=True)
class EventRow:
    notification_id: int
    originator_id: str  # canonical text: str(UUID), the same on every storage
    originator_version: int
    topic: str
    state: bytes
    retyped: bool = False  # a column holds a type the library never writes (SQLite allows it)


@dataclass(frozen=True)
class ChainRow:
    notification_id: int
    originator_id: str
    originator_version: int
    topic: str
    digest: bytes
    hash: bytes

    def values(self) -> tuple[int, str, int, str, bytes, bytes]:
        """The row in `CHAIN_COLUMNS` order, as both storages write it."""
        return (
            self.notification_id,
            self.originator_id,
            self.originator_version,
            self.topic,
            self.digest,
            self.hash,
        )


def canonical_id(value: UUID | str) -> str:
    """An originator id as the chain hashes it: str(UUID) whether the storage holds a
    uuid (PostgreSQL) or its hex (SQLite); another text id as it is."""
    if isinstance(value, UUID):
        return str(value)
    try:
        return str(UUID(value))
    except ValueError:
        return value


def chain_table(events_table: str) -> str:
    return f"{events_table}_chain"


def digest(originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """sha256 over the event's length-prefixed fields: its content, not its position."""
    oid, name = originator_id.encode(), topic.encode()
    return hashlib.sha256(  # each field length-prefixed; one call, for speed
        b"".join(
            (
                len(oid).to_bytes(8, "big"),
                oid,
                version.to_bytes(8, "big", signed=True),
                len(name).to_bytes(8, "big"),
                name,
                len(state).to_bytes(8, "big"),
                state,
            )
        )
    ).digest()


def link(previous: bytes, notification_id: int, event_digest: bytes) -> bytes:
    """The chain hash at a position: the previous hash, the position, the event's digest."""
    return hashlib.sha256(previous + notification_id.to_bytes(8, "big") + event_digest).digest()


def chain_rows(head: bytes, events: Sequence[tuple[int, str, int, str, bytes]]) -> list[ChainRow]:
    """Chain rows for events (notification id, originator id, version, topic, state)
    given in notification order, continuing from the hash `head`."""
    return linked(head, [(n, o, v, t, digest(o, v, t, s)) for n, o, v, t, s in events])


def linked(head: bytes, digested: Sequence[tuple[int, str, int, str, bytes]]) -> list[ChainRow]:
    """Chain rows for events already digested (notification id, originator id, version,
    topic, digest): the cheap part, done by a writer while it holds the lock."""
    rows = []
    for nid, oid, version, topic, d in digested:
        head = link(head, nid, d)
        rows.append(ChainRow(nid, oid, version, topic, d, head))
    return rows


# -- verify ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """The first event that breaks the chain, and how."""

    kind: str  # changed | deleted | inserted | reordered | snapshot | seal
    notification_id: int | None
    originator_id: str
    originator_version: int
    topic: str
    vi: str
    en: str


@dataclass(frozen=True)
class Seal:
    notification_id: int
    hash: str
    events: int
    source: str = ""


@dataclass
class Report:
    events: int = 0
    head_id: int = 0
    head_hash: str = GENESIS.hex()
    unchained: int = 0  # events recorded before the chain was started (no chain row at all)
    problems: int = 0  # positions that fail, the first of which is `first`
    first: Finding | None = None
    snapshots: int = 0
    seals: list[str] = field(default_factory=list)  # seals that were checked and hold

    @property
    def sound(self) -> bool:
        return self.first is None and self.unchained == 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sound"] = self.sound
        return out


class _Walk:
    """The merge of the event stream and the chain stream, position by position."""

    def __init__(self, reader: LogReader, seals: Sequence[Seal]) -> None:
        self.reader = reader
        self.report = Report()
        self.previous = GENESIS
        self.chained = 0
        self.seals = {s.notification_id: s for s in seals}
        self.found_seals: set[int] = set()

    def problem(self, make: Callable[[], Finding]) -> None:
        self.report.problems += 1
        if self.report.first is None:
            self.report.first = make()

    def event_without_chain(self, e: EventRow) -> None:
        self.problem(lambda: _inserted(e))

    def chain_without_event(self, c: ChainRow) -> None:
        self.problem(lambda: _deleted(c))
        self.advance(c)

    def both(self, e: EventRow, c: ChainRow) -> None:
        d = digest(e.originator_id, e.originator_version, e.topic, e.state)
        if e.retyped or d != c.digest:
            self.problem(lambda: _changed(self.reader, e, c, d))
        elif link(self.previous, c.notification_id, c.digest) != c.hash:
            self.problem(lambda: _cut(e))
        self.advance(c)

    def advance(self, c: ChainRow) -> None:
        self.previous = c.hash
        self.chained += 1
        self.report.head_id, self.report.head_hash = c.notification_id, c.hash.hex()
        seal = self.seals.get(c.notification_id)
        if seal is not None:
            self.found_seals.add(c.notification_id)
            if c.hash.hex() != seal.hash or self.chained != seal.events:
                self.problem(lambda: _unsealed(seal, c))
            else:
                self.report.seals.append(seal.source or str(seal.notification_id))


def verify(app: Application[UUID], seals: Sequence[Seal] = (), *, snapshots: bool = True) -> Report:
    """Recompute the chain over the whole log (streamed), check seals and snapshots."""
    with log_reader(app) as reader:
        walk = _Walk(reader, seals)
        events, chain = reader.events(PAGE), reader.chain(PAGE)
        e, c = next(events, None), next(chain, None)
        any_chain = c is not None
        while e is not None or c is not None:
            if c is None or (e is not None and e.notification_id < c.notification_id):
                assert e is not None
                walk.report.events += 1
                if any_chain:
                    walk.event_without_chain(e)
                else:
                    walk.report.unchained += 1
                e = next(events, None)
            elif e is None or c.notification_id < e.notification_id:
                walk.chain_without_event(c)
                c = next(chain, None)
            else:
                walk.report.events += 1
                walk.both(e, c)
                e, c = next(events, None), next(chain, None)
        for s in seals:
            if s.notification_id not in walk.found_seals and not (
                s.notification_id == 0 and s.hash == GENESIS.hex()
            ):
                walk.problem(lambda s=s: _unsealed(s, None))  # type: ignore[misc]
        report = walk.report
    if snapshots and report.first is None:
        report.snapshots, bad = check_snapshots(app)
        if bad is not None:
            report.problems += 1
            report.first = bad
    return report


def _name(oid: str, version: int, topic: str) -> tuple[str, str]:
    return (
        f"đối tượng {oid}, phiên bản {version}, loại {topic}",
        f"originator {oid}, version {version}, topic {topic}",
    )


def _inserted(e: EventRow) -> Finding:
    vi, en = _name(e.originator_id, e.originator_version, e.topic)
    return Finding(
        "inserted",
        e.notification_id,
        e.originator_id,
        e.originator_version,
        e.topic,
        f"sự kiện số {e.notification_id} ({vi}) không có trong chuỗi băm: bị chèn ngoài ứng dụng",
        f"event {e.notification_id} ({en}) has no chain row: inserted outside the application",
    )


def _deleted(c: ChainRow) -> Finding:
    vi, en = _name(c.originator_id, c.originator_version, c.topic)
    return Finding(
        "deleted",
        c.notification_id,
        c.originator_id,
        c.originator_version,
        c.topic,
        f"sự kiện số {c.notification_id} ({vi}) có trong chuỗi băm nhưng đã bị xoá",
        f"event {c.notification_id} ({en}) is in the chain but was deleted",
    )


def _cut(e: EventRow) -> Finding:
    vi, en = _name(e.originator_id, e.originator_version, e.topic)
    return Finding(
        "deleted",
        e.notification_id,
        e.originator_id,
        e.originator_version,
        e.topic,
        f"chuỗi băm bị đứt ngay trước sự kiện số {e.notification_id} ({vi}): một sự kiện "
        "trước nó đã bị xoá cùng dòng chuỗi của nó, hoặc chuỗi đã bị sửa",
        f"the chain is cut just before event {e.notification_id} ({en}): an earlier event "
        "was deleted together with its chain row, or the chain was rewritten",
    )


def _changed(reader: LogReader, e: EventRow, c: ChainRow, d: bytes) -> Finding:
    vi, en = _name(e.originator_id, e.originator_version, e.topic)
    elsewhere = reader.chain_row_of(e.originator_id, e.originator_version)
    if (
        elsewhere is not None
        and elsewhere.notification_id != e.notification_id
        and elsewhere.digest == d
    ):
        return Finding(
            "reordered",
            e.notification_id,
            e.originator_id,
            e.originator_version,
            e.topic,
            f"sự kiện số {e.notification_id} ({vi}) đã được ghi ở vị trí "
            f"{elsewhere.notification_id}: thứ tự sổ bị đảo",
            f"event {e.notification_id} ({en}) was recorded at position "
            f"{elsewhere.notification_id}: the log was reordered",
        )
    return Finding(
        "changed",
        e.notification_id,
        e.originator_id,
        e.originator_version,
        e.topic,
        f"sự kiện số {e.notification_id} ({vi}) đã bị sửa: nội dung khác với chuỗi băm",
        f"event {e.notification_id} ({en}) was changed: its content does not match the chain",
    )


def _unsealed(seal: Seal, c: ChainRow | None) -> Finding:
    where = seal.source or "seal"
    return Finding(
        "seal",
        seal.notification_id,
        c.originator_id if c else "",
        c.originator_version if c else 0,
        c.topic if c else "",
        f"niêm phong {where} (sự kiện số {seal.notification_id}, {seal.events} sự kiện, "
        f"băm {seal.hash[:16]}…) không còn khớp: lịch sử đến vị trí đó đã bị viết lại",
        f"seal {where} (event {seal.notification_id}, {seal.events} events, hash "
        f"{seal.hash[:16]}…) no longer matches: the history up to it was rewritten",
    )


# -- snapshots --------------------------------------------------------------------------


def check_snapshots(app: Application[UUID]) -> tuple[int, Finding | None]:
    """Each stored snapshot must equal its aggregate replayed from events up to its version
    (a snapshot is a cache, but a forged one would change what the ledger loads)."""
    if app.snapshots is None:
        return 0, None
    transcoder = app.mapper.transcoder
    count = 0
    with log_reader(app) as reader:
        rows = reader.snapshots(PAGE)
        for oid, group in groupby(rows, key=lambda s: s.originator_id):
            snaps = list(group)
            count += len(snaps)
            wanted = {s.originator_version: s for s in snaps}
            bad = _replay_against(app, transcoder, oid, wanted)
            if bad is not None:
                return count, _bad_snapshot(bad)
    return count, None


def _replay_against(
    app: Application[UUID], transcoder: Any, oid: str, wanted: dict[int, StoredEvent]
) -> StoredEvent | None:
    """The first of one aggregate's snapshots that its events do not reproduce."""
    first = wanted[min(wanted)]
    try:
        events: Any = app.events.get(UUID(oid), lte=max(wanted))  # the library's events
    except ValueError:  # not an id the ledger could have written
        return first
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(aggregate)
        stored = wanted.pop(event.originator_version, None)
        if stored is not None and not _same(app, transcoder, stored, aggregate):
            return stored
    return wanted[min(wanted)] if wanted else None  # else: a snapshot beyond the events


def _same(app: Application[UUID], transcoder: Any, stored: StoredEvent, aggregate: Any) -> bool:
    try:
        snap = app.mapper.to_domain_event(stored)
    except Exception:  # whatever makes a snapshot unreadable makes it bad
        return False
    if not isinstance(snap, Snapshot) or aggregate is None:
        return False
    taken = Snapshot.take(aggregate)
    try:
        # The snapshot's state as its class reads it now: an older shape (a v1 snapshot)
        # is upcast on the way, so only a change to what it says makes it differ.
        restored = Snapshot.take(snap.mutate(None))
    except Exception:
        return False
    return bool(
        snap.topic == taken.topic
        and transcoder.decode(transcoder.encode(restored.state))
        == transcoder.decode(transcoder.encode(taken.state))
    )


def _bad_snapshot(s: StoredEvent) -> Finding:
    vi, en = _name(str(s.originator_id), s.originator_version, s.topic)
    return Finding(
        "snapshot",
        None,
        str(s.originator_id),
        s.originator_version,
        s.topic,
        f"ảnh chụp ({vi}) khác với trạng thái dựng lại từ các sự kiện: ảnh chụp bị sửa",
        f"the snapshot ({en}) differs from the state replayed from its events: it was altered",
    )


# -- seals ------------------------------------------------------------------------------


class Clocked(Protocol):
    def now(self) -> Any: ...


def make_seal(report: Report, database: str, clock: Clocked) -> dict[str, Any]:
    return {
        "format": SEAL_FORMAT,
        "database": database,
        "notification_id": report.head_id,
        "hash": report.head_hash,
        "events": report.events,
        "sealed_at": clock.now().isoformat(),
    }


def read_seal(path: Path) -> Seal:
    """A seal file written by `audit seal`; anything else is refused, naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != SEAL_FORMAT:
            raise ValueError(data.get("format"))
        seal = Seal(int(data["notification_id"]), str(data["hash"]), int(data["events"]), str(path))
        bytes.fromhex(seal.hash)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise InvalidInput(
            f"Không đọc được tệp niêm phong '{path}': {e}",
            f"Cannot read the seal file '{path}': {e}",
            field="seal",
        ) from None
    return seal


def masked_url(url: str) -> str:
    """The database URL without its password (a seal is handed to people)."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


# -- reading the log: one read snapshot, keyset pages ---------------------------------------


class LogReader(Protocol):
    def events(self, page: int) -> Iterator[EventRow]: ...
    def chain(self, page: int) -> Iterator[ChainRow]: ...
    def chain_row_of(self, originator_id: str, version: int) -> ChainRow | None: ...
    def snapshots(self, page: int) -> Iterator[StoredEvent]: ...


def _text(value: Any) -> str:
    return canonical_id(value) if isinstance(value, str | UUID) else repr(value)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _blob(value: Any) -> bytes:
    return (
        bytes(value) if isinstance(value, bytes | bytearray | memoryview) else repr(value).encode()
    )


def _event_row(r: Any) -> EventRow:
    """An event as stored. SQLite keeps any value in any column, so a value of a type the
    library never writes (a state turned TEXT by an UPDATE with replace(), say) is
    itself a change, even if its characters are the same."""
    oid, version, topic, state = r["originator_id"], r["originator_version"], r["topic"], r["state"]
    typed = (
        isinstance(oid, str | UUID)
        and type(version) is int
        and isinstance(topic, str)
        and isinstance(state, bytes | memoryview)
    )
    return EventRow(
        r["notification_id"], _text(oid), _int(version), _text(topic), _blob(state), not typed
    )


def _stored(r: Any) -> StoredEvent:
    return StoredEvent(
        _text(r["originator_id"]),
        _int(r["originator_version"]),
        _text(r["topic"]),
        _blob(r["state"]),
    )


def _chain_row(r: Any) -> ChainRow:
    return ChainRow(
        r["notification_id"],
        _text(r["originator_id"]),
        _int(r["originator_version"]),
        _text(r["topic"]),
        _blob(r["digest"]),
        _blob(r["hash"]),
    )


CHAIN_COLUMNS = "notification_id, originator_id, originator_version, topic, digest, hash"


class _PostgresLog:
    def __init__(self, curs: Any, schema: str, events: str, snapshots: str | None) -> None:
        self.curs = curs
        s = Identifier(schema)
        self.events_sql = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {s}.{t} WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(s=s, t=Identifier(events))
        self.chain_sql = SQL(
            "SELECT " + CHAIN_COLUMNS + " FROM {s}.{t} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(s=s, t=Identifier(chain_table(events)))
        self.key_sql = SQL(
            "SELECT " + CHAIN_COLUMNS + " FROM {s}.{t} "
            "WHERE originator_id = %s AND originator_version = %s LIMIT 1"
        ).format(s=s, t=Identifier(chain_table(events)))
        self.snap_sql = (
            SQL(
                "SELECT originator_id, originator_version, topic, state FROM {s}.{t} "
                "WHERE (originator_id, originator_version) > (%s, %s) "
                "ORDER BY originator_id, originator_version LIMIT %s"
            ).format(s=s, t=Identifier(snapshots))
            if snapshots
            else None
        )

    def _rows(self, sql: Any, params: Sequence[Any]) -> list[Any]:
        self.curs.execute(sql, params, binary=True)
        return list(self.curs.fetchall())

    def events(self, page: int) -> Iterator[EventRow]:
        after = 0
        while rows := self._rows(self.events_sql, (after, page)):
            yield from map(_event_row, rows)
            after = rows[-1]["notification_id"]

    def chain(self, page: int) -> Iterator[ChainRow]:
        after = 0
        while rows := self._rows(self.chain_sql, (after, page)):
            yield from map(_chain_row, rows)
            after = rows[-1]["notification_id"]

    def chain_row_of(self, originator_id: str, version: int) -> ChainRow | None:
        rows = self._rows(self.key_sql, (originator_id, version))
        return _chain_row(rows[0]) if rows else None

    def snapshots(self, page: int) -> Iterator[StoredEvent]:
        if self.snap_sql is None:
            return
        after: tuple[Any, int] = (UUID(int=0), -1)
        while rows := self._rows(self.snap_sql, (*after, page)):
            yield from map(_stored, rows)
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


class _SQLiteLog:
    def __init__(self, curs: Any, events: str, snapshots: str | None) -> None:
        self.curs = curs
        chain = chain_table(events)
        self.events_sql = (
            "SELECT rowid AS notification_id, originator_id, originator_version, topic, state "
            f"FROM {events} WHERE rowid > ? ORDER BY rowid LIMIT ?"
        )
        self.chain_sql = (
            f"SELECT {CHAIN_COLUMNS} FROM {chain} "
            "WHERE notification_id > ? ORDER BY notification_id LIMIT ?"
        )
        self.key_sql = (
            f"SELECT {CHAIN_COLUMNS} FROM {chain} "
            "WHERE originator_id = ? AND originator_version = ? LIMIT 1"
        )
        self.snap_sql = (
            f"SELECT originator_id, originator_version, topic, state FROM {snapshots} "
            "WHERE (originator_id, originator_version) > (?, ?) "
            "ORDER BY originator_id, originator_version LIMIT ?"
            if snapshots
            else None
        )

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        self.curs.execute(sql, params)
        return list(self.curs.fetchall())

    def events(self, page: int) -> Iterator[EventRow]:
        after = 0
        while rows := self._rows(self.events_sql, (after, page)):
            yield from map(_event_row, rows)
            after = rows[-1]["notification_id"]

    def chain(self, page: int) -> Iterator[ChainRow]:
        after = 0
        while rows := self._rows(self.chain_sql, (after, page)):
            yield from map(_chain_row, rows)
            after = rows[-1]["notification_id"]

    def chain_row_of(self, originator_id: str, version: int) -> ChainRow | None:
        rows = self._rows(self.key_sql, (originator_id, version))
        return _chain_row(rows[0]) if rows else None

    def snapshots(self, page: int) -> Iterator[StoredEvent]:
        if self.snap_sql is None:
            return
        after: tuple[str, int] = ("", -1)
        while rows := self._rows(self.snap_sql, (*after, page)):
            yield from map(_stored, rows)
            after = (rows[-1]["originator_id"], rows[-1]["originator_version"])


@contextmanager
def log_reader(app: Application[UUID]) -> Iterator[LogReader]:
    """The application's log, chain and snapshots read inside one consistent snapshot
    (a write committing meanwhile is either wholly seen or not at all)."""
    recorder = app.recorder
    snapshots = app.snapshots.recorder if app.snapshots else None
    snap_table = getattr(snapshots, "events_table_name", None)
    if isinstance(recorder, PostgresApplicationRecorder):
        with (
            recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor() as curs,
        ):
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            curs.execute("SET LOCAL jit = off")
            yield _PostgresLog(
                curs, recorder.datastore.schema, recorder.events_table_name, snap_table
            )
    elif isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            yield _SQLiteLog(c, recorder.events_table_name, snap_table)
    else:
        raise InvalidInput(
            "Chỉ kiểm toán được sổ trên SQLite hoặc PostgreSQL",
            "Only a ledger on SQLite or PostgreSQL can be audited",
            field="db",
        )
