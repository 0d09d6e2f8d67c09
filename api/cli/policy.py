"""`dangphi policy …`: change the dues policy by an event (a retained share from a month)."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import say

app = typer.Typer(help="Chính sách đảng phí / Dues policy.", no_args_is_help=True)


@app.command("retention")
def retention(
    ctx: typer.Context,
    org_type: Annotated[str, typer.Option("--org-type", help="Loại tổ chức / Organisation type.")],
    retained_percent: Annotated[
        str, typer.Option("--retained-percent", help="Tỷ lệ giữ lại / Retained share, 0-100.")
    ],
    from_: Annotated[str, typer.Option("--from", help="Từ tháng / From month (YYYY-MM).")],
    basis: Annotated[str, typer.Option("--basis", help="Căn cứ / Legal basis.")] = "",
) -> None:
    """Đặt tỷ lệ trích giữ lại / Set the retained share of an organisation type."""
    since = inputs.period(from_, "from")
    version = ledger(ctx).set_retention(org_type, retained_percent, since, basis)
    say(
        out(ctx),
        f"{org_type} giữ lại {retained_percent}% từ {since} (chính sách phiên bản {version})",
        f"{org_type} retains {retained_percent}% from {since} (policy version {version})",
    )
