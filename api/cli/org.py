"""`dangphi org …`: import the tree, register bank accounts, move, merge, dissolve, show the tree."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from rich.tree import Tree

from api.cli import inputs
from api.cli.context import ledger, out
from api.cli.render import cell, say
from ledger.organisation import Organisation

app = typer.Typer(help="Tổ chức đảng / Party organisations.", no_args_is_help=True)
account_app = typer.Typer(help="Tài khoản ngân hàng / Bank accounts.", no_args_is_help=True)
app.add_typer(account_app, name="account")

ORG_COLUMNS = ("code", "name", "type", "parent_code")

FromOpt = Annotated[str, typer.Option("--from", help="Từ tháng / From month (YYYY-MM).")]


@app.command("import")
def import_orgs(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: code,name,type,parent_code")],
) -> None:
    """Nhập cây tổ chức từ CSV / Import the organisation tree from CSV."""
    rows = inputs.read_csv(file, ORG_COLUMNS)
    result = ledger(ctx).import_orgs(rows)
    say(
        out(ctx),
        f"Đã nhập {result.created} tổ chức, {result.unchanged} không đổi",
        f"Imported {result.created} organisations, {result.unchanged} unchanged",
    )


@account_app.command("add")
def add_account(
    ctx: typer.Context,
    org: Annotated[str, typer.Option("--org", help="Mã tổ chức / Organisation code.")],
    bin_code: Annotated[str, typer.Option("--bin", help="BIN ngân hàng (6 số) / Bank BIN.")],
    number: Annotated[str, typer.Option("--account-number", help="Số tài khoản / Account no.")],
    holder_name: Annotated[str, typer.Option("--holder-name", help="Chủ tài khoản / Holder.")],
    holder_kind: Annotated[
        str, typer.Option("--holder-kind", help="organisation | personal | treasury")
    ],
) -> None:
    """Đăng ký tài khoản ngân hàng / Register a bank account of an organisation."""
    created = ledger(ctx).add_account(org, bin_code, number, holder_name, holder_kind)
    if created:
        say(out(ctx), f"Đã đăng ký tài khoản {number} cho {org}", f"Registered {number} for {org}")
    else:
        say(out(ctx), f"Tài khoản {number} đã có", f"Account {number} was already registered")
    if holder_kind != "organisation":
        say(
            out(ctx),
            "Lưu ý: đảng phí phải thu vào tài khoản mang tên tổ chức",
            "Note: dues must be collected into an account in the organisation's name",
        )


@app.command("move")
def move(
    ctx: typer.Context,
    code: str,
    parent: Annotated[str, typer.Option("--parent", help="Cấp trên mới / New parent.")],
    from_: FromOpt,
) -> None:
    """Chuyển tổ chức sang cấp trên mới / Move an organisation under a new parent."""
    since = inputs.period(from_, "from")
    ledger(ctx).move_org(code, parent, since)
    say(out(ctx), f"{code} thuộc {parent} từ {since}", f"{code} is under {parent} from {since}")


@app.command("merge")
def merge(
    ctx: typer.Context,
    code: str,
    into: Annotated[str, typer.Option("--into", help="Hợp nhất vào / Merge into.")],
    from_: FromOpt,
) -> None:
    """Hợp nhất tổ chức / Merge an organisation into another."""
    since = inputs.period(from_, "from")
    ledger(ctx).merge_org(code, into, since)
    say(
        out(ctx),
        f"{code} hợp nhất vào {into} từ {since}",
        f"{code} merged into {into} from {since}",
    )


@app.command("dissolve")
def dissolve(ctx: typer.Context, code: str, from_: FromOpt) -> None:
    """Giải thể tổ chức / Dissolve an organisation."""
    since = inputs.period(from_, "from")
    ledger(ctx).dissolve_org(code, since)
    say(out(ctx), f"{code} giải thể từ {since}", f"{code} dissolved from {since}")


@app.command("tree")
def tree(
    ctx: typer.Context,
    period: Annotated[str | None, typer.Option("--period", help="Tháng / Month.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Gốc / Root code.")] = None,
) -> None:
    """Cây tổ chức trong một tháng / The organisation tree as it was in a month."""
    app_ = ledger(ctx)
    month = inputs.optional_period(period) or app_.current_period()
    orgs = app_.subtree(month, org)
    codes = {o.code for o in orgs}
    title = f"Cây tổ chức / Organisation tree {month}"
    root = Tree(cell(title))
    nodes: dict[str, Tree] = {}
    for o in orgs:  # top down, so a parent's node exists before its children's
        parent = o.parent_at(month)
        holder = nodes[parent] if parent in codes and parent in nodes else root
        nodes[o.code] = holder.add(_label(o, app_.today_iso()))
    out(ctx).print(root)


def _label(o: Organisation, today: str) -> Text:
    kinds = sorted({a["holder_kind"] for a in o.active_accounts(today)})
    text = f"{o.code}  {o.name}  ({o.org_type})"
    if kinds:
        text += f"  [TK / accounts: {', '.join(kinds)}]"
    if any(k != "organisation" for k in kinds):
        text += "  ⚠ tài khoản không mang tên tổ chức / non-organisation account"
    return Text(text)
