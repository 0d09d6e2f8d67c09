"""`inspect`: the inspection committee's findings, review notes, export and outside incomes.

Rule: `inspect --org CODE` lists the findings of the organisation's subtree (the
tree as it was in each finding's month), read from the findings read model after
catching it up; `inspect review ID --note TEXT` records a note as an event (an
unknown id is refused: the read model is what knows the ids); `inspect export`
writes the findings for a committee meeting as CSV or XLSX, whole or not at all;
`inspect incomes` records what the income file reports beside what was assessed.
"""

from __future__ import annotations

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
from api.findings_export import FORMATS, evidence, render
from ledger.errors import InvalidInput, NotFound
from payment_gateways.income_source import CsvIncomeSource
from projections.findings import Findings, parse_kind

inspect_app = typer.Typer(
    help="Kiểm tra đảng phí (UBKT) / Inspection findings.", invoke_without_command=True
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
    console.print(Text(f"  Bằng chứng / Evidence: {evidence(f)}"), soft_wrap=True)
    for r in f["reviews"]:
        console.print(Text(f"  Xem xét / Review {r['at']} {r['reviewer']}: {r['note']}"))


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
    data = render(found, chosen)
    try:
        write_whole(output, lambda p: p.write_bytes(data))
    except OSError as e:
        raise inputs.cannot_write(output, e.strerror or str(e)) from None
    say(
        out(ctx),
        f"Đã ghi {len(found)} phát hiện của {org} vào {output}",
        f"Wrote {len(found)} findings of {org} to {output}",
    )


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
