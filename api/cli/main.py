"""`dangphi`: the command line onto the dues ledger.

Rule: every refusal by the ledger (and every bad value the CLI detects itself)
is printed to stderr as `Lỗi: …` / `Error: …` and exits with status 2, with
nothing recorded; no traceback for bad input. A database that cannot be
reached or written exits with 1, in the same form. Success exits 0.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer
from eventsourcing.persistence import (
    InfrastructureFactoryError,
    PersistenceError,
    RecordConflictError,
)
from typer.core import TyperGroup

from api.cli import (
    audit,
    book,
    cash,
    inspect,
    journal,
    member,
    money,
    month,
    org,
    policy,
    projections,
    qr,
    reconcile,
    serve,
    statement,
    suspense,
    webhook,
)
from api.cli.context import CliState, ledger, out
from api.cli.render import error
from ledger.errors import LedgerError

EXIT_FAILED = 1
EXIT_REFUSED = 2


class LedgerGroup(TyperGroup):
    """The root group: turns errors raised anywhere below into a message and an exit status."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except LedgerError as e:
            error(e.message_vi, e.message_en)
            raise typer.Exit(EXIT_REFUSED) from None
        except BrokenPipeError:
            # the reader of our output went away (`| head`): nothing more to say to it; keep
            # Python from complaining again while it flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_FAILED) from None
        except RecordConflictError:
            error(
                "Sổ vừa được thao tác khác ghi cùng lúc; không ghi gì, hãy chạy lại",
                "Another command wrote to the ledger at the same time; nothing was recorded, run again",
            )
            raise typer.Exit(EXIT_FAILED) from None
        except (PersistenceError, InfrastructureFactoryError, OSError) as e:
            error(
                f"Không mở hoặc ghi được cơ sở dữ liệu: {e}",
                f"The database cannot be opened or written: {e}",
            )
            raise typer.Exit(EXIT_FAILED) from None


app = typer.Typer(
    cls=LedgerGroup,
    name="dangphi",
    help="Sổ đảng phí / Party dues ledger.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL",
            help="sqlite:///PATH or postgresql://USER@HOST:PORT/DB?schema=NAME "
            "(default: $DANGPHI_DATABASE_URL, then sqlite:///dangphi.sqlite3)",
        ),
    ] = None,
) -> None:
    """Sổ thu, nộp đảng phí / Party dues: the tree, members, months, payments, remittances."""
    st = CliState(db=db)
    ctx.obj = st
    ctx.call_on_close(st.close)


@app.command()
def demo(
    ctx: typer.Context,
    fast: Annotated[bool, typer.Option("--fast", help="No pauses between steps.")] = False,
) -> None:
    """Chạy kịch bản minh hoạ / Run the guided demo."""
    from api.demo import run_demo  # imported here: the demo is heavy and optional

    code = run_demo(ledger(ctx), out(ctx), fast=fast)
    raise typer.Exit(code or 0)


app.add_typer(org.app, name="org")
app.add_typer(member.app, name="member")
app.add_typer(month.app, name="month")
app.add_typer(policy.app, name="policy")
app.add_typer(audit.app, name="audit")
audit.app.command("replay")(projections.replay)
app.add_typer(projections.app, name="projections")
money.register(app)
qr.register(app)
webhook.register(app)
statement.register(app)
suspense.register(app)
reconcile.register(app)
cash.register(app)
journal.register(app)
book.register(app)
inspect.register(app)
serve.register(app)


def main() -> None:
    app(prog_name="dangphi")


if __name__ == "__main__":
    main()
