"""VietQR and payment-request commands: `vietqr encode|decode|png`, `pay-request`,
`batch create`, `request status|cancel`.

Rule: an invalid payload or value exits 2 with the codec's reason in Vietnamese
and English; a request's amount always comes from the ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import dong, print_json, say, table
from ledger.errors import InvalidInput
from payment_gateways.vietqr import Initiation, Service, VietQRError, decode, encode, png, svg

vietqr_app = typer.Typer(help="Mã VietQR / VietQR payloads.", no_args_is_help=True)
batch_app = typer.Typer(help="Nộp hộ / Pay-on-behalf batches.", no_args_is_help=True)
request_app = typer.Typer(help="Yêu cầu thanh toán / Payment requests.", no_args_is_help=True)


def _codec(error: VietQRError) -> InvalidInput:
    return InvalidInput(error.message_vi, error.message_en, field=error.tag)


@vietqr_app.command("encode")
def vietqr_encode(
    bin_code: Annotated[str, typer.Option("--bin", help="BIN ngân hàng (6 số).")],
    account: Annotated[str, typer.Option("--account", help="Số tài khoản / số thẻ.")],
    card: Annotated[bool, typer.Option("--card", help="Chuyển đến số thẻ (QRIBFTTC).")] = False,
    amount: Annotated[str | None, typer.Option("--amount", help="Số tiền (đ).")] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose", help="Nội dung (≤ 25 ký tự ASCII).")
    ] = None,
    static: Annotated[bool, typer.Option("--static", help="Mã tĩnh (không kèm số tiền).")] = False,
) -> None:
    """Tạo chuỗi VietQR / Build a VietQR payload."""
    value = inputs.amount(amount) if amount is not None else None
    if static and value is not None:
        raise InvalidInput(
            "Mã tĩnh không kèm số tiền", "A static QR carries no amount", field="amount"
        )
    try:
        payload = encode(
            bin_code,
            account,
            service=Service.TO_CARD if card else Service.TO_ACCOUNT,
            amount=value,
            purpose=purpose,
            poi=Initiation.STATIC if static or value is None else Initiation.DYNAMIC,
        )
    except VietQRError as e:
        raise _codec(e) from None
    typer.echo(payload)


def decoded_fields(payload: str) -> dict[str, Any]:
    try:
        qr = decode(payload)
    except VietQRError as e:
        raise _codec(e) from None
    return {
        "bin": qr.bin,
        "account": qr.account,
        "service": str(qr.service),
        "poi": "static" if qr.poi == Initiation.STATIC else "dynamic",
        "amount": qr.amount,
        "purpose": qr.purpose,
        "crc": qr.crc,
    }


@vietqr_app.command("decode")
def vietqr_decode(
    ctx: typer.Context,
    payload: Annotated[str, typer.Argument(help="Chuỗi VietQR.")],
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Đọc chuỗi VietQR / Decode a VietQR payload (exit 2 if invalid)."""
    fields = decoded_fields(payload)
    if as_json:
        print_json(fields)
        return
    t = table("VietQR", "Trường / Field", "Giá trị / Value")
    for k, v in fields.items():
        t.add_row(k, "" if v is None else str(v))
    out(ctx).print(t)


@vietqr_app.command("png")
def vietqr_png(
    payload: Annotated[str, typer.Argument(help="Chuỗi VietQR.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tệp PNG.")],
) -> None:
    """Vẽ mã QR ra PNG / Draw the payload as a PNG."""
    decoded_fields(payload)  # refuse an invalid payload before drawing it
    _write(output, png(payload))
    typer.echo(str(output))


def _write(path: Path, data: bytes | str) -> None:
    try:
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    except OSError as e:
        raise InvalidInput(
            f"Không ghi được tệp {path}: {e.strerror}",
            f"Cannot write {path}: {e.strerror}",
            field="output",
        ) from None


def _show_request(
    ctx: typer.Context,
    status: dict[str, Any],
    png_path: Path | None,
    svg_path: Path | None,
    as_json: bool,
) -> None:
    if png_path is not None:
        _write(png_path, png(status["payload"]))
    if svg_path is not None:
        _write(svg_path, svg(status["payload"]))
    if as_json:
        print_json(status)
        return
    console = out(ctx)
    t = table(f"Yêu cầu thanh toán / Payment request {status['reference']}", "", "")
    target = status["target"]
    rows = [
        ("Mã tham chiếu / Reference", status["reference"]),
        ("Số tiền / Amount", dong(status["total"])),
        ("Nội dung gợi ý / Hint", status["hint"]),
        (
            "Tài khoản nhận / To account",
            f"{target['bin']} {target['account_number']} {target['holder_name']} ({target['holder_kind']})",
        ),
        ("Trạng thái / Status", _status_text(status)),
    ]
    if status["received"]:
        rows.append(("Đã nhận / Received", dong(status["received"])))
    if status["held"]:
        rows.append(("Phần đưa vào tạm giữ / Put in suspense", dong(status["held"])))
    rows += [
        ("Hết hạn / Expires", status["expires_at"]),
    ]
    if status["override_reason"]:
        rows.insert(4, ("Ngoại lệ tài khoản / Account override", status["override_reason"]))
    for label, value in rows:
        t.add_row(label, str(value))
    console.print(t)
    for (member, periods, amount), left in zip(status["items"], status["remaining"], strict=True):
        owed = f" (còn thiếu / still owed {dong(left)})" if status["received"] and left else ""
        console.print(f"  {member}: {', '.join(periods)} — {dong(amount)}{owed}")
    if status.get("months_not_opened"):
        months = ", ".join(status["months_not_opened"])
        say(
            console,
            f"Lưu ý: chi bộ chưa mở sổ tháng {months}; số tiền chưa gồm (các) tháng này, "
            "sẽ phải nộp khi chi bộ mở sổ",
            f"Note: the branch has not opened {months} yet; the amount leaves them out, "
            "they are owed once the branch opens them",
        )
    # on one line of its own, never cut or folded: a treasurer copies it whole
    console.print(Text(f"VietQR: {status['payload']}"), soft_wrap=True)
    if png_path is not None:
        say(console, f"Đã ghi mã QR vào {png_path}", f"QR image written to {png_path}")


def _status_text(status: dict[str, Any]) -> str:
    """The status, and when a partly paid request asks nothing more (its members paid
    their months otherwise), that said too."""
    text = str(status["status"])
    if text == "partly_paid" and status["kind"] != "member" and not any(status["remaining"]):
        text += " (không còn phải nộp theo yêu cầu này / nothing more owed under it)"
    return text


PngOpt = Annotated[Path | None, typer.Option("--png", help="Ghi ảnh QR ra tệp PNG.")]
SvgOpt = Annotated[Path | None, typer.Option("--svg", help="Ghi ảnh QR ra tệp SVG.")]
AccountOpt = Annotated[
    str | None,
    typer.Option("--account", help="Số tài khoản nhận (mặc định: tài khoản mang tên tổ chức)."),
]
OverrideOpt = Annotated[
    str | None,
    typer.Option("--override-reason", help="Lý do dùng tài khoản cá nhân/kho bạc (được ghi lại)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="In JSON.")]


def pay_request(
    ctx: typer.Context,
    member: Annotated[str, typer.Option("--member", help="Mã đảng viên.")],
    months: Annotated[
        str, typer.Option("--months", help="Nộp trước N tháng / pay N months ahead.")
    ] = "0",
    png_path: PngOpt = None,
    svg_path: SvgOpt = None,
    account: AccountOpt = None,
    override_reason: OverrideOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Tạo yêu cầu nộp đảng phí bằng VietQR / Create a member's VietQR payment request."""
    ahead = inputs.whole_number(months, "months")
    app = ledger(ctx)
    request = app.member_request(
        member, months_ahead=ahead, account=account, override_reason=override_reason
    )
    gaps = app.months_not_opened(member)
    status = app.request_status(request.code)
    _show_request(ctx, status | {"months_not_opened": gaps}, png_path, svg_path, as_json)


@batch_app.command("create")
def batch_create(
    ctx: typer.Context,
    payer: Annotated[str, typer.Option("--payer", help="Người/đơn vị nộp hộ.")],
    members: Annotated[str, typer.Option("--members", help="CODE,CODE,...")],
    period: Annotated[
        str | None, typer.Option("--period", help="YYYY-MM (mặc định: tháng này).")
    ] = None,
    payer_account: Annotated[
        str | None, typer.Option("--payer-account", help="Tài khoản người nộp.")
    ] = None,
    payroll: Annotated[bool, typer.Option("--payroll", help="Thu qua bảng lương cơ quan.")] = False,
    png_path: PngOpt = None,
    svg_path: SvgOpt = None,
    account: AccountOpt = None,
    override_reason: OverrideOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Một mã QR cho nhiều đảng viên / One QR for several members (pay-on-behalf, payroll)."""
    wanted = inputs.optional_period(period)
    app = ledger(ctx)
    request = app.batch_request(
        payer,
        members.split(","),
        period=wanted,
        payer_account=payer_account,
        kind="payroll" if payroll else "batch",
        account=account,
        override_reason=override_reason,
    )
    _show_request(ctx, app.request_status(request.code), png_path, svg_path, as_json)


@request_app.command("status")
def request_status(ctx: typer.Context, reference: str, as_json: JsonOpt = False) -> None:
    """Trạng thái yêu cầu / A request's status: open, paid, partly_paid, expired, cancelled."""
    _show_request(ctx, ledger(ctx).request_status(reference), None, None, as_json)


@request_app.command("cancel")
def request_cancel(
    ctx: typer.Context,
    reference: str,
    reason: Annotated[str, typer.Option("--reason", help="Lý do huỷ.")],
) -> None:
    """Huỷ yêu cầu / Cancel a request (money that still arrives is recorded)."""
    app = ledger(ctx)
    app.cancel_request(reference, inputs.text(reason, "reason"))
    say(out(ctx), f"Đã huỷ yêu cầu {reference}", f"Request {reference} cancelled")


def register(app: typer.Typer) -> None:
    app.add_typer(vietqr_app, name="vietqr")
    app.add_typer(batch_app, name="batch")
    app.add_typer(request_app, name="request")
    app.command("pay-request")(pay_request)
