"""The composition root: build the ledger from settings, with the storage's bulk reader."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from eventsourcing.persistence import OperationalError

from api.settings import Settings, load_settings
from api.storage import binary_snapshot_inserts, bulk_reader_for
from ledger.app import DuesLedger
from ledger.clock import Clock
from ledger.identity import IdentityCipher
from payment_gateways.gateways.encoder import BankList, VietQREncoder


def build_ledger(settings: Settings | None = None, *, clock: Clock | None = None) -> DuesLedger:
    settings = settings or load_settings()
    cipher = IdentityCipher(settings.cipher_key) if settings.cipher_key else None
    with setting_up(settings):
        app = DuesLedger(env=settings.env, clock=clock, identity_cipher=cipher)
    snapshots = app.snapshots.recorder if app.snapshots else None
    binary_snapshot_inserts(snapshots)
    reader = bulk_reader_for(app.recorder, snapshots)
    if reader is not None:
        app.reader = reader
    app.qr_encoder = VietQREncoder()
    app.bank_directory = BankList()
    return app


@contextmanager
def setting_up(settings: Settings) -> Iterator[None]:
    """On PostgreSQL, one process at a time makes the schema's types and tables: workers
    starting at once on a fresh schema raced on the library's `CREATE TYPE` and snapshot
    table (a worker of `serve --workers 2` crashed). A session advisory lock, on a
    connection of its own, is held while the ledger is built; on a schema already set up
    that is a few milliseconds."""
    if settings.kind != "postgres":
        yield
        return
    env = settings.env
    schema = env.get("POSTGRES_SCHEMA", "").strip() or "public"
    key = f"dangphi-setup:{env['POSTGRES_DBNAME']}:{schema}"
    try:
        conn = psycopg.connect(
            host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"],
            dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"],
            password=env.get("POSTGRES_PASSWORD") or None,
            connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")),
            autocommit=True,
        )
    except psycopg.Error as e:  # reported as the library reports it: "cannot be opened"
        raise OperationalError(str(e)) from e
    with conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
