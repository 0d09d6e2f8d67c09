"""`serve` (the HTTP API under uvicorn) and `token issue` (a bearer token for it).

Rule: both use the CLI's database (`--db`) and its signing key (DANGPHI_JWT_KEY, or
for SQLite a key file beside the database), so a token the CLI issues works with
`serve`. Production mode (DANGPHI_ENV=production) without DANGPHI_JWT_KEY refuses
both (exit 2, in Vietnamese and English). `token issue` checks the role, that the
scope organisation exists and, for role `member`, that the member exists, then
prints the token alone on its last line.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

import typer

from api.cli.context import ledger, reads, state
from api.settings import jwt_signing_key, load_settings
from ledger.clock import VIETNAM
from ledger.errors import InvalidInput

# The roles of api.http.auth, repeated so that every CLI start does not import FastAPI.
ROLES = ("member", "treasurer", "auditor", "inspector", "admin")
token_app = typer.Typer(help="Mã truy cập API / API access tokens.", no_args_is_help=True)


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe / bind address.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option("--port", help="Cổng / port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", help="Số tiến trình / worker processes (each its own app).", min=1, max=64
        ),
    ] = 1,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Ghi từng yêu cầu / log requests.")
    ] = True,
) -> None:
    """Chạy API HTTP / Run the HTTP API (uvicorn) on the CLI's database."""
    import uvicorn  # imported here: only `serve` needs the server

    from api.http.app import create_app

    settings = load_settings(state(ctx).db)
    jwt_signing_key(settings)  # refuse (exit 2) before any worker starts
    if workers == 1:
        app = create_app(settings)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
        return
    # Each worker process builds its own app from the environment (the same database).
    os.environ["DANGPHI_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "api.http.app:create_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


@token_app.command("issue")
def issue(
    ctx: typer.Context,
    role: Annotated[str, typer.Option("--role", help=" | ".join(ROLES))],
    scope: Annotated[str, typer.Option("--scope", help="Mã tổ chức / organisation code.")],
    member: Annotated[
        str | None, typer.Option("--member", help="Mã đảng viên (bắt buộc với role member).")
    ] = None,
    expires: Annotated[
        str, typer.Option("--expires", help="30d, 12h, 45m hoặc / or ISO 8601.")
    ] = "30d",
    subject: Annotated[
        str | None, typer.Option("--subject", help="Tên người dùng / who (default: role:code).")
    ] = None,
) -> None:
    """Cấp mã truy cập / Issue a bearer token (printed alone on the last line)."""
    from api.http.auth import expiry, issue_token, member_branch, member_not_found, org_not_found

    if role not in ROLES:
        raise InvalidInput(
            f"Vai trò '{role}' không hợp lệ (có: {', '.join(ROLES)})",
            f"Unknown role '{role}' (known: {', '.join(ROLES)})",
            field="role",
        )
    if role == "member" and not member:
        raise InvalidInput(
            "Vai trò member cần --member MÃ", "Role member needs --member CODE", field="member"
        )
    now = datetime.now(VIETNAM)
    until = expiry(expires, now)
    key = jwt_signing_key(load_settings(state(ctx).db))
    rd = reads(ctx)
    rd.catch_up()
    if rd.tree.org(scope) is None:
        raise org_not_found(scope)
    if member is not None and member_branch(rd, member, ledger(ctx).current_period()) is None:
        raise member_not_found(member)
    token = issue_token(
        key,
        role=role,
        scope=scope,
        member=member,
        subject=subject,
        expires_at=until,
        now=now,
    )
    typer.echo(
        f"Mã truy cập / Token: {role} {member or ''} @ {scope}, "
        f"hết hạn / expires {until.isoformat(timespec='seconds')}".replace("  ", " ")
    )
    typer.echo(token)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(token_app, name="token")
