"""The read models against the aggregates, after long random histories, on SQLite and PostgreSQL.

The core's queries (`DuesLedger.balance`, `member_statement`) compute every figure from
the aggregates that own it; the read models compute the same figures from the event log
alone. After any history (tree moves, transfers, income changes, payments, closings,
remittances, spending) the two must agree for every organisation and month and every
member; the read models caught up step by step must equal a rebuild from scratch
(`audit replay`); and a balance asked "as known at" an earlier time must equal what the
aggregates said at that time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given, settings

from ledger.app import DuesLedger
from ledger.errors import NotFound
from ledger.period import add_months
from projections.reads import Reads
from projections.replay import replay
from tests.builders import numbered, org_rows
from tests.integration.test_invariants import (
    EXAMPLES,
    Factory,
    Run,
    Scenario,
    on_postgres,
    on_sqlite,
    scenarios,
)

FIELDS = (
    "assessed",
    "collected",
    "outstanding",
    "retained",
    "payable_to_parent",
    "remitted_to_parent",
    "received_from_children",
    "in_transit",
    "subtree_collected",
    "spent",
    "retained_available",
)
MEMBER_FIELDS = ("assessed", "paid", "outstanding", "credit", "paid_through", "branch")


# The core shows all-time spending beside every month; the read model shows the month's
# own spending (docs/read-models.md). They agree on the totals over all months.
ALL_TIME = ("spent", "retained_available")


def pick(b: dict[str, Any], period: str | None) -> dict[str, Any]:
    return {k: b[k] for k in FIELDS if period is None or k not in ALL_TIME}


def core_balances(app: DuesLedger, orgs: list[str]) -> dict[tuple[str, str | None], Any]:
    out: dict[tuple[str, str | None], Any] = {}
    for org in orgs:
        total = app.balance(org)
        out[(org, None)] = pick(total, None) if total["periods"] else None
        for p in total["periods"]:
            out[(org, p)] = pick(app.balance(org, p), p)
    return out


def read_balances(
    reads: Reads, keys: list[tuple[str, str | None]], known_at: datetime | None = None
) -> dict[tuple[str, str | None], Any]:
    out: dict[tuple[str, str | None], Any] = {}
    for org, p in keys:
        try:
            b = reads.balance(org, p, known_at=known_at)
        except NotFound:
            out[(org, p)] = None
            continue
        out[(org, p)] = pick(b, p)
    return out


def statements(source: Any, codes: list[str], **kw: Any) -> dict[str, Any]:
    out = {}
    for code in codes:
        s = source.member_statement(code, **kw)
        months = [(m["period"], m["branch"], m["assessed"], m["paid"]) for m in s["months"]]
        out[code] = ({k: s[k] for k in MEMBER_FIELDS}, months)
    return out


def same(got: dict[Any, Any], want: dict[Any, Any], when: object = None) -> None:
    """Equal, or fail naming each differing key and field (not a truncated dict diff)."""
    problems = []
    for key in sorted(set(got) | set(want), key=str):
        a, b = got.get(key), want.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            fields = {f: (a.get(f), b.get(f)) for f in set(a) | set(b) if a.get(f) != b.get(f)}
            problems.append(f"{key}: {fields}")
        else:
            problems.append(f"{key}: read model {a!r} != aggregates {b!r}")
    assert not problems, f"at {when}: " + "; ".join(problems[:8])


def play_with_reads(app: DuesLedger, scenario: Scenario, frozen: Any) -> tuple[Run, Reads, list]:
    """Play the scenario; catch the read models up every few steps (the incremental path)
    and keep what the aggregates said at some moments, to ask the read models later."""
    app.import_orgs(org_rows(scenario.tree))
    app.import_members(numbered([row for row, _, _ in scenario.members]))
    for row, exemption, months in scenario.members:
        if exemption is not None:
            kind, percent = exemption
            app.grant_exemption(
                row["code"],
                kind,
                percent,
                "QĐ thử",
                scenario.start,
                add_months(scenario.start, months),
            )
    reads = Reads(app)
    run = Run(app, scenario, scenario.start)
    moments: list[tuple[datetime, dict, dict]] = []
    for i, op in enumerate(scenario.ops):
        frozen.tick(timedelta(seconds=1))
        run.do(op)
        if i % 3 == 2:
            reads.catch_up()
        if i % 5 == 4:
            moments.append(
                (
                    datetime.now(UTC),
                    core_balances(app, run.orgs),
                    statements(app, run.codes[:3]),
                )
            )
    return run, reads, moments


@pytest.fixture(params=["sqlite", "postgres"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    if request.param == "postgres":
        request.getfixturevalue("pg_ready")
        return on_postgres
    return lambda: on_sqlite(tmp_path)


class TestReadModelsAgreeWithTheAggregates:
    @settings(EXAMPLES, max_examples=10)
    @given(scenario=scenarios(restructure=True))
    def test_after_any_history(self, frozen: Any, storage: Factory, scenario: Scenario) -> None:
        with storage() as app:
            run, reads, moments = play_with_reads(app, scenario, frozen)
            try:
                core = core_balances(app, run.orgs)
                same(read_balances(reads, list(core)), core)
                same(statements(reads, run.codes), statements(app, run.codes))

                for at, then, members_then in moments:
                    same(read_balances(reads, list(then), known_at=at), then, at)
                    same(statements(reads, list(members_then), known_at=at), members_then, at)

                report = replay(app, reads.models)
                assert report.ok, report.differences[:5]
                assert report.events == app.recorder.max_notification_id()

                reads.models.rebuild()
                same(read_balances(reads, list(core)), core)
            finally:
                reads.close()


def test_two_processes_catching_up_at_once_write_each_row_once(db_url: str, frozen: Any) -> None:
    """Two readers (as two CLI or API processes would) catch up the same read models at the
    same moment: one writes, the other finds the position moved and starts again; the
    result equals a rebuild from scratch."""
    import threading

    from api.bootstrap import build_ledger
    from api.settings import load_settings
    from tests.builders import member_row

    apps = [build_ledger(load_settings(db_url)) for _ in range(2)]
    try:
        app = apps[0]
        app.import_orgs(
            org_rows([("TW", "Trung ương", "central", ""), ("B", "Chi bộ B", "branch", "TW")])
        )
        app.import_members(numbered([member_row(f"M{i}", "B") for i in range(30)]))
        app.open_month("2026-12")
        for i in range(0, 30, 2):
            app.pay(f"M{i}", 50_000, reference=f"R{i}")
        readers = [Reads(a) for a in apps]
        errors: list[BaseException] = []

        def catch_up(r: Reads) -> None:
            try:
                r.catch_up()
            except BaseException as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=catch_up, args=(r,)) for r in readers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert (
            readers[0].balance("B", "2026-12")["collected"]
            == app.balance("B", "2026-12")["collected"]
        )
        assert replay(app, readers[0].models).ok
        for r in readers:
            r.close()
    finally:
        for a in apps:
            a.close()


def test_a_catch_up_that_read_further_than_the_winner_writes_nothing_twice(
    db_url: str, frozen: Any
) -> None:
    """A reader that began at a position another process has since moved, and read further
    than it: before, the library's tracking check (only "moves forward") let it write the
    winner's events a second time, and balances counted bank lines twice with two API
    workers (a helper's check). Now its write finds the position moved and it starts
    again from the stored positions."""
    from api.bootstrap import build_ledger
    from api.settings import load_settings
    from tests.builders import member_row

    apps = [build_ledger(load_settings(db_url)) for _ in range(2)]
    readers: list[Reads] = []
    try:
        app = apps[0]
        app.import_orgs(
            org_rows([("TW", "Trung ương", "central", ""), ("B", "Chi bộ B", "branch", "TW")])
        )
        app.import_members(numbered([member_row(f"M{i}", "B") for i in range(6)]))
        app.open_month("2026-12")
        readers = [Reads(a) for a in apps]
        readers[0].catch_up()
        readers[1].catch_up()
        app.pay("M0", 70_000, reference="R0")
        late = readers[1].models
        stale = late.positions()  # the slow reader begins here ...
        app.pay("M1", 70_000, reference="R1")
        readers[0].catch_up()  # ... the other writes R0 (and R1) first ...
        app.pay("M2", 70_000, reference="R2")
        top = app.recorder.max_notification_id()
        assert top is not None
        with pytest.raises(IntegrityError):  # ... and the slow one, having read further,
            late._read_and_process(dict(stale), 5000, 1, top)  # may not write them again
        for m in late.models:
            m.reset()
        readers[1].catch_up()
        assert readers[1].balance("B", "2026-12")["collected"] == 210_000
        assert replay(app, readers[1].models).ok
    finally:
        for r in readers:
            r.close()
        for a in apps:
            a.close()


def test_a_catch_up_reads_only_its_models_topics_and_reaches_the_end_of_the_log(
    frozen: Any, storage: Factory
) -> None:
    """The log is read in windows of ids, filtered to the topics the models handle: a
    model that handles none of the last events still ends at the log's last id (so the
    next read does not read them again), and counts only the events it read."""
    from projections.base import ReadModels
    from projections.tree import TreeModel
    from tests.builders import member_row

    with storage() as app:
        app.import_orgs(
            org_rows([("TW", "Trung ương", "central", ""), ("B", "Chi bộ B", "branch", "TW")])
        )
        tree_events = app.recorder.max_notification_id()
        app.import_members(numbered([member_row(f"M{i}", "B") for i in range(5)]))
        app.open_month("2026-12")  # rolls, registers, members: none of the tree's topics
        top = app.recorder.max_notification_id()
        assert top > tree_events
        models = ReadModels(app, [TreeModel])
        try:
            read = models.catch_up(page=3)  # several windows, most of them empty
            handled = {
                n.id
                for n in app.recorder.select_notifications(start=1, limit=top)
                if n.topic in TreeModel.topics_handled()
            }
            assert read == len(handled) and 0 < read < top
            assert models.positions() == {"tree": top}
            assert models.catch_up() == 0
            assert models.rebuild() == top
            assert models.positions() == {"tree": top}
        finally:
            models.close()


def test_a_rebuild_leaves_planner_statistics_on_its_tables(frozen: Any, storage: Factory) -> None:
    """Tables filled by a rebuild are analysed at once (without statistics PostgreSQL
    planned a province's balance as nested loops: seven times slower)."""
    from tests.builders import member_row

    with storage() as app:
        app.import_orgs(
            org_rows([("TW", "Trung ương", "central", ""), ("B", "Chi bộ B", "branch", "TW")])
        )
        app.import_members(numbered([member_row(f"M{i}", "B") for i in range(5)]))
        app.open_month("2026-12")
        reads = Reads(app)
        try:
            reads.models.rebuild()
            views: Any = reads.views
            if views.pg:
                (tuples,) = views.query(
                    "SELECT reltuples FROM pg_class WHERE oid = ?::regclass",
                    [f'"{views.schema}".rm_balance'],
                )[0]
                assert tuples >= 0  # -1: never analysed
            else:
                stats = views.query("SELECT tbl FROM sqlite_stat1 WHERE tbl = 'rm_balance'")
                assert stats
        finally:
            reads.close()


def test_a_model_whose_tables_an_older_release_made_is_built_again(
    db_url: str, frozen: Any
) -> None:
    """A release that adds a figure (a column) to a model finds the older tables in place:
    that model alone is dropped and built again from the log when the read models are
    opened, so its figures are complete; the other models keep their rows and position."""
    from api.bootstrap import build_ledger
    from api.settings import load_settings
    from tests.builders import member_row

    app = build_ledger(load_settings(db_url))
    try:
        app.import_orgs(
            org_rows([("TW", "Trung ương", "central", ""), ("B", "Chi bộ B", "branch", "TW")])
        )
        app.import_members(numbered([member_row(f"M{i}", "B") for i in range(6)]))
        app.open_month("2026-12")
        for i in range(3):
            app.pay(f"M{i}", 50_000, reference=f"R{i}")
        reads = Reads(app)
        expected = reads.balance("B", "2026-12")
        positions = reads.models.positions()
        views = reads.models.views  # the application's own datastore
        reads.close()
        at = f'"{views.schema}".' if views.pg else ""  # type: ignore[attr-defined]
        with views.datastore.transaction(commit=True) as c:  # type: ignore[attr-defined]
            # as the release before the due_to/due_from figures left it: no such columns
            for column in ("due_to", "due_from"):
                c.execute(f"ALTER TABLE {at}rm_balance DROP COLUMN {column}")
            # and a release before the bank lines kept their bank: a table without `bin`;
            # a model one of whose tables is missing (added since) is built again too
            c.execute(f"ALTER TABLE {at}rm_bank_lines DROP COLUMN bin")
            c.execute(f"DROP TABLE {at}rm_line_moves")
            # the tree model's row, changed by hand: kept, since its shape did not change
            c.execute(f"UPDATE {at}rm_org SET name = 'KEPT' WHERE code = 'B'")

        reads = Reads(app)
        try:
            assert reads.models.positions()["balances"] == 0  # dropped, to be built again
            assert reads.models.positions()["bank"] == 0
            assert reads.models.positions()["statements"] == 0  # its rm_line_moves was gone
            assert reads.models.positions()["tree"] == positions["tree"]
            assert reads.balance("B", "2026-12") == expected | {"name": "KEPT"}
            assert reads.models.positions() == positions
        finally:
            reads.close()
    finally:
        app.close()
