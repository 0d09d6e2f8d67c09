"""`inspect`: the inspection committee's findings, review notes, export and outside incomes.

Rule: `inspect --org CODE` lists the findings of the organisation's subtree (the
tree as it was in each finding's month), read from the findings read model after
catching it up; `inspect review ID --note TEXT` records a note as an event (an
unknown id is refused: the read model is what knows the ids); `inspect export`
writes the findings for a committee meeting as CSV or XLSX, whole or not at all;
`inspect incomes` records what the income file reports beside what was assessed.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from api.cli import inputs
from api.cli.context import ledger, out, reads
from api.cli.render import print_json, say
from api.files import write_whole
from ledger.errors import InvalidInput, NotFound
from payment_gateways.income_source import CsvIncomeSource
from projections.findings import KINDS, Findings, parse_kind

inspect_app = typer.Typer(
    help="Kiểm tra đảng phí (UBKT) / Inspection findings.", invoke_without_command=True
)
FORMATS = ("csv", "xlsx")
HEADERS = (
    "ID",
    "Loại / Kind",
    "Mức độ / Severity",
    "Tổ chức / Organisation",
    "Tháng / Period",
    "Nội dung",
    "Explanation",
    "Bằng chứng / Evidence",
    "Trạng thái / Status",
    "Xem xét / Reviews",
    "Ghi nhận / Recorded at (UTC)",
)


@inspect_app.callback()
def inspect(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Option("--org", help="Mã tổ chức / Organisation code.")
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="YYYY-MM.")] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", help="1–10 hoặc tên / or name, e.g. personal_account.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="In JSON.")] = False,
) -> None:
    """Phát hiện kiểm tra của một tổ chức và cấp dưới / Findings for an organisation's subtree."""
    if ctx.invoked_subcommand is not None:
        return
    if org is None:
        raise InvalidInput("Cần --org MÃ", "--org CODE is required", field="org")
    wanted = inputs.optional_period(period)
    parse_kind(kind)
    found = Findings(reads(ctx)).list(inputs.text(org, "org"), period=wanted, kind=kind)
    if as_json:
        print_json(found)
        return
    console = out(ctx)
    if not found:
        say(console, f"Không có phát hiện nào ở {org}", f"No findings under {org}")
        return
    for f in found:
        _show(console, f)
    say(console, f"{len(found)} phát hiện", f"{len(found)} findings")


def _show(console: Console, f: dict[str, Any]) -> None:
    mark = " (tạm tính / provisional)" if f["provisional"] else ""
    head = (
        f"[{f['kind']}] {f['kind_name']} · {f['severity']} · {f['org']} · {f['period']} · "
        f"{f['status']}{mark}"
    )
    console.print(Text(head, style="bold"))
    console.print(Text(f"  ID {f['id']}"))
    console.print(Text(f"  VI: {f['explanation_vi']}"), soft_wrap=True)
    console.print(Text(f"  EN: {f['explanation_en']}"), soft_wrap=True)
    console.print(Text(f"  Bằng chứng / Evidence: {_evidence(f)}"), soft_wrap=True)
    for r in f["reviews"]:
        console.print(Text(f"  Xem xét / Review {r['at']} {r['reviewer']}: {r['note']}"))


def _evidence(f: dict[str, Any]) -> str:
    ev = f["evidence"]
    parts = [f"events {' '.join(ev['events'])}"]
    if ev["bank_transactions"]:
        parts.append(f"bank {' '.join(ev['bank_transactions'])}")
    if ev["accounts"]:
        parts.append(f"accounts {' '.join(ev['accounts'])}")
    return "; ".join(parts)


@inspect_app.command("review")
def review(
    ctx: typer.Context,
    finding_id: Annotated[str, typer.Argument(help="ID của phát hiện / The finding's id.")],
    note: Annotated[str, typer.Option("--note", help="Ghi chú / Note.")],
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", help="Người xem xét (mặc định $DANGPHI_USER, $USER)."),
    ] = None,
) -> None:
    """Ghi nhận xem xét một phát hiện / Record a review note on a finding."""
    inputs.text(note, "note")
    found = Findings(reads(ctx)).get(finding_id)
    if found is None:
        raise NotFound(
            f"Không có phát hiện '{finding_id}'",
            f"No finding '{finding_id}'",
            field="finding_id",
        )
    who = reviewer or os.environ.get("DANGPHI_USER") or os.environ.get("USER") or ""
    result = ledger(ctx).review_finding(found["id"], note, who)
    say(
        out(ctx),
        f"Đã ghi xem xét phát hiện {result['finding']} ({result['reviewer']})",
        f"Recorded a review of finding {result['finding']} ({result['reviewer']})",
    )


@inspect_app.command("export")
def export(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    fmt: Annotated[str, typer.Option("--format", help="csv | xlsx")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Tệp ghi ra / File to write.")],
    period: Annotated[str | None, typer.Option("--period", help="YYYY-MM.")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="1–10 hoặc tên / or name.")] = None,
) -> None:
    """Xuất phát hiện cho cuộc họp UBKT / Export findings for a committee meeting."""
    chosen = inputs.choice(fmt, FORMATS, "format")
    wanted = inputs.optional_period(period)
    parse_kind(kind)
    inputs.check_output(output)
    found = Findings(reads(ctx)).list(inputs.text(org, "org"), period=wanted, kind=kind)
    rows = [_row(f) for f in found]
    try:
        write_whole(output, lambda p: (_write_csv if chosen == "csv" else _write_xlsx)(rows, p))
    except OSError as e:
        raise inputs.cannot_write(output, e.strerror or str(e)) from None
    say(
        out(ctx),
        f"Đã ghi {len(rows)} phát hiện của {org} vào {output}",
        f"Wrote {len(rows)} findings of {org} to {output}",
    )


def _row(f: dict[str, Any]) -> list[str]:
    reviews = " | ".join(f"{r['at']} {r['reviewer']}: {r['note']}" for r in f["reviews"])
    return [
        f["id"],
        f"{f['kind']} {KINDS[f['kind']][0]}",
        f["severity"],
        f["org"],
        f["period"],
        f["explanation_vi"],
        f["explanation_en"],
        _evidence(f),
        f["status"] + (" (provisional)" if f["provisional"] else ""),
        reviews,
        f["recorded_at"],
    ]


def _write_csv(rows: list[list[str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        w.writerows(rows)


def _write_xlsx(rows: list[list[str]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Phát hiện"
    ws.append(list(HEADERS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        ws.append(row)
    widths = (38, 24, 10, 14, 9, 60, 60, 40, 12, 40, 27)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
        for cell in ws[chr(ord("A") + i)][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    wb.save(path)


@inspect_app.command("incomes")
def incomes(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM.")],
    file: Annotated[
        Path, typer.Option("--file", help="CSV: member_code,period,income (dữ liệu BHXH).")
    ],
) -> None:
    """Ghi thu nhập do nguồn BHXH báo để đối chiếu / Record incomes reported by social insurance."""
    wanted = inputs.period(period)
    source = CsvIncomeSource(file)  # the whole file is checked before the ledger is opened
    result = ledger(ctx).record_reported_incomes(source, inputs.text(org, "org"), wanted)
    if not result["recorded"]:
        say(
            out(ctx),
            f"Nguồn {source.name} không có gì mới cho {org} tháng {wanted}",
            f"{source.name} reports nothing new for {org} in {wanted}",
        )
        return
    say(
        out(ctx),
        f"Đã ghi thu nhập của {result['members']} đảng viên từ {source.name}; "
        f"{result['income_below_reported']} người được tính trên thu nhập thấp hơn",
        f"Recorded {result['members']} members' incomes from {source.name}; "
        f"{result['income_below_reported']} were assessed on less",
    )


def register(app: typer.Typer) -> None:
    app.add_typer(inspect_app, name="inspect")
