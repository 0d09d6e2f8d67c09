"""`dangphi projections …` and `dangphi audit replay`: rebuild read models, and prove a rebuild
gives exactly the live ones.

Exit status of `audit replay`: 0 when the rebuilt read models equal the live ones,
3 when any row differs (each difference is printed).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from api.cli.context import out, reads
from api.cli.render import cell, error, print_json, say, table
from ledger.errors import InvalidInput
from projections.reads import NAMES
from projections.replay import replay as replay_models

EXIT_DIFFERENT = 3

app = typer.Typer(
    help="Mô hình đọc / Read models: rebuild from the event log.", no_args_is_help=True
)


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Option("--name", help=f"Chỉ một mô hình / Only one read model: {', '.join(NAMES)}."),
    ] = None,
) -> None:
    """Dựng lại mô hình đọc từ nhật ký sự kiện / Rebuild read models from the event log."""
    if name is not None and name not in NAMES:
        raise InvalidInput(
            f"Không có mô hình đọc '{name}' (có: {', '.join(NAMES)})",
            f"No read model '{name}' (there are: {', '.join(NAMES)})",
            field="name",
        )
    models = reads(ctx).models
    started = time.perf_counter()
    events = models.rebuild([name] if name else None)
    seconds = time.perf_counter() - started
    say(
        out(ctx),
        f"Đã dựng lại {name or ', '.join(NAMES)} từ {events:,} sự kiện trong {seconds:.1f} giây",
        f"Rebuilt {name or ', '.join(NAMES)} from {events:,} events in {seconds:.1f} s",
    )


def replay(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON cho máy / Machine JSON.")] = False,
) -> None:
    """Dựng lại mọi mô hình đọc vào nơi riêng và so với bản đang dùng / Rebuild every read model
    into a separate store and compare it with the live one."""
    r = reads(ctx)
    report = replay_models(r.app, r.models)
    if as_json:
        print_json(
            {
                "ok": report.ok,
                "position": report.position,
                "events": report.events,
                "rows": report.tables,
                "differences": [
                    {"table": d.table, "key": list(d.key), "live": d.live, "replayed": d.replayed}
                    for d in report.differences
                ],
            }
        )
    else:
        console = out(ctx)
        t = table(
            f"Dựng lại đến sự kiện {report.position} / Replayed up to event {report.position}",
            "Bảng / Table",
            "Số dòng / Rows",
        )
        for name, rows in report.tables.items():
            t.add_row(cell(name), cell(f"{rows:,}"))
        console.print(t)
        if report.ok:
            say(
                console,
                "Không có chênh lệch: mô hình đọc dựng lại trùng khớp bản đang dùng",
                "No difference: the rebuilt read models equal the live ones",
            )
        for d in report.differences[:50]:
            console.print(f"≠ {d.table} {d.key}: live={d.live} replayed={d.replayed}")
    if not report.ok:
        error(
            f"{len(report.differences)} dòng khác nhau giữa bản dựng lại và bản đang dùng",
            f"{len(report.differences)} rows differ between the rebuild and the live read models",
        )
        raise typer.Exit(EXIT_DIFFERENT)
