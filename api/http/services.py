"""What one API app holds: the ledger, its read models, the lock, the keys.

Rule: one DuesLedger (`api.bootstrap.build_ledger`) and one `Reads` per app. The
ledger is not thread-safe and FastAPI runs plain handlers in a thread pool, so
every ledger command and every read-model catch-up holds one lock (`Services.lock`);
queries on the read-model tables run side by side.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from api.bootstrap import build_ledger
from api.http.idempotency import IdempotencyStore
from api.settings import Settings, jwt_signing_key
from ledger.app import DuesLedger
from ledger.clock import Clock
from projections.base import ReadModels
from projections.reads import Reads


class LockedReads(Reads):
    """The read models, caught up under the app's lock (one catch-up at a time, never
    during a ledger write); the queries themselves run without it."""

    def __init__(self, app: DuesLedger, lock: threading.RLock) -> None:
        self._lock = lock
        with lock:
            super().__init__(app)

    def catch_up(self, models: ReadModels | None = None) -> int:
        # Nothing new in the log (the usual case): no need to wait for the lock.
        chosen = models or self.models
        if chosen.log_top() == chosen.seen:
            return 0
        with self._lock:
            return super().catch_up(chosen)


@dataclass
class Services:
    ledger: DuesLedger
    reads: Reads
    lock: threading.RLock
    jwt_key: str
    idempotency: IdempotencyStore
    gateway_settings: Mapping[str, str] = field(default_factory=dict)
    closed: bool = False

    def period(self) -> str:
        return self.ledger.current_period()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.reads.close()
        self.ledger.close()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    gateway_settings: Mapping[str, str] | None = None,
) -> Services:
    key = jwt_signing_key(settings)  # refuses before the database is opened
    ledger = build_ledger(settings, clock=clock)
    try:
        lock = threading.RLock()
        reads = LockedReads(ledger, lock)
        store = IdempotencyStore(ledger.recorder.datastore)  # type: ignore[attr-defined]
    except BaseException:
        ledger.close()
        raise
    env = gateway_settings if gateway_settings is not None else os.environ
    return Services(ledger, reads, lock, key, store, env)
