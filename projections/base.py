"""The read models' machinery: a `Projection` with a row cache, and a batched catch-up.

Rule: each read model is an `eventsourcing.projection.Projection` whose view is the
read-model storage (`projections.store.Views`, a library `TrackingRecorder`).
`process_event` changes rows in memory; `flush` writes the changed rows and the
tracking position in one transaction. `ReadModels.catch_up` reads the event log
(the application's notification log) from the lowest tracked position, in pages,
decodes each page once for every read model, and flushes each model once per page:
one transaction per page, not per event (the library's `ProjectionRunner` commits
each event on its own; `bench/projections.py` measures both).

A model whose position is empty is being built from scratch (`fresh`): a row it has
not written does not exist, so nothing is read back, and its rows stay in memory
until the catch-up ends. Otherwise a row is loaded on first use, one group at a time
(for example every line of one roll), and the cache is dropped after every flush, so
a catch-up never trusts rows another process may have changed.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.projection import Projection
from psycopg.rows import tuple_row

from projections.store import Row, Table, Views, Write

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

# A rebuild writes once per this many pages (of 5,000 notifications): fewer, larger
# transactions; a crash restarts from the last one written.
REBUILD_PAGES = 100

Handler = Callable[[Any, Any, int, str], None]


def topic_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


_last: list[Any] = [None, ""]


def recorded_at(event: Any) -> str:
    """The event's recorded time as sortable UTC text (the same on SQLite and PostgreSQL):
    `YYYY-MM-DDTHH:MM:SS.ffffff`. Every read model asks for the same event in turn, so the
    last answer is kept."""
    if _last[0] is event:
        return str(_last[1])
    ts: datetime = event.timestamp
    if ts.utcoffset():
        ts = ts.astimezone(UTC)
    text = ts.replace(tzinfo=None).isoformat(timespec="microseconds")
    _last[0], _last[1] = event, text
    return text


def month_of_timestamp(event: Any) -> str:
    ts: datetime = event.timestamp
    return ts.astimezone(VIETNAM).strftime("%Y-%m")


class ReadModel(Projection[Views]):
    """A read model: tables, handlers by event class, a row cache, a flush."""

    name: str = ""
    tables: ClassVar[list[Table]] = []
    indexes: ClassVar[list[str]] = []
    # table name -> number of leading key columns that form a load group
    groups: ClassVar[dict[str, int]] = {}
    handlers: ClassVar[dict[type, Handler]] = {}

    def __init__(self, view: Views) -> None:
        super().__init__(view)
        self.fresh = False
        self._rows: dict[str, dict[tuple[Any, ...], list[Any] | None]] = {}
        self._loaded: dict[str, set[tuple[Any, ...]]] = {}
        self._dirty: dict[str, set[tuple[Any, ...]]] = {}
        # Built from scratch: keys already written once (later writes are upserts; first
        # writes are plain inserts, which PostgreSQL takes by COPY).
        self._written: dict[str, set[tuple[Any, ...]]] = {}
        self._by_name = {t.name: t for t in self.tables}
        self.out = Write()

    @classmethod
    def topics_handled(cls) -> set[str]:
        return {topic_of(c) for c in cls.handlers}

    # -- the library's entry point -----------------------------------------------
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        handler = self.handlers.get(type(domain_event))
        if handler is not None:
            handler(self, domain_event, tracking.notification_id, recorded_at(domain_event))

    # -- rows ----------------------------------------------------------------------
    def get(self, table: str, key: tuple[Any, ...]) -> list[Any] | None:
        rows = self._rows.setdefault(table, {})
        if key in rows:
            return rows[key]
        if self.fresh:
            return None
        n = self.groups.get(table, len(key))
        group = key[:n]
        loaded = self._loaded.setdefault(table, set())
        if group not in loaded:
            loaded.add(group)
            t = self._by_name[table]
            where = " AND ".join(f"{c} = ?" for c in t.key[:n])
            for r in self.view.query(f"SELECT * FROM {table} WHERE {where}", group):
                rows.setdefault(tuple(r[: len(t.key)]), list(r[len(t.key) :]))
        return rows.get(key)

    def put(self, table: str, key: tuple[Any, ...], values: list[Any]) -> None:
        self._rows.setdefault(table, {})[key] = values
        self._dirty.setdefault(table, set()).add(key)

    def insert(self, table: str, row: Row) -> None:
        self.out.insert(self._by_name[table], row)

    # -- writing -------------------------------------------------------------------
    def flush(self, position: int, since: int | None = None) -> int:
        """Write changed rows and the position in one transaction; returns rows written.
        `since`: the position these rows were built from; if the stored one is no longer it
        (another process caught up meanwhile), nothing is written (`IntegrityError`)."""
        out = self.out
        for table, keys in self._dirty.items():
            t = self._by_name[table]
            rows = self._rows[table]
            written = self._written.setdefault(table, set())
            for key in keys:
                values = rows[key]
                if values is None:
                    continue
                if self.fresh and key not in written:
                    out.insert(t, (*key, *values))
                    written.add(key)
                else:
                    out.upsert(t, (*key, *values))
        count = out.rows()
        self.view.write(self.name, position, out, since)
        self.out = Write()
        self._dirty = {}
        if not self.fresh:
            self._rows, self._loaded = {}, {}
        return count

    def reset(self) -> None:
        self.out = Write()
        self._dirty, self._rows, self._loaded, self._written = {}, {}, {}, {}


def handles(*classes: type) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of the given event classes."""

    def mark(fn: Handler) -> Handler:
        fn.__dict__.setdefault("_handles", []).extend(classes)
        return fn

    return mark


def collect_handlers(cls: type[ReadModel]) -> dict[type, Handler]:
    out: dict[type, Handler] = {}
    for value in cls.__dict__.values():
        for event_class in getattr(value, "_handles", ()):
            out[event_class] = value
    return out


# Read models rebuilt together in one process (they share the events they decode).
REBUILD_GROUPS = [["tree", "balances"], ["statements"], ["findings", "bank"]]


def _rebuild_group(app_class: type, env: dict[str, str], models: list[type[ReadModel]]) -> None:
    """A rebuild process: its own application (own connections), its models, then exit
    without running the parent's clean-up on inherited connections."""
    code = 0
    try:
        # The tables exist (the parent made them): creating them again at the same time
        # in several processes makes PostgreSQL report "tuple concurrently updated".
        app = app_class(env={**env, "CREATE_TABLE": "false"})
        try:
            ReadModels(app, models, create=False).catch_up(flush_every=REBUILD_PAGES)
        finally:
            app.close()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ReadModels:
    """Every read model of one ledger, caught up from its event log on demand."""

    def __init__(
        self,
        app: Any,
        models: Sequence[type[ReadModel]],
        views: Views | None = None,
        *,
        create: bool = True,
    ):
        from projections.store import views_for

        self.app = app
        self.views = views or views_for(app.recorder.datastore, create=create)
        self.models = [m(self.views) for m in models]
        if create:  # a model whose tables have another shape is built again (`prepare`)
            dropped = self.views.prepare(
                [(m.name, m.tables) for m in self.models],
                [ix for m in self.models for ix in m.indexes],
            )
            if dropped:
                names = ", ".join(dropped)
                logging.getLogger("dangphi").warning(
                    "mô hình đọc %s có bảng khác dạng (bản cũ hơn): đã xoá, sẽ dựng lại từ "
                    "nhật ký sự kiện / read models %s had tables of another shape (an older "
                    "release): dropped, rebuilt from the event log on the next catch-up",
                    names,
                    names,
                )
        self._topics = {t for m in self.models for t in m.topics_handled()}
        # The log's last notification id when every model was last known to have seen it.
        self._seen_top = -1

    def top_sql(self) -> str | None:
        """The query of the log's last notification id, when the views sit beside the
        events (same datastore) so it can run with their queries; else None."""
        if getattr(self.views, "datastore", None) is not self.app.recorder.datastore:
            return None
        return self.views.max_notification_sql(self.app.recorder.events_table_name)

    def log_top(self) -> int:
        """The log's last notification id (0 when empty)."""
        sql = self.top_sql()
        if sql is None:
            return int(self.app.recorder.max_notification_id() or 0)
        return int(self.views.query(sql)[0][0] or 0)

    @property
    def seen(self) -> int:
        """The log position every model had seen at the last catch-up (-1: not known)."""
        return self._seen_top

    def model(self, name: str) -> ReadModel:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(name)

    def positions(self) -> dict[str, int]:
        stored = self.views.positions()
        return {m.name: stored.get(m.name, 0) for m in self.models}

    def catch_up(self, page: int = 5000, flush_every: int = 1) -> int:
        """Process every event not yet seen by some model; returns how many were read.

        `flush_every` pages per transaction (a rebuild uses more, to write fewer times).
        A write that loses a race with another process (its position moved) is retried
        from the stored positions. When the log's last notification id is the one every
        model had seen at the last catch-up, nothing is read (one query; ids are committed
        in order, the recorder serialises inserts)."""
        top = self.log_top()
        if top == self._seen_top:
            return 0
        seen = self._catch_up_retrying(page, flush_every, top)
        self._seen_top = top
        return seen

    def _catch_up_retrying(self, page: int, flush_every: int, top: int) -> int:
        for _attempt in range(5):
            try:
                return self._catch_up(page, flush_every, top)
            except IntegrityError:
                for m in self.models:
                    m.reset()
        return self._catch_up(page, flush_every, top)

    def _read_log(self, first: int, last: int) -> Sequence[Notification]:
        """The notifications with ids `first` to `last` (inclusive) of the topics the
        models handle, in order. A window of ids, not `LIMIT`: with a topic filter and an
        open upper bound PostgreSQL sorted the whole rest of the log for every page. On
        PostgreSQL one plain query with binary results and tuple rows (the library's
        `select_notifications` builds a dict per row); elsewhere the library's own."""
        recorder = self.app.recorder
        datastore = recorder.datastore
        topics = sorted(self._topics)
        if not isinstance(datastore, PostgresDatastore):
            return list(
                recorder.select_notifications(
                    start=first, limit=last - first + 1, stop=last, topics=topics
                )
            )
        sql = (
            "SELECT notification_id, originator_id, originator_version, topic, state "
            f'FROM "{datastore.schema}".{recorder.events_table_name} '
            "WHERE notification_id >= %s AND notification_id <= %s AND topic = ANY(%s) "
            "ORDER BY notification_id"
        )
        with (
            datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as c,
        ):
            c.execute(sql, [first, last, topics], prepare=True)  # type: ignore[arg-type]
            return [
                Notification(id=i, originator_id=o, originator_version=v, topic=t, state=bytes(b))
                for i, o, v, t, b in c.fetchall()
            ]

    def _catch_up(self, page: int, flush_every: int, top: int) -> int:
        """Read the log from the lowest position to `top`, skipping topics no model
        handles (in the query). While some model is built from scratch, the cyclic
        garbage collector is paused: the rows held in memory are lists and tuples of
        numbers and text, which form no cycles, and collecting them over and over as
        they grow was a fifth of a rebuild. The tables of a model built from scratch are
        analysed at the end."""
        positions = self.positions()
        for m in self.models:
            m.fresh = positions[m.name] == 0
            m.reset()
        paused = any(m.fresh for m in self.models) and gc.isenabled()
        if paused:
            gc.disable()
        try:
            seen = self._read_and_process(positions, page, flush_every, top)
            # Tables just filled have no planner statistics yet: without them PostgreSQL
            # chose nested loops for a province's balance (37 ms instead of 5 ms).
            self.views.analyze([t for m in self.models if m.fresh for t in m.tables])
            return seen
        finally:
            for m in self.models:
                m.fresh = False
                m.reset()
            if paused:
                gc.enable()

    def _read_and_process(
        self, positions: dict[str, int], page: int, flush_every: int, top: int
    ) -> int:
        start = min(positions.values()) + 1
        mapper = self.app.mapper
        seen = 0
        pending = 0
        while start <= top:
            last = min(start + page - 1, top)
            notifications = self._read_log(start, last)
            seen += len(notifications)
            for n in notifications:
                event = mapper.to_domain_event(n)
                tracking = Tracking(self.app.name, n.id)
                for m in self.models:
                    if n.id > positions[m.name]:
                        m.process_event(event, tracking)
            start = last + 1
            pending += 1
            if pending >= flush_every or start > top:
                self._flush(positions, last)
                pending = 0
        return seen

    def _flush(self, positions: dict[str, int], last: int) -> None:
        for m in self.models:
            if last > positions[m.name]:
                m.flush(last, positions[m.name])
                positions[m.name] = last

    def rebuild(self, names: Iterable[str] | None = None, *, processes: bool = True) -> int:
        """Drop the named read models (default: all) and build them again from the log;
        returns the log position reached (its last notification id).

        On PostgreSQL, with `processes`, each group of models (`REBUILD_GROUPS`) is built by
        its own process from the same log, each decoding only the events its models handle:
        the machine's cores work at once. Each process writes its models' rows and
        positions in its own transactions, exactly as a single catch-up would."""
        wanted = set(names) if names is not None else {m.name for m in self.models}
        self._seen_top = -1
        for m in self.models:
            if m.name in wanted:
                self.views.drop(m.tables, m.name)
        self.views.create_tables(
            [t for m in self.models for t in m.tables],
            [ix for m in self.models for ix in m.indexes],
        )
        groups = [
            [type(m) for m in self.models if m.name in group and m.name in wanted]
            for group in REBUILD_GROUPS
        ]
        groups = [g for g in groups if g]
        grouped = {m.name for g in groups for m in g}
        groups += [[type(m)] for m in self.models if m.name in wanted and m.name not in grouped]
        if processes and self.views.pg and len(groups) > 1:
            self._rebuild_in_processes(groups)
            self.catch_up()  # anything recorded meanwhile, and the other models
        else:
            self.catch_up(flush_every=REBUILD_PAGES)
        return max(self._seen_top, 0)

    def _rebuild_in_processes(self, groups: list[list[type[ReadModel]]]) -> None:
        context = multiprocessing.get_context("fork")
        env, app_class = dict(self.app.env), type(self.app)
        workers = [
            context.Process(target=_rebuild_group, args=(app_class, env, group), daemon=True)
            for group in groups
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        failed = [g for w, g in zip(workers, groups, strict=True) if w.exitcode != 0]
        if failed:
            names = ", ".join(m.name for g in failed for m in g)
            raise RuntimeError(f"rebuilding {names} failed in its process (see its output)")

    def close(self) -> None:
        self.views.close()
