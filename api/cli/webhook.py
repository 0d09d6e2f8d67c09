"""`webhook replay`: feed a saved gateway notification through the same path as the HTTP endpoint.

Rule: the notification is authenticated exactly as the gateway documents
(SePay API key and Casso token in headers, payOS HMAC in the body, the
portal's HMAC header), secrets from the environment (`DANGPHI_SEPAY_API_KEY`,
`DANGPHI_CASSO_SECURE_TOKEN`, `DANGPHI_PAYOS_CHECKSUM_KEY`,
`DANGPHI_PORTAL_SECRET`); each transaction is recorded once, however often it
is replayed, and settles the payment request whose code it carries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.context import ledger, out
from api.cli.render import dong, print_json, say
from ledger.errors import InvalidInput
from payment_gateways.gateways.registry import gateway_for

webhook_app = typer.Typer(
    help="Thông báo từ cổng thanh toán / Gateway notifications.", no_args_is_help=True
)


def _headers(values: list[str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise InvalidInput(
                f"Header '{value}' phải có dạng 'Tên: giá trị'",
                f"Header '{value}' must look like 'Name: value'",
                field="header",
            )
        headers[name.strip()] = content.strip()
    return headers


@webhook_app.command("replay")
def replay(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="Tệp JSON thân thông báo / the notification body.")],
    gateway: Annotated[str, typer.Option("--gateway", help="sepay | casso | payos | portal")],
    header: Annotated[
        list[str] | None,
        typer.Option("--header", help="'Name: value' (repeatable), e.g. the API key."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Ghi nhận thông báo đã lưu / Record a saved notification (the HTTP webhook's path)."""
    try:
        body = file.read_bytes()
    except OSError as e:
        raise InvalidInput(
            f"Không đọc được {file}: {e.strerror}",
            f"Cannot read {file}: {e.strerror}",
            field="file",
        ) from None
    adapter = gateway_for(gateway, os.environ)
    facts = adapter.parse_notification(body, _headers(header or []))
    app = ledger(ctx)
    rows: list[dict[str, Any]] = []
    for fact, (tx, created) in zip(facts, app.record_bank_transactions(facts), strict=True):
        excess = int((tx.matched or {}).get("held") or 0)  # a matched line's, held apart
        # waiting for the treasurer: not once the item is resolved
        held = (tx.suspense is not None or excess > 0) and app.still_held(tx)
        rows.append(
            {
                "external_id": fact.external_id,
                "direction": tx.direction,
                "amount": tx.amount,  # as recorded
                "recorded": created,
                "matched": tx.matched,
                # money waiting for the treasurer: the line itself, or a batch's excess
                "held": 0
                if not held
                else excess
                if tx.suspense is None
                else 0
                if tx.suspense.get("flagged")
                else tx.amount,
                "flagged": bool(held and tx.suspense and tx.suspense.get("flagged")),
                # in no organisation's books: its account is not registered (at its bank)
                "booked": tx.matched is not None or tx.suspense is not None,
            }
        )
    if as_json:
        print_json(rows)
        return
    console = out(ctx)
    if not rows:
        say(console, "Thông báo không có giao dịch nào", "The notification carries no transaction")
    for r in rows:
        state = (
            "mới ghi / recorded" if r["recorded"] else "đã có, không ghi thêm / already recorded"
        )
        target = f" → {r['matched']['target']}" if r["matched"] else ""
        if r["held"]:
            target += f"; tạm giữ / in suspense {dong(r['held'])}"
        if r["flagged"]:
            target += "; chi chưa rõ / unexplained outgoing"
        if not r["booked"]:
            target += (
                "; chưa vào sổ: tài khoản chưa đăng ký, sẽ ghi khi đăng ký"
                " / not booked: the account is not registered; booked when it is"
            )
        console.print(f"{r['external_id']} {r['direction']} {dong(r['amount'])}: {state}{target}")


def register(app: typer.Typer) -> None:
    app.add_typer(webhook_app, name="webhook")
