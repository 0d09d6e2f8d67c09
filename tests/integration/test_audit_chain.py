"""An auditor's story, on SQLite and PostgreSQL: someone with database access edits the
event log behind the application's back, and `audit verify` names the first bad event.

Every tampering here is plain SQL on a separate connection, as an intruder would do
it; the history is a treasurer's real month (members, five months opened, a payment,
a closing), so there are register snapshots too.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, RecordConflictError, StoredEvent
from typer.testing import CliRunner

import api.audit
from api.audit import GENESIS, Report, Seal, canonical_id, chain_rows, make_seal, masked_url, verify
from api.bootstrap import build_ledger
from api.cli.main import app as cli
from api.settings import load_settings
from ledger.app import DuesLedger
from tests.builders import small_ledger, written
from tests.conftest import PG_CONNINFO


class RawStore:
    """Direct SQL on the ledger's database, bypassing the application."""

    def __init__(self, db_url: str, app: DuesLedger) -> None:
        assert app.snapshots is not None
        events = app.recorder.events_table_name  # type: ignore[attr-defined]
        self.tables = {
            "{events}": events,
            "{chain}": f"{events}_chain",
            "{snapshots}": app.snapshots.recorder.events_table_name,  # type: ignore[attr-defined]
        }
        self.pg = db_url.startswith("postgres")
        if self.pg:
            schema = parse_qs(urlparse(db_url).query)["schema"][0]
            self.conn: Any = psycopg.connect(PG_CONNINFO, autocommit=True)
            self.conn.execute(f'SET search_path TO "{schema}"')
            self.id = "notification_id"
        else:
            self.conn = sqlite3.connect(db_url[len("sqlite:///") :], isolation_level=None)
            self.id = "rowid"

    def q(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = sql.replace("{id}", self.id)
        for name, table in self.tables.items():
            sql = sql.replace(name, table)
        if self.pg:
            with self.conn.cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return list(cur.fetchall()) if cur.description else []
        return list(self.conn.execute(sql, params).fetchall())

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self.q(sql, params)[0][0]

    def event_id(self, topic_suffix: str) -> int:
        return int(
            self.one("SELECT MIN({id}) FROM {events} WHERE topic LIKE ?", (f"%{topic_suffix}",))
        )

    def event(self, nid: int) -> tuple[Any, ...]:
        return self.q(
            "SELECT originator_id, originator_version, topic, state FROM {events} WHERE {id} = ?",
            (nid,),
        )[0]

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def history(ledger: DuesLedger) -> DuesLedger:
    small_ledger(ledger)
    for month in ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10"):
        ledger.open_month(month)
    ledger.pay("M0", 70_000, reference="P1")
    ledger.close_month("2026-10", "HN-BD")
    return ledger


@pytest.fixture
def raw(db_url: str, history: DuesLedger) -> Iterator[RawStore]:
    store = RawStore(db_url, history)
    yield store
    store.close()


def first_bad(app: DuesLedger, *seals: Seal) -> tuple[str, int | None, str, int, str]:
    report = verify(app, seals)
    assert report.first is not None, report
    f = report.first
    return f.kind, f.notification_id, f.originator_id, f.originator_version, f.topic


def named(raw: RawStore, nid: int, kind: str) -> tuple[str, int, str, int, str]:
    oid, version, topic, _ = raw.event(nid)
    return kind, nid, canonical_id(oid), version, topic


class TestAnUntouchedLedger:
    def test_verifies_every_event_up_to_the_head_of_the_chain(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        report = verify(history)

        count = raw.one("SELECT COUNT(*) FROM {events}")
        head_id, head = raw.q("SELECT notification_id, hash FROM {chain} ORDER BY 1 DESC LIMIT 1")[
            0
        ]
        assert report.sound and report.problems == 0
        assert report.events == count == written(history) == head_id
        assert report.head_hash == bytes(head).hex()
        assert report.snapshots == raw.one("SELECT COUNT(*) FROM {snapshots}") >= 2

    def test_verifies_in_pages_smaller_than_the_log(
        self, history: DuesLedger, raw: RawStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        whole = verify(history)
        monkeypatch.setattr(api.audit, "PAGE", 3)

        paged = verify(history)

        assert paged.sound and (paged.events, paged.head_hash) == (whole.events, whole.head_hash)

    def test_the_chain_is_the_documented_sha256_chain(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        events = raw.q(
            "SELECT {id}, originator_id, originator_version, topic, state FROM {events} ORDER BY 1"
        )
        expected = chain_rows(
            GENESIS, [(n, canonical_id(o), v, t, bytes(s)) for n, o, v, t, s in events]
        )

        stored = raw.q("SELECT notification_id, hash FROM {chain} ORDER BY 1")
        assert [(r.notification_id, r.hash) for r in expected] == [(n, bytes(h)) for n, h in stored]


class TestTamperingIsNamed:
    def test_one_changed_byte_in_a_payment(self, history: DuesLedger, raw: RawStore) -> None:
        nid = raw.event_id("Payment.Received")
        state = bytearray(raw.event(nid)[3])
        state[state.index(b"70000")] = ord("9")  # 70,000 đ becomes 90,000 đ
        raw.q("UPDATE {events} SET state = ? WHERE {id} = ?", (bytes(state), nid))

        assert first_bad(history) == named(raw, nid, "changed")

    def test_an_edit_made_in_sql_text_functions(self, history: DuesLedger, raw: RawStore) -> None:
        nid = raw.event_id("Payment.Received")
        edit = (
            "convert_to(replace(convert_from(state, 'UTF8'), '70000', '90000'), 'UTF8')"
            if raw.pg
            else "replace(state, '70000', '90000')"  # SQLite stores the result as TEXT
        )
        raw.q(f"UPDATE {{events}} SET state = {edit} WHERE {{id}} = ?", (nid,))

        assert first_bad(history) == named(raw, nid, "changed")

    def test_the_same_bytes_stored_as_another_type(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        if raw.pg:
            pytest.skip("PostgreSQL columns have one type")
        nid = raw.event_id("Payment.Received")
        raw.q("UPDATE {events} SET state = CAST(state AS TEXT) WHERE {id} = ?", (nid,))

        assert first_bad(history) == named(raw, nid, "changed")

    def test_a_changed_topic(self, history: DuesLedger, raw: RawStore) -> None:
        nid = raw.event_id("Roll.Closed")
        raw.q("UPDATE {events} SET topic = topic || 'X' WHERE {id} = ?", (nid,))

        assert first_bad(history) == named(raw, nid, "changed")

    def test_a_deleted_event(self, history: DuesLedger, raw: RawStore) -> None:
        nid = raw.event_id("Payment.Received")
        expected = named(raw, nid, "deleted")
        raw.q("DELETE FROM {events} WHERE {id} = ?", (nid,))

        assert first_bad(history) == expected

    def test_the_deleted_last_event(self, history: DuesLedger, raw: RawStore) -> None:
        last = raw.one("SELECT MAX({id}) FROM {events}")
        expected = named(raw, last, "deleted")
        raw.q("DELETE FROM {events} WHERE {id} = ?", (last,))

        assert first_bad(history) == expected

    def test_an_event_deleted_with_its_chain_row_cuts_the_chain_at_the_next(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        nid = raw.event_id("Payment.Received")
        after = raw.one("SELECT MIN({id}) FROM {events} WHERE {id} > ?", (nid,))
        raw.q("DELETE FROM {events} WHERE {id} = ?", (nid,))
        raw.q("DELETE FROM {chain} WHERE notification_id = ?", (nid,))

        assert first_bad(history) == named(raw, after, "deleted")

    def test_a_forged_event(self, history: DuesLedger, raw: RawStore) -> None:
        oid, version, topic, state = raw.event(raw.event_id("Payment.Received"))
        raw.q(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
            (oid, version + 1, topic, state),
        )
        forged = raw.one("SELECT MAX({id}) FROM {events}")

        assert first_bad(history) == named(raw, forged, "inserted")
        assert forged == written(history)

    def test_two_events_swapped(self, history: DuesLedger, raw: RawStore) -> None:
        a = raw.event_id("Payment.Received")
        b = raw.one("SELECT MAX({id}) FROM {events}")
        raw.q("UPDATE {events} SET {id} = -1 WHERE {id} = ?", (a,))
        raw.q("UPDATE {events} SET {id} = ? WHERE {id} = ?", (a, b))
        raw.q("UPDATE {events} SET {id} = ? WHERE {id} = -1", (b,))

        report = verify(history)

        assert report.first is not None and report.problems == 2
        f = report.first
        assert (f.kind, f.notification_id, f.originator_id, f.originator_version, f.topic) == named(
            raw, a, "reordered"
        )
        assert f"position {b}" in f.en

    def test_an_altered_snapshot_which_the_ledger_would_load(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        oid, version, _, state = raw.q(
            "SELECT originator_id, originator_version, topic, state FROM {snapshots} ORDER BY 2 DESC, 1 LIMIT 1"
        )[0]
        snap = json.loads(bytes(state))
        member = next(iter(snap["state"]["members"]))
        snap["state"]["members"][member]["credit"] = 5_000_000
        raw.q(
            "UPDATE {snapshots} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (json.dumps(snap).encode(), oid, version),
        )

        report = verify(history)

        assert report.first is not None and report.first.kind == "snapshot"
        assert report.first.originator_id == canonical_id(oid)
        assert report.first.originator_version == version
        assert report.events == written(history)  # the events themselves are sound
        assert verify(history, snapshots=False).sound


class TestWhatIsNotTampering:
    def test_a_snapshot_stored_in_an_older_shape(self, history: DuesLedger, raw: RawStore) -> None:
        """A suspense queue's snapshot as stored before queues had a day (v1, no `day`, no
        `class_version`) is upcast to what its events replay to: not tampering."""
        from ledger.suspense import SuspenseQueue, queue_id

        queue = SuspenseQueue(org_code="HN-BD-01")
        for n in range(1, 100):  # Started + 99 items: version 100, snapshotted
            queue.add(f"tx-{n}", "in", 1_000 + n, "2026-12-15", "CHUYEN TIEN")
        history.save(queue)
        rows = raw.q("SELECT originator_id, originator_version, state FROM {snapshots}")
        wanted = canonical_id(queue_id("HN-BD-01"))
        [(oid, version, state)] = [r for r in rows if canonical_id(r[0]) == wanted]
        snap = json.loads(bytes(state))
        assert snap["state"].pop("class_version") == 2 and snap["state"].pop("day") is None
        raw.q(
            "UPDATE {snapshots} SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (json.dumps(snap).encode(), oid, version),
        )

        assert verify(history).sound
        assert history.suspense_items("HN-BD-01")[98]["id"] == "HN-BD-01/99"  # it still loads

    def test_gaps_in_notification_ids_left_by_rolled_back_writes(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        if not raw.pg:
            pytest.skip("SQLite rowids have no sequence to burn")
        raw.q(
            "SELECT nextval(pg_get_serial_sequence('{events}', 'notification_id')) FROM generate_series(1, 5)"
        )

        history.pay("M1", 70_000, reference="P2")

        ids = [r[0] for r in raw.q("SELECT {id} FROM {events} ORDER BY 1")]
        assert any(b - a > 1 for a, b in pairwise(ids))
        assert verify(history).sound

    def test_a_store_from_before_the_chain_is_reported_then_chained_by_the_next_write(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        count = written(history)
        raw.q("DELETE FROM {chain}")  # as a store written before the chain existed

        before = verify(history)
        history.pay("M1", 70_000, reference="P2")
        after = verify(history)

        assert (before.unchained, before.first, before.sound) == (count, None, False)
        assert after.sound and after.events == written(history) > count

    def test_the_id_of_a_deleted_last_event_is_never_handed_out_again(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        last = raw.one("SELECT MAX({id}) FROM {events}")
        expected = named(raw, last, "deleted")
        raw.q("DELETE FROM {events} WHERE {id} = ?", (last,))

        history.pay("M1", 70_000, reference="P2")

        assert raw.one("SELECT MIN({id}) FROM {events} WHERE {id} >= ?", (last,)) > last
        assert first_bad(history) == expected


class TestOneWrite:
    def test_gives_the_ids_it_wrote_and_a_taken_version_writes_nothing(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        """A write's events and chain rows go in together (PostgreSQL: by COPY, under ids
        taken from the sequence first), and a write holding one taken (id, version)
        leaves neither table changed."""
        oid, version, topic, state = raw.event(raw.event_id("Payment.Received"))
        fresh = [StoredEvent(uuid4(), 1, topic, bytes(state)) for _ in range(3)]
        ids = history.recorder.insert_events(fresh)
        assert ids is not None and len(ids) == 3 and list(ids) == sorted(ids)
        stored = {
            (canonical_id(o), v): n
            for n, o, v in raw.q("SELECT {id}, originator_id, originator_version FROM {events}")
        }
        assert [stored[(canonical_id(e.originator_id), 1)] for e in fresh] == list(ids)
        chained = [r[0] for r in raw.q("SELECT notification_id FROM {chain} ORDER BY 1")]
        assert chained[-3:] == list(ids)
        assert verify(history).sound

        events, links = written(history), raw.one("SELECT COUNT(*) FROM {chain}")
        taken = StoredEvent(UUID(canonical_id(oid)), version, topic, bytes(state))
        with pytest.raises(IntegrityError):
            history.recorder.insert_events([StoredEvent(uuid4(), 1, topic, bytes(state)), taken])
        assert (written(history), raw.one("SELECT COUNT(*) FROM {chain}")) == (events, links)
        history.pay("M1", 70_000, reference="P2")  # and the next write chains on
        assert verify(history).sound


class TestConcurrentWriters:
    def test_two_ledgers_writing_at_once_keep_one_unbroken_chain(
        self, db_url: str, history: DuesLedger
    ) -> None:
        before = written(history)
        apps = [build_ledger(load_settings(db_url)) for _ in range(2)]
        members = ["M0", "M3"]  # one in each branch: their payments touch different rolls

        def pay_five(i: int) -> int:
            done = 0
            for n in range(5):
                try:
                    apps[i].pay(members[i], 10_000, reference=f"T{i}-{n}")
                    done += 1
                except RecordConflictError:
                    pass
            return done

        try:
            with ThreadPoolExecutor(2) as pool:
                done = sum(pool.map(pay_five, range(2)))
        finally:
            for a in apps:
                a.close()

        report = verify(history)
        assert done >= 5 and report.sound
        assert report.events == written(history) > before


class TestSeals:
    def test_a_rewrite_with_a_recomputed_chain_passes_the_chain_but_not_the_seal(
        self, history: DuesLedger, raw: RawStore
    ) -> None:
        sealed = make_seal(verify(history), "test", history.clock)
        seal = Seal(sealed["notification_id"], sealed["hash"], sealed["events"], "s.json")
        assert verify(history, [seal]).seals == ["s.json"]
        # The intruder changes a payment and recomputes the whole chain with our own code.
        nid = raw.event_id("Payment.Received")
        state = raw.event(nid)[3]
        raw.q(
            "UPDATE {events} SET state = ? WHERE {id} = ?",
            (bytes(state).replace(b"70000", b"90000"), nid),
        )
        events = raw.q(
            "SELECT {id}, originator_id, originator_version, topic, state FROM {events} ORDER BY 1"
        )
        raw.q("DELETE FROM {chain}")
        for r in chain_rows(
            GENESIS, [(n, canonical_id(o), v, t, bytes(s)) for n, o, v, t, s in events]
        ):
            raw.q(
                "INSERT INTO {chain} VALUES (?, ?, ?, ?, ?, ?)",
                (
                    r.notification_id,
                    r.originator_id,
                    r.originator_version,
                    r.topic,
                    r.digest,
                    r.hash,
                ),
            )

        assert verify(history).sound
        kind, at, *_ = first_bad(history, seal)
        assert (kind, at) == ("seal", sealed["notification_id"])

    def test_a_seal_still_holds_after_later_writes(self, history: DuesLedger) -> None:
        report: Report = verify(history)
        seal = Seal(report.head_id, report.head_hash, report.events, "early")

        history.pay("M1", 70_000, reference="P2")

        later = verify(history, [seal])
        assert later.sound and later.seals == ["early"]
        assert later.events == written(history) > report.events


def test_the_command_line_exits_0_3_and_4(
    db_url: str, history: DuesLedger, raw: RawStore, tmp_path: Path
) -> None:
    runner = CliRunner()

    def audit(*args: str) -> Any:
        return runner.invoke(cli, ["--db", db_url, "audit", *args])

    sound = audit("verify")
    sealed = audit("seal", "-o", str(tmp_path / "seal.json"))
    seal = json.loads((tmp_path / "seal.json").read_text())
    nid = raw.event_id("Payment.Received")
    raw.q("UPDATE {events} SET topic = topic || 'X' WHERE {id} = ?", (nid,))
    tampered = audit("verify", "--seal", str(tmp_path / "seal.json"))
    refused_seal = audit("seal")
    raw.q("DELETE FROM {chain}")
    unchained = audit("verify", "--json")

    assert sound.exit_code == 0, sound.output
    assert f"OK: {written(history)} events, head hash {seal['hash']}" in sound.stdout
    assert sealed.exit_code == 0 and seal["events"] == written(history)
    assert seal["notification_id"] == written(history) and len(seal["hash"]) == 64
    assert seal["database"] == db_url  # no password in the test URLs to mask
    assert tampered.exit_code == 3, tampered.output
    assert tampered.stderr.startswith("Lỗi: SỔ BỊ SỬA NGOÀI ỨNG DỤNG [changed]")
    assert f"Error: LOG TAMPERED [changed]: event {nid} " in tampered.stderr
    assert refused_seal.exit_code == 3 and refused_seal.stdout == ""
    assert unchained.exit_code == 4
    assert json.loads(unchained.stdout)["unchained"] == written(history)


def test_a_seal_names_the_database_without_its_password() -> None:
    assert (
        masked_url("postgresql://dues:s3cret@db.example:5432/ledger?schema=hn")
        == "postgresql://dues:***@db.example:5432/ledger?schema=hn"
    )
    assert masked_url("sqlite:///ledger.sqlite3") == "sqlite:///ledger.sqlite3"
