"""`Idempotency-Key` for writes: a retry gets the first response, never a second effect.

Rule: a POST carrying `Idempotency-Key` first reserves (caller's token subject, key)
with a fingerprint (SHA-256 of method, path and body) in a table beside the events
(same SQLite file or PostgreSQL schema, so it survives restarts). Then:

- the first request runs and its response (status, body, Location) is stored;
  a 5xx (or a crash) releases the key so the client may try again;
- a retry with the same fingerprint gets the stored response, marked
  `Idempotent-Replayed: true`;
- the same key with another fingerprint is 422 (field `Idempotency-Key`);
- a retry while the first is still running is 409.

Keys are kept indefinitely (there is no expiry yet).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from fastapi import Response

from api.http.problems import ledger_problem
from ledger.errors import Conflict, InvalidInput, LedgerError

HEADER = "Idempotency-Key"
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
TABLE = "api_idempotency"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (subject TEXT NOT NULL, key TEXT NOT NULL, "
    "fingerprint TEXT NOT NULL, owner TEXT NOT NULL, status INTEGER NOT NULL, "
    "media_type TEXT, body TEXT, location TEXT, created_at TEXT NOT NULL, "
    "PRIMARY KEY (subject, key))"
)


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    owner: str
    status: int  # 0 while the first request is still running
    media_type: str | None
    body: str | None
    location: str | None


def fingerprint(method: str, path: str, body: bytes) -> str:
    h = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


class IdempotencyStore:
    """The table of keys, on the ledger's own datastore (SQLite or PostgreSQL)."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self.pg = isinstance(datastore, PostgresDatastore)
        with self._cursor() as c:
            c.execute(CREATE)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self.datastore.transaction(commit=True) as c:
            if self.pg:
                c.execute(f'SET LOCAL search_path TO "{self.datastore.schema}"')
            yield c

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def _get(self, c: Any, subject: str, key: str) -> Stored | None:
        c.execute(
            self._sql(
                f"SELECT fingerprint, owner, status, media_type, body, location FROM {TABLE} "
                "WHERE subject = ? AND key = ?"
            ),
            [subject, key],
        )
        row = c.fetchone()
        if row is None:
            return None
        values = list(row.values()) if isinstance(row, dict) else list(row)
        return Stored(*values)

    def reserve(self, subject: str, key: str, print_: str) -> tuple[str, Stored | None]:
        """Reserve the key for this request: (owner, None); or (owner, the stored row)
        when another request holds it."""
        owner = secrets.token_hex(8)
        now = datetime.now(UTC).isoformat()
        with self._cursor() as c:
            c.execute(
                self._sql(
                    f"INSERT INTO {TABLE} (subject, key, fingerprint, owner, status, created_at) "
                    "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (subject, key) DO NOTHING"
                ),
                [subject, key, print_, owner, now],
            )
            stored = self._get(c, subject, key)
        if stored is None or stored.owner == owner:
            return owner, None
        return owner, stored

    def finish(self, subject: str, key: str, owner: str, response: Response) -> None:
        with self._cursor() as c:
            c.execute(
                self._sql(
                    f"UPDATE {TABLE} SET status = ?, media_type = ?, body = ?, location = ? "
                    "WHERE subject = ? AND key = ? AND owner = ?"
                ),
                [
                    response.status_code,
                    response.media_type,
                    bytes(response.body).decode("utf-8"),
                    response.headers.get("location"),
                    subject,
                    key,
                    owner,
                ],
            )

    def release(self, subject: str, key: str, owner: str) -> None:
        with self._cursor() as c:
            c.execute(
                self._sql(f"DELETE FROM {TABLE} WHERE subject = ? AND key = ? AND owner = ?"),
                [subject, key, owner],
            )


def replay(stored: Stored) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if stored.location:
        headers["Location"] = stored.location
    return Response(
        content=(stored.body or "").encode("utf-8"),
        status_code=stored.status,
        media_type=stored.media_type,
        headers=headers,
    )


def check_key(key: str) -> None:
    if not KEY.match(key):
        raise InvalidInput(
            "Idempotency-Key phải là 1–255 ký tự ASCII in được, không có dấu cách",
            "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
            field=HEADER,
        )


def run_once(
    store: IdempotencyStore,
    *,
    subject: str,
    key: str | None,
    method: str,
    path: str,
    body: bytes,
    call: Callable[[], Response],
) -> Response:
    """Run `call` (a write) at most once per (subject, key); refusals are answered (and
    stored) as problem+json like any other response."""

    def answer() -> Response:
        try:
            return call()
        except LedgerError as e:
            return ledger_problem(e, path)

    if key is None:
        return answer()
    check_key(key)
    print_ = fingerprint(method, path, body)
    owner, stored = store.reserve(subject, key, print_)
    if stored is not None:
        if stored.fingerprint != print_:
            raise InvalidInput(
                "Idempotency-Key này đã dùng cho một yêu cầu khác (khác đường dẫn hoặc nội dung)",
                "This Idempotency-Key was used for a different request (other path or body)",
                field=HEADER,
            )
        if stored.status == 0:
            raise Conflict(
                "Yêu cầu đầu tiên với Idempotency-Key này chưa xong; hãy thử lại sau",
                "The first request with this Idempotency-Key is still running; retry later",
                field=HEADER,
            )
        return replay(stored)
    try:
        response = answer()
    except BaseException:
        store.release(subject, key, owner)
        raise
    if response.status_code >= 500:
        store.release(subject, key, owner)
    else:
        store.finish(subject, key, owner, response)
    return response


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
