"""Settings: one database URL picks the storage; keys come from the environment or a key file.

    sqlite:///PATH                  embedded SQLite file (default: sqlite:///dangphi.sqlite3,
                                    relative to the working directory; sqlite:////abs/path)
    postgresql://USER[:PASS]@HOST[:PORT]/DB[?schema=NAME]

`--db URL` wins over `DANGPHI_DATABASE_URL`, which wins over the default.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from ledger.errors import InvalidInput
from ledger.identity import new_key

DEFAULT_URL = "sqlite:///dangphi.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str
    env: dict[str, str]
    kind: str  # "sqlite" | "postgres"
    cipher_key: str | None
    jwt_key: str | None = None  # DANGPHI_JWT_KEY; see `jwt_signing_key` for the SQLite file
    production: bool = False  # DANGPHI_ENV=production: no key files, keys must be configured


def resolve_url(cli_value: str | None) -> str:
    return cli_value or os.environ.get("DANGPHI_DATABASE_URL") or DEFAULT_URL


def storage_env(url: str) -> tuple[str, dict[str, str]]:
    """Translate a database URL into the eventsourcing environment."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not path:
            raise _bad_url(url)
        if path != ":memory:":
            Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        return "sqlite", {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "api.storage:DangphiSQLiteRecorder",
        }
    parsed = urlparse(url)
    if parsed.scheme in ("postgresql", "postgres") and parsed.path.strip("/"):
        query = parse_qs(parsed.query)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(parsed.path.strip("/")),
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or os.environ.get("USER", "postgres")),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_CONNECT_TIMEOUT": "5",
            # The library's insert path, unpipelined and binary (see api/storage.py).
            "APPLICATION_RECORDER_TOPIC": "api.storage:DangphiPostgresRecorder",
        }
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"][0]
        return "postgres", env
    raise _bad_url(url)


def _bad_url(url: str) -> InvalidInput:
    return InvalidInput(
        f"Địa chỉ cơ sở dữ liệu không hợp lệ: '{url}' (dùng sqlite:///ĐƯỜNG_DẪN hoặc postgresql://...)",
        f"Invalid database URL: '{url}' (use sqlite:///PATH or postgresql://...)",
        field="db",
    )


def cipher_key(kind: str, env: dict[str, str]) -> str | None:
    """DANGPHI_CIPHER_KEY, or for SQLite a key file beside the database, created once, owner-only."""
    configured = os.environ.get("DANGPHI_CIPHER_KEY")
    if configured or kind != "sqlite" or env["SQLITE_DBNAME"] == ":memory:":
        return _aes_key(configured, "DANGPHI_CIPHER_KEY")
    key_file = Path(env["SQLITE_DBNAME"] + ".key")
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            f.write(new_key())
    return _aes_key(key_file.read_text().strip(), str(key_file))


AES_KEY_BYTES = (16, 24, 32)


def _aes_key(key: str | None, where: str) -> str | None:
    """The key, if the cipher can use it: base64 of 16, 24 or 32 bytes, decoded as the
    cipher decodes it. Before, any other value stopped every command with the cipher
    library's traceback (a helper's CLI check)."""
    if key is None:
        return None
    try:
        size = len(base64.b64decode(key.encode("utf-8")))
    except (binascii.Error, ValueError):
        size = -1
    if size not in AES_KEY_BYTES:
        raise InvalidInput(
            f"Khoá mã hoá trong {where} không hợp lệ: cần khoá AES dạng base64 dài 16, 24 "
            "hoặc 32 byte",
            f"The cipher key in {where} is not valid: it must be a base64 AES key of 16, "
            "24 or 32 bytes",
            field="DANGPHI_CIPHER_KEY",
        )
    return key


def load_settings(cli_url: str | None = None) -> Settings:
    url = resolve_url(cli_url)
    kind, env = storage_env(url)
    return Settings(
        url,
        env,
        kind,
        cipher_key(kind, env),
        jwt_key=os.environ.get("DANGPHI_JWT_KEY") or None,
        production=os.environ.get("DANGPHI_ENV", "").strip().lower() == "production",
    )


JWT_KEY_MIN_BYTES = 32  # HS256: a key shorter than the hash is weaker than the signature


def jwt_signing_key(settings: Settings) -> str:
    """The key that signs API tokens: DANGPHI_JWT_KEY; for SQLite outside production, a key
    file `PATH.jwt-key` beside the database, created once, owner-only (so tokens issued by the
    CLI work with `serve`). Refused: production without the key, PostgreSQL without it, a
    configured key shorter than 32 bytes."""
    if settings.jwt_key is not None:
        if len(settings.jwt_key.encode("utf-8")) < JWT_KEY_MIN_BYTES:
            raise InvalidInput(
                f"DANGPHI_JWT_KEY quá ngắn: cần ít nhất {JWT_KEY_MIN_BYTES} byte",
                f"DANGPHI_JWT_KEY is too short: it needs at least {JWT_KEY_MIN_BYTES} bytes",
                field="DANGPHI_JWT_KEY",
            )
        return settings.jwt_key
    if settings.production:
        raise InvalidInput(
            "Chế độ production (DANGPHI_ENV=production) cần khoá ký DANGPHI_JWT_KEY; "
            "không khởi động khi thiếu khoá",
            "Production mode (DANGPHI_ENV=production) needs the signing key DANGPHI_JWT_KEY; "
            "refusing to start without it",
            field="DANGPHI_JWT_KEY",
        )
    if settings.kind != "sqlite" or settings.env["SQLITE_DBNAME"] == ":memory:":
        raise InvalidInput(
            "Cần đặt DANGPHI_JWT_KEY (khoá ký mã truy cập) khi dùng cơ sở dữ liệu này",
            "Set DANGPHI_JWT_KEY (the key that signs access tokens) for this database",
            field="DANGPHI_JWT_KEY",
        )
    key_file = Path(settings.env["SQLITE_DBNAME"] + ".jwt-key")
    if not key_file.exists():
        # Written whole under a private name, then linked into place: a process starting at
        # the same moment never reads a half-written key, and the first link wins.
        draft = key_file.with_name(f"{key_file.name}.{secrets.token_hex(8)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()
