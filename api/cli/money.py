"""Money commands at the top level: `pay`, `remit`, `spend`, `balance`.

Rule: every money command is keyed by a reference; repeating one prints that
it was already recorded and changes nothing (exit 0).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console

from api.cli import inputs
from api.cli.context import ledger, out, reads
from api.cli.render import cell, dong, money_cell, print_json, say, table
from ledger.services.payments import PaymentResult, RemitResult
from projections.reads import OWN

CHANNELS = ("cash", "bank")
ChannelOpt = Annotated[str, typer.Option("--channel", help="cash | bank")]
OrgOpt = Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")]

BALANCE_LABELS = {
    "assessed": "Phải thu / Assessed",
    "collected": "Đã thu / Collected",
    "outstanding": "Còn nợ / Outstanding",
    "retained": "Trích giữ lại / Retained",
    "payable_to_parent": "Phải nộp cấp trên / Payable to parent",
    "remitted_to_parent": "Đã nộp cấp trên / Remitted to parent",
    "received_from_children": "Nhận từ cấp dưới / Received from children",
    "in_transit": "Đang chuyển / In transit",
    "suspense": "Chờ xác định / Suspense",
    "bank": "Tiền gửi ngân hàng (phát sinh) / Bank (movement)",
    "cash": "Tiền mặt (phát sinh) / Cash (movement)",
    "due_to": "Thu hộ chi bộ khác / Collected for other branches",
    "due_from": "Chi bộ khác thu hộ / Collected by other branches",
    "subtree_collected": "Toàn cây đã thu / Collected in subtree",
    "spent": "Đã chi / Spent",
    "retained_available": "Quỹ giữ lại còn / Retained available",
}
SHOWN = (
    *(k for k in OWN if k != "spent"),
    "subtree_collected",
    "spent",
    "retained_available",
)


def pay(
    ctx: typer.Context,
    member: Annotated[str, typer.Option("--member", help="Mã đảng viên / Member code.")],
    amount: Annotated[str, typer.Option("--amount", help="Số tiền (đ) / Amount in đồng.")],
    channel: ChannelOpt = "bank",
    reference: Annotated[
        str | None, typer.Option("--reference", help="Mã tham chiếu / Reference.")
    ] = None,
    months: Annotated[
        str | None, typer.Option("--months", help="Chỉ các tháng / Only months: YYYY-MM,...")
    ] = None,
) -> None:
    """Ghi nhận đảng viên nộp đảng phí / Record a member's payment."""
    value = inputs.amount(amount)
    inputs.choice(channel, CHANNELS, "channel")
    wanted = None if months is None else inputs.periods(months)
    r = ledger(ctx).pay(member, value, channel=channel, reference=reference, months=wanted)
    console = out(ctx)
    if r.duplicate:
        say(
            console,
            f"Khoản nộp {r.reference} đã được ghi nhận trước đó; không ghi thêm",
            f"Payment {r.reference} was already recorded; nothing changed",
        )
    else:
        say(
            console,
            f"Đã ghi nhận {r.reference}: {r.member_code} nộp {dong(r.amount)}",
            f"Recorded {r.reference}: {r.member_code} paid {dong(r.amount)}",
        )
    show_applied(console, r)


def show_applied(console: Console, r: PaymentResult) -> None:
    """Where a payment went: the months it paid, and what was kept as credit."""
    t = table(
        f"Phân bổ / Applied ({r.reference})",
        "Tháng / Month",
        "Chi bộ / Branch",
        "Số tiền / Amount",
        money=(2,),
    )
    for branch, month, take in r.applied:
        t.add_row(cell(month), cell(branch), money_cell(int(take)))
    if r.applied:  # all of it credit (paid ahead): no empty table
        console.print(t)
    if r.to_credit or not r.applied:
        say(
            console,
            f"Vào số dư trả trước: {dong(r.to_credit)}",
            f"Kept as credit: {dong(r.to_credit)}",
        )


def remit(
    ctx: typer.Context,
    org: OrgOpt,
    period: Annotated[str, typer.Option("--period", help="Tháng / Month (YYYY-MM).")],
    via: Annotated[
        str,
        typer.Option(
            "--via",
            help="portal (nhận ngay) | bank (chuyển khoản: chờ sao kê cấp trên) / "
            "portal (received at once) | bank (transfer: in transit until the parent's statement).",
        ),
    ] = "portal",
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Nộp phần phải nộp lên cấp trên / Remit the parent's share for a month."""
    month = inputs.period(period)
    r = ledger(ctx).remit(org, month, via=via)
    if not (r.amount or r.payable or r.remitted_before or r.in_transit):
        # nothing recorded: a month with no figures at all (never opened, a typo in the
        # year) is refused as `balance` refuses it, not told "nothing to remit"
        reads(ctx).balance(org, period=month)
    console = out(ctx)
    if as_json:
        print_json(
            {
                "org": org,
                "parent": r.parent_code,
                "period": month,
                "amount": r.amount,
                "payable": r.payable,
                "remitted_before": r.remitted_before,
                "via": "bank" if r.code else via,  # a transfer in transit is shown again
                "reference": r.code,
                "payload": r.payload,
                "in_transit": r.in_transit,
                "over_remitted": r.over_remitted,
                "offset": r.offset,
                "offsets": [{"period": m, "amount": a} for m, a in r.offsets],
            }
        )
        return
    _offset(console, org, r)
    if r.amount == 0 and r.code:
        say(
            console,
            f"{org} không còn gì phải nộp tháng {month}; khoản chuyển khoản {dong(r.in_transit)} "
            f"mã {r.code} vẫn đang chuyển (sao kê cấp trên chưa có mã). Mã và VietQR, nhắc lại:",
            f"Nothing more to remit for {org} in {month}; the transfer of {dong(r.in_transit)} "
            f"with code {r.code} is still in transit (not yet on the parent's statement). "
            "Its code and VietQR again:",
        )
        typer.echo(r.payload or "")
        _over_remitted(console, org, r)
        return
    if r.amount == 0:
        say(
            console,
            f"{org} không còn gì phải nộp tháng {month} (phải nộp {dong(r.payable)}, đã nộp {dong(r.remitted_before)})",
            f"Nothing to remit for {org} in {month} (payable {dong(r.payable)}, remitted {dong(r.remitted_before)})",
        )
        _over_remitted(console, org, r)
        return
    if r.code:
        say(
            console,
            f"{org} chuyển khoản {dong(r.amount)} cho {r.parent_code} (tháng {month}); ghi mã {r.code} "
            "vào nội dung chuyển khoản. Khoản này đang chuyển cho đến khi sao kê của cấp trên có mã.",
            f"{org} is sending {dong(r.amount)} to {r.parent_code} for {month} by bank transfer; put "
            f"{r.code} in the transfer memo. It is in transit until the parent's statement shows the code.",
        )
        typer.echo(r.payload or "")  # one line, to copy whole
        return
    say(
        console,
        f"{org} đã nộp {r.parent_code} {dong(r.amount)} cho tháng {month}",
        f"{org} remitted {dong(r.amount)} to {r.parent_code} for {month}",
    )


def _offset(console: Console, org: str, r: RemitResult) -> None:
    """What earlier months over-paid the parent, deducted from this month's remittance."""
    if not r.offset:
        return
    months = ", ".join(f"{m}: {dong(a)}" for m, a in r.offsets)
    say(
        console,
        f"{org} trừ {dong(r.offset)} đã nộp thừa cho {r.parent_code} ({months}) vào tháng "
        f"{r.period}: nộp {dong(r.amount)} thay vì {dong(r.amount + r.offset)}.",
        f"{org} deducted {dong(r.offset)} over-remitted to {r.parent_code} ({months}) from "
        f"{r.period}: sending {dong(r.amount)} instead of {dong(r.amount + r.offset)}.",
    )


def _over_remitted(console: Console, org: str, r: RemitResult) -> None:
    """The parent holds more than is now payable (a payment taken back after remitting)."""
    if not r.over_remitted:
        return
    say(
        console,
        f"Cảnh báo: đã nộp thừa {dong(r.over_remitted)}: một khoản thu của tháng bị hoàn hoặc "
        f"điều chỉnh sau khi nộp. {r.parent_code} giữ số tiền này của {org}; lần nộp tháng sau "
        f"cho {r.parent_code} sẽ tự trừ đi.",
        f"Warning: over-remitted by {dong(r.over_remitted)}: money of this month was taken back "
        f"or adjusted after the share was remitted. {r.parent_code} holds it for {org}; the next "
        f"later month remitted to {r.parent_code} deducts it.",
    )


def spend(
    ctx: typer.Context,
    org: OrgOpt,
    amount: Annotated[str, typer.Option("--amount", help="Số tiền (đ) / Amount in đồng.")],
    purpose: Annotated[str, typer.Option("--purpose", help="Nội dung chi / Purpose.")],
    reference: Annotated[str, typer.Option("--reference", help="Số chứng từ / Voucher ref.")],
    channel: ChannelOpt = "bank",
) -> None:
    """Chi từ quỹ trích giữ lại / Spend from the retained fund."""
    value = inputs.amount(amount)
    inputs.choice(channel, CHANNELS, "channel")
    if ledger(ctx).spend(org, value, purpose, reference, channel):
        say(
            out(ctx),
            f"{org} đã chi {dong(value)}: {purpose}",
            f"{org} spent {dong(value)}: {purpose}",
        )
    else:
        say(
            out(ctx),
            f"Chứng từ {reference} đã được ghi nhận trước đó; không ghi thêm",
            f"Voucher {reference} was already recorded; nothing changed",
        )


def balance(
    ctx: typer.Context,
    org: OrgOpt,
    period: Annotated[str | None, typer.Option("--period", help="Tháng / Month.")] = None,
    as_of: inputs.AsOfOpt = None,
    known_at: inputs.KnownAtOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON cho máy / Machine JSON.")] = False,
) -> None:
    """Số liệu thu, giữ lại, nộp của một tổ chức và cấp dưới / An organisation's figures and
    its subtree's, from the read models."""
    data = reads(ctx).balance(org, inputs.optional_period(period), as_of=as_of, known_at=known_at)
    if as_json:
        print_json(data)
    else:
        render_balance(out(ctx), data)


def render_balance(console: Console, b: dict[str, Any]) -> None:
    when = b["period"] or "mọi tháng / all months"
    if b.get("as_of"):
        when += f", hiệu lực đến / effective by {b['as_of']}"
    if b.get("known_at"):
        when += f", như đã ghi đến / as known at {b['known_at']} UTC"
    t = table(
        f"{b['org']} {b['name']} ({b['type']}) — {when}",
        "Mục / Item",
        "Số tiền / Amount",
        money=(1,),
    )
    for key in SHOWN:
        t.add_row(cell(BALANCE_LABELS[key]), money_cell(int(b[key])))
    rates = b["collection"]
    t.add_section()
    t.add_row(
        cell("Toàn cây: đảng viên đã nộp đủ / Subtree: members paid in full"),
        cell(f"{rates['members_paid']}/{rates['members_due']} ({rates['members_rate'] or '-'})"),
    )
    t.add_row(
        cell("Toàn cây: đã thu / phải thu / Subtree: collected / assessed"),
        cell(f"{rates['amount_rate'] or '-'}"),
    )
    console.print(t)


def register(app: typer.Typer) -> None:
    app.command("pay")(pay)
    app.command("remit")(remit)
    app.command("spend")(spend)
    app.command("balance")(balance)
