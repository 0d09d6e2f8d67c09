"""`suspense list` and `suspense resolve`: the treasurer's queue of unexplained money.

Rule: nothing leaves suspense without a resolution recorded as an event: to a
member's dues, a refund to make, or not dues with a reason.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import dong, print_json, say, table

suspense_app = typer.Typer(help="Khoản tạm giữ / Suspense queue.", no_args_is_help=True)


@suspense_app.command("list")
def list_items(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức.")],
    everything: Annotated[bool, typer.Option("--all", help="Cả khoản đã xử lý.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Khoản tiền chưa rõ nguồn / Money waiting for a treasurer's decision."""
    items = ledger(ctx).suspense_items(org, include_resolved=everything)
    if as_json:
        print_json(items)
        return
    console = out(ctx)
    if not items:
        say(console, f"{org}: không có khoản nào chờ xử lý", f"{org}: nothing in suspense")
        return
    # Within 80 columns: ids and dates whole, amounts signed (money out is negative), the
    # codes a treasurer copies listed below the table, where nothing folds them.
    rows, codes = _rows(items)
    fixed = max(len(r[0]) for r in rows) + 10 + max(len(r[2]) for r in rows) + TABLE_FRAME
    if console.width - fixed < NARRATIVE_ROOM:
        # a long organisation code leaves a table no room for the narrative: one block each
        console.print(f"Tạm giữ / Suspense — {org}")
        for item_id, day, amount, narrative, resolution in rows:
            console.print(Text(f"{item_id}  {day}  {amount}"), soft_wrap=True)
            for text in (narrative, resolution):
                if text:
                    console.print(Text(f"    {text}"))
    else:
        t = table(
            f"Tạm giữ / Suspense — {org}",
            "ID",
            "Ngày / Date",
            "Số tiền / Amount",
            "Diễn giải / Narrative",
            "Xử lý / Resolution",
            money=(2,),
            ids=(0, 1),
        )
        for row in rows:
            t.add_row(*row)
        console.print(t)
    for item_id, code in codes:
        say(
            console,
            f"{item_id}: hoàn trả, ghi mã {code} vào nội dung chuyển khoản",
            f"{item_id}: refund, put {code} in the transfer's memo",
        )


# The table's borders and padding (five columns), and the least room left for the narrative
# and resolution columns: with less (a long organisation code in every id, a narrow
# terminal) the items are listed one block each instead.
TABLE_FRAME = 16
NARRATIVE_ROOM = 24


def _rows(
    items: list[dict[str, Any]],
) -> tuple[list[tuple[str, str, str, str, str]], list[tuple[str, str]]]:
    """Each item's (id, date, signed amount, narrative, resolution or proposal), and the
    refund codes to list below."""
    rows: list[tuple[str, str, str, str, str]] = []
    codes: list[tuple[str, str]] = []
    for i in items:
        resolution = " / ".join(_resolution(i["resolution"], code=False)) if i["resolution"] else ""
        proposal = i.get("proposal")
        stale = i.get("stale_proposal")
        if proposal and not resolution:
            months = ",".join(proposal["months"])
            resolution = f"đề xuất / proposed: {proposal['member']} {months}"
        elif stale and not resolution:
            resolution = stale_note(stale)
        if i.get("refund_paid"):
            resolution += " — đã chi / paid out"
        elif i.get("reversed_by"):
            resolution += " — ngân hàng đã hoàn lại / reversed by the bank"
        elif i["resolution"] and i["resolution"]["how"] == "refund":
            # (a spending's resolution carries its voucher as `reference`: no memo code)
            codes.append((i["id"], i["resolution"].get("reference", "")))
        signed = i["amount"] if i["direction"] == "in" else -i["amount"]
        rows.append((i["id"], i["value_date"][:10], dong(signed), _narrative(i), resolution))
    return rows, codes


def stale_note(stale: dict[str, Any]) -> str:
    """An item whose proposal the member no longer owes (paid another way since): what it
    proposed, and that `confirm` will not take it."""
    return (
        f"đề xuất đã cũ / proposal out of date: {stale['member']} {','.join(stale['not_owed'])}"
        " (không còn nợ / no longer owed)"
    )


WHY = {
    "excess": ("thừa", "excess"),
    "refused": ("không ghi được", "refused"),
    "already received": ("đã nhận rồi", "already received"),
}


def _narrative(item: dict[str, Any]) -> str:
    """The bank's narrative, after why a matched line's money is here (a batch's excess)."""
    request = item.get("request")
    if not request:
        return str(item["narrative"])
    vi, en = WHY.get(str(item.get("why")), (str(item.get("why") or ""), ""))
    why = f"{vi} / {en}" if en else vi
    return f"({why}: {request}) {item['narrative']}"


@suspense_app.command("confirm")
def confirm(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="ID, e.g. HN-BD-01/20261203-1")],
) -> None:
    """Xác nhận đề xuất khớp / Confirm the ledger's proposed match for an item."""
    result = ledger(ctx).confirm_proposal(item_id)
    say(
        out(ctx),
        f"Đã xác nhận {item_id}: ghi cho {result['member']}",
        f"Confirmed {item_id}: paid for {result['member']}",
    )


@suspense_app.command("resolve")
def resolve(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="ID, e.g. HN-BD-01/20261203-1")],
    member: Annotated[str | None, typer.Option("--member", help="Ghi cho đảng viên.")] = None,
    months: Annotated[
        str | None, typer.Option("--months", help="YYYY-MM,... (mặc định: tháng nợ cũ nhất).")
    ] = None,
    split: Annotated[
        list[str] | None,
        typer.Option(
            "--split",
            help="Chia cho nhiều đảng viên: MÃ=SỐ_TIỀN, lặp lại; cộng lại bằng khoản tạm giữ / "
            "Share among members: CODE=AMOUNT, repeated; adding up to the item.",
        ),
    ] = None,
    refund: Annotated[bool, typer.Option("--refund", help="Hoàn trả người chuyển.")] = False,
    not_dues: Annotated[
        str | None, typer.Option("--not-dues", help="Không phải đảng phí: lý do.")
    ] = None,
    spending: Annotated[
        str | None,
        typer.Option(
            "--spending",
            help="Khoản chi đã ghi sổ (số chứng từ) / Recorded bank spending (its voucher).",
        ),
    ] = None,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            help="Dòng ngân hàng của khoản nộp tiền mặt, chuyển nộp cấp trên hay hoàn trả mang "
            "mã này (in thiếu mã) / The bank line of the cash deposit, remittance or refund "
            "with this code (printed without it).",
        ),
    ] = None,
) -> None:
    """Xử lý khoản tạm giữ / Resolve a suspense item."""
    wanted = inputs.periods(months) if months is not None else None
    result = ledger(ctx).resolve_suspense(
        item_id,
        member=member,
        months=wanted,
        refund=refund,
        not_dues=not_dues,
        split=inputs.shares(split) if split else None,
        spending=spending,
        code=code,
    )
    if result["how"] == "members":
        given = ", ".join(f"{p['member']} {dong(p['amount'])}" for p in result["payments"])
        say(out(ctx), f"Đã chia {item_id}: {given}", f"Split {item_id}: {given}")
    else:
        vi, en = _resolution(result)
        say(out(ctx), f"Đã xử lý {item_id}: {vi}", f"Resolved {item_id}: {en}")
    if result["how"] == "refund" and result.get("reference"):
        say(
            out(ctx),
            f"Ghi mã {result['reference']} vào nội dung chuyển khoản hoàn trả",
            f"Put {result['reference']} in the refund transfer's memo",
        )


# a line printed without its code, taken as that transfer's (`resolve --code`)
CODED = {
    "deposit": ("nộp tiền mặt", "the cash deposit"),
    "remittance": ("chuyển nộp cấp trên", "the remittance"),
    "refund_paid": ("đã hoàn trả", "the refund paid out"),
}


def _resolution(r: dict[str, Any], *, code: bool = True) -> tuple[str, str]:
    """What was decided, naming whom or why (not only how): Vietnamese, English. `code`:
    with a refund's code (a table lists codes apart, where they are never folded)."""
    how = r["how"]
    if how == "member":
        return f"ghi cho {r.get('member', '')}", f"paid for {r.get('member', '')}"
    if how == "members":
        shares = ", ".join(f"{p['member']} {dong(p['amount'])}" for p in r.get("payments", []))
        return f"chia: {shares}", f"split: {shares}"
    if how == "not_dues":
        reason = r.get("reason", "")
        return f"không phải đảng phí ({reason})", f"not dues ({reason})"
    if how == "refund":
        if not code:
            return "hoàn trả", "refund"
        return f"hoàn trả, mã {r.get('reference', '')}", f"refund, code {r.get('reference', '')}"
    if how == "payment":
        ref = r.get("reference", "")
        return f"khoản nộp đã ghi {ref}", f"the payment recorded as {ref}"
    if how == "spending":
        ref = r.get("reference", "")
        return f"khoản chi theo chứng từ {ref}", f"spending, voucher {ref}"
    if how in CODED:
        ref = r.get("reference", "")
        return f"{CODED[how][0]}, mã {ref}", f"{CODED[how][1]}, code {ref}"
    if how == "reversed":
        return "ngân hàng đã hoàn lại", "reversed by the bank"
    if how == "reversal":  # an outgoing line that takes back a line recorded after it
        return "ngân hàng hoàn lại khoản đến ghi sau", "the bank taking back a later-recorded line"
    return str(how), str(how)


def register(app: typer.Typer) -> None:
    app.add_typer(suspense_app, name="suspense")
