"""The state one CLI invocation carries: the database URL, a lazily built ledger, consoles.

Rule: the ledger is built only when a command asks for it (so `--help` and
input errors never touch the database) and closed when the invocation ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import typer
from rich.console import Console

from api.bootstrap import build_ledger
from api.settings import load_settings
from ledger.app import DuesLedger
from projections.reads import Reads


@dataclass
class CliState:
    db: str | None
    _app: DuesLedger | None = field(default=None, repr=False)
    _out: Console | None = field(default=None, repr=False)
    _reads: Reads | None = field(default=None, repr=False)

    @property
    def app(self) -> DuesLedger:
        if self._app is None:
            self._app = build_ledger(load_settings(self.db))
        return self._app

    @property
    def reads(self) -> Reads:
        """The read models, caught up with the event log before each answer."""
        if self._reads is None:
            self._reads = Reads(self.app)
        return self._reads

    @property
    def out(self) -> Console:
        # Created on first use, so it writes to the stdout of this invocation.
        if self._out is None:
            self._out = Console(highlight=False)
            # a message written to a file or a pipe stays on one line (docs/cli.md), as
            # `say` keeps it; on a terminal it is wrapped between words
            self._out.soft_wrap = not self._out.is_terminal
        return self._out

    def close(self) -> None:
        if self._reads is not None:
            self._reads.close()
            self._reads = None
        if self._app is not None:
            self._app.close()
            self._app = None


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState(db=None)
        ctx.find_root().obj = obj
        ctx.find_root().call_on_close(obj.close)
    return obj


def ledger(ctx: typer.Context) -> DuesLedger:
    return state(ctx).app


def out(ctx: typer.Context) -> Console:
    return state(ctx).out


def reads(ctx: typer.Context) -> Reads:
    return state(ctx).reads
