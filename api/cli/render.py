"""Rendering for people (rich tables, headers in Vietnamese and English) and for machines (JSON).

Rule: money is shown as `1,234,567 đ` for people and as a plain integer in
JSON; text that came from data is never read as rich markup.
"""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text


def dong(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,} đ"


def cell(value: object) -> Text:
    return Text("" if value is None else str(value))


def money_cell(amount: int | None) -> Text:
    return Text(dong(amount), justify="right")


def table(
    title: str, *headers: str, money: tuple[int, ...] = (), ids: tuple[int, ...] = ()
) -> Table:
    """A table whose columns at the indexes in `money` are right-aligned amounts. Columns in
    `ids` hold what a user types into the next command (a suspense item's id): they are
    never cut, and in such a table no other column hides text behind an ellipsis either
    (a long word folds onto the next line)."""
    t = Table(title=title, title_justify="left")
    for i, header in enumerate(headers):
        # "Tháng / Month" is shown on two lines to keep tables within 80 columns.
        t.add_column(
            header.replace(" / ", "\n"),
            justify="right" if i in money else "left",
            no_wrap=i in money or i in ids,
            overflow="fold" if ids and i not in ids else "ellipsis",
        )
    return t


def say(console: Console, vi: str, en: str) -> None:
    """One message in both languages: one line when written to a file or a pipe (so a
    script can grep it whole); on a terminal wrapped between words at its width, not
    cut mid-word by the terminal."""
    console.print(Text(f"{vi} / {en}"), soft_wrap=not console.is_terminal)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def error(vi: str, en: str) -> None:
    typer.echo(f"Lỗi: {vi}\nError: {en}", err=True)
