"""`dangphi member …`: import members, their statement and record, and changes to their facts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from api.cli import inputs
from api.cli.context import ledger, out, reads
from api.cli.render import cell, dong, money_cell, print_json, say, table
from api.member_ops import EXEMPT_PERCENTS, MEMBER_COLUMNS, MEMBER_OPTIONAL
from ledger.member import mask_national_id

app = typer.Typer(help="Đảng viên / Members.", no_args_is_help=True)

FromOpt = Annotated[str, typer.Option("--from", help="Từ tháng / From month (YYYY-MM).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON cho máy / Machine JSON.")]


@app.command("import")
def import_members(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: code,full_name,branch_code,category,monthly_base,region,"
            "party_joined_on[,national_id]"
        ),
    ],
) -> None:
    """Nhập đảng viên từ CSV / Import members from CSV."""
    rows = inputs.read_csv(file, MEMBER_COLUMNS, MEMBER_OPTIONAL)
    result = ledger(ctx).import_members(rows)
    say(
        out(ctx),
        f"Đã nhập {result.created} đảng viên, {result.unchanged} không đổi",
        f"Imported {result.created} members, {result.unchanged} unchanged",
    )
    if result.assessed_late:  # months the branch had opened before they were enrolled
        months = ", ".join(f"{c} {p} {dong(a)}" for c, p, a in result.assessed_late)
        total = dong(sum(a for _, _, a in result.assessed_late))
        say(
            out(ctx),
            f"Đã tính đảng phí các tháng chi bộ đã mở sổ trước khi nhập ({total}): {months}",
            f"Assessed for months their branch had opened before they were enrolled "
            f"({total}): {months}",
        )


@app.command("statement")
def statement(
    ctx: typer.Context,
    code: str,
    as_of: inputs.AsOfOpt = None,
    known_at: inputs.KnownAtOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Sổ đảng phí của một đảng viên / A member's dues statement (from the read models)."""
    data = reads(ctx).member_statement(code, as_of=as_of, known_at=known_at)
    if as_json:
        print_json(data)
    else:
        render_statement(out(ctx), data)


def render_statement(console: Console, s: dict[str, Any]) -> None:
    t = table(
        f"{s['member']} {s['full_name']} — chi bộ / branch {s['branch']}",
        "Tháng / Month",
        "Chi bộ / Branch",
        "Phải nộp / Assessed",
        "Đã nộp / Paid",
        "Còn nợ / Outstanding",
        "Ghi chú / Note",
        money=(2, 3, 4),
    )
    for m in s["months"]:
        note = []
        if m["exempt"]:
            note.append(f"miễn/giảm {m['reduction_percent'] or 100}%: {m['exempt']}")
        if m.get("arrears"):  # a back-dated re-assessment asked more (truy thu)
            note.append(f"truy thu / arrears +{m['arrears']:,}")
        if m["closed"]:
            note.append("đã khoá sổ / closed")
        t.add_row(
            cell(m["period"]),
            cell(m["branch"]),
            money_cell(m["assessed"]),
            money_cell(m["paid"]),
            money_cell(m["outstanding"]),
            cell("; ".join(note)),
        )
    t.add_section()
    t.add_row(
        cell("Cộng / Total"),
        cell(""),
        money_cell(s["assessed"]),
        money_cell(s["paid"]),
        money_cell(s["outstanding"]),
        cell(""),
    )
    console.print(t)
    say(console, f"Số dư trả trước: {dong(s['credit'])}", f"Credit: {dong(s['credit'])}")
    through = s["paid_through"] or "—"
    say(console, f"Đã nộp đủ đến tháng: {through}", f"Paid through: {through}")
    for year, count in sorted(s["unpaid_months_by_year"].items()):
        if count >= 3:
            say(
                console,
                f"Cảnh báo: {count} tháng chưa nộp trong năm {year} (xem xét xoá tên)",
                f"Warning: {count} unpaid months in {year} (to be considered for removal)",
            )
    if s["ended_from"]:
        say(console, f"Thôi sinh hoạt từ {s['ended_from']}", f"Left from {s['ended_from']}")


@app.command("receipts")
def receipts(ctx: typer.Context, code: str, as_json: JsonOpt = False) -> None:
    """Các lần nộp của đảng viên / A member's receipts: every payment, oldest first, dated
    as received (a bank transfer: the bank's date)."""
    from api.http.queries import receipts as member_receipts  # the same list as the API's

    found = member_receipts(ledger(ctx), code)
    if as_json:
        print_json(found)
        return
    console = out(ctx)
    if not found:
        say(console, f"{code}: chưa có lần nộp nào", f"{code}: no payments yet")
        return
    t = table(
        f"Biên nhận / Receipts — {code}",
        "Ngày / Date",
        "Số tiền / Amount",
        "Kênh / Channel",
        "Tháng / Months",
        "Mã / Reference",
        money=(1,),
        ids=(0, 4),
    )
    for r in found:
        months = ", ".join(m["period"] for m in r["months"]) or "—"
        if r["to_credit"]:
            months += f" (+{dong(r['to_credit'])} trả trước / credit)"
        if r["reversed"]:
            months += " — đã đảo / reversed"
        t.add_row(r["received_on"], dong(r["amount"]), r["channel"], months, r["reference"])
    console.print(t)
    if any(r["to_credit"] and not r["reversed"] for r in found):
        # a receipt lists the months its money paid when it came; credit pays later months
        # as they open, which the statement shows month by month
        say(
            console,
            f"Tiền trả trước được trừ vào các tháng sau khi mở sổ: xem `member statement {code}`",
            f"Credit pays later months as they open: see `member statement {code}`",
        )


@app.command("show")
def show(ctx: typer.Context, code: str) -> None:
    """Thông tin đảng viên (số định danh che bớt) / A member's record (national ID masked)."""
    app_ = ledger(ctx)
    m = app_.get_member(code)
    t = table(f"Đảng viên / Member {m.code}", "Mục / Field", "Giá trị / Value")
    t.add_row(cell("Họ tên / Full name"), cell(m.full_name))
    t.add_row(cell("Chi bộ / Branch"), cell(m.branch_code))
    history = ", ".join(f"{b} từ/from {p}" for p, b in m.branches)
    t.add_row(cell("Quá trình / History"), cell(history))
    t.add_row(cell("Ngày vào Đảng / Joined"), cell(m.party_joined_on))
    t.add_row(cell("Số định danh / National ID"), cell(mask_national_id(app_.national_id_of(code))))
    for branch, since, until in m.attendance:
        t.add_row(cell("Sinh hoạt tạm thời / Attends"), cell(f"{branch} {since}..{until}"))
    if m.ended_from:
        t.add_row(cell("Thôi sinh hoạt / Left"), cell(f"{m.ended_from}: {m.ended_reason}"))
    out(ctx).print(t)


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    code: str,
    to: Annotated[str, typer.Option("--to", help="Chi bộ mới / New branch.")],
    from_: FromOpt,
) -> None:
    """Chuyển sinh hoạt chính thức / Official transfer to another branch."""
    since = inputs.period(from_, "from")
    ledger(ctx).transfer_member(code, to, since)
    say(out(ctx), f"{code} chuyển về {to} từ {since}", f"{code} moves to {to} from {since}")


@app.command("attend")
def attend(
    ctx: typer.Context,
    code: str,
    branch: Annotated[str, typer.Option("--branch", help="Chi bộ / Branch.")],
    from_: FromOpt,
    until: Annotated[str, typer.Option("--until", help="Đến tháng / Until month.")],
) -> None:
    """Sinh hoạt tạm thời / Temporary attendance at another branch."""
    since, last = inputs.period(from_, "from"), inputs.period(until, "until")
    ledger(ctx).attend_temporarily(code, branch, since, last)
    say(
        out(ctx),
        f"{code} sinh hoạt tạm thời tại {branch}",
        f"{code} attends {branch} {since}..{last}",
    )


@app.command("income")
def income(
    ctx: typer.Context,
    code: str,
    category: Annotated[str, typer.Option("--category", help="Đối tượng / Category.")],
    from_: FromOpt,
    monthly_base: Annotated[
        str | None, typer.Option("--monthly-base", help="Mức thu nhập / Monthly base (đ).")
    ] = None,
) -> None:
    """Thay đổi đối tượng hoặc thu nhập / Change category or income from a month."""
    since = inputs.period(from_, "from")
    base = None if monthly_base is None else inputs.amount(monthly_base, "monthly_base")
    ledger(ctx).change_income(code, category, base, since)
    say(
        out(ctx),
        f"Đã cập nhật thu nhập của {code} từ {since}",
        f"Income of {code} changed from {since}",
    )


@app.command("exempt")
def exempt(
    ctx: typer.Context,
    code: str,
    kind: Annotated[str, typer.Option("--kind", help="Loại miễn, giảm / Exemption kind.")],
    percent: Annotated[str, typer.Option("--percent", help="100 | 30 | 50 | 70")],
    decision: Annotated[str, typer.Option("--decision", help="Số quyết định / Decision ref.")],
    from_: FromOpt,
    to: Annotated[str, typer.Option("--to", help="Đến tháng / Until month (inclusive).")],
) -> None:
    """Miễn hoặc giảm đảng phí / Grant an exemption or reduction."""
    pct = int(inputs.choice(percent.strip(), EXEMPT_PERCENTS, "percent"))
    since, last = inputs.period(from_, "from"), inputs.period(to, "to")
    ledger(ctx).grant_exemption(code, kind, pct, decision, since, last)
    say(
        out(ctx), f"{code}: miễn/giảm {pct}% {since}..{last}", f"{code}: {pct}% off {since}..{last}"
    )


@app.command("end")
def end(
    ctx: typer.Context,
    code: str,
    from_: FromOpt,
    reason: Annotated[str, typer.Option("--reason", help="Lý do / Reason.")],
) -> None:
    """Thôi sinh hoạt / End membership from a month."""
    since = inputs.period(from_, "from")
    ledger(ctx).end_membership(code, since, inputs.text(reason, "reason"))
    say(out(ctx), f"{code} thôi sinh hoạt từ {since}", f"{code} leaves from {since}")
