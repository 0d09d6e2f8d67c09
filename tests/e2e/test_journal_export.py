"""An auditor exports the postings as a journal and checks them with hledger (SQLite and
PostgreSQL): hledger reads the file without error (strict checks too), and the balance it
computes for every account is the ledger's own; an organisation's export balances to its
subtree's accounts; `--from`/`--to` keep the months asked for. Bad options exit 2 in
Vietnamese and English, writing nothing.

hledger 1.25 comes from Debian (`apt-get install hledger`). Without it these tests skip,
except under CI=true, where they fail: CI must run them.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from api.bootstrap import build_ledger
from api.journal import write_journal
from api.settings import load_settings
from tests.e2e.conftest import as_json, ok, refused, run
from tests.e2e.test_cli_reconcile import (
    B1_ACCOUNT,
    B1_CLOSING,
    OPENING,
    PARENT_ACCOUNT,
    b1_lines,
    import_statement,
    pay_request_code,
    write_statement,
)

B1_ASSESSED = 72_346 + 25_000 + 5_000  # M1, M2, M3 each month
B2_ASSESSED = 5_000  # M4, a student
M4_PAID = 20_000  # 5,000 for December, 15,000 kept as credit


@pytest.fixture
def hledger() -> str:
    found = shutil.which("hledger")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("hledger is required in CI (apt-get install -y hledger) but not on PATH")
        pytest.skip("hledger is not installed (apt-get install -y hledger)")
    return found


def hledger_balances(hledger: str, journal: Path) -> dict[str, int]:
    """Every account's balance as hledger computes it (flat: each account without its
    subaccounts); hledger's own total must be zero."""
    check = subprocess.run([hledger, "-f", journal, "check", "-s"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    result = subprocess.run(
        [hledger, "-f", journal, "bal", "--flat", "-E", "-O", "csv"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["account", "balance"]
    balances = {account: _amount(text) for account, text in rows[1:]}
    assert balances.pop("total") == 0
    return balances


def _amount(text: str) -> int:
    value = text.strip().removeprefix("VND").strip()
    return int(value)


def nonzero(balances: dict[str, int]) -> dict[str, int]:
    """hledger may leave out an account that nets to zero; zero and absent are the same."""
    return {a: n for a, n in balances.items() if n}


def ledger_balances(db_url: str) -> dict[str, int]:
    app = build_ledger(load_settings(db_url))
    try:
        return app.account_balances()
    finally:
        app.close()


def export(db_url: str, path: Path, options: str = "") -> Path:
    ok(db_url, f"journal export --format ledger {options} -o {path}")
    return path


@pytest.fixture
def history(branch: str, tmp_path: Path) -> str:
    """December 2026 in full, then January 2027 opened: M1 pays by QR on B1's statement, M2's
    transfer is confirmed from suspense, M3 pays cash, M4 overpays at B2; the ward closes
    the month; B1 remits through the portal, B2 by bank transfer (cleared on the ward's
    statement); the ward remits to Hà Nội and spends from its fund."""
    ok(
        branch,
        f"org account add --org HN-BD --bin {PARENT_ACCOUNT[0]} --account-number "
        f"{PARENT_ACCOUNT[1]} --holder-name 'DANG UY PHUONG BA DINH' --holder-kind organisation",
    )
    code = pay_request_code(branch, "M1")
    import_statement(branch, write_statement(tmp_path / "b1.csv", OPENING, b1_lines(code)))
    ok(branch, "suspense confirm B1/20261215-1")
    ok(branch, "cash receive --member M3 --amount 5000 --receipt BL-0001")
    ok(branch, f"pay --member M4 --amount {M4_PAID} --reference VCB-M4")
    ok(branch, "month close --period 2026-12 --org HN-BD")
    ok(branch, "remit --org B1 --period 2026-12 --via portal")
    sent = as_json(branch, "remit --org B2 --period 2026-12 --via bank")
    memo = f"{sent['reference']} NOP DP 12/2026 B2"
    line = [("16/12/2026", "FT26350000501", sent["amount"], memo)]
    import_statement(branch, write_statement(tmp_path / "hnbd.csv", 0, line), "HN-BD")
    ok(branch, "remit --org HN-BD --period 2026-12 --via portal")
    ok(branch, "spend --org HN-BD --amount 10000 --purpose 'Văn phòng phẩm' --reference C-01")
    ok(branch, "month open --period 2027-01")
    return branch


class TestHledgerAgreesWithTheLedger:
    def test_every_accounts_balance_in_hledger_is_the_ledgers(
        self, history: str, tmp_path: Path, hledger: str
    ) -> None:
        journal = export(history, tmp_path / "all.journal")

        ours = nonzero(hledger_balances(hledger, journal))
        theirs = nonzero(ledger_balances(history))
        assert ours == theirs
        # real figures, so this cannot pass on an empty or one-sided export
        assert ours[f"B1:assets:bank:{B1_ACCOUNT}"] == B1_CLOSING
        assert ours["B1:income:dues_assessed"] == -B1_ASSESSED  # January's, not yet allocated
        assert ours["B2:liabilities:prepaid:M4"] == -(M4_PAID - 2 * B2_ASSESSED)
        assert ours["HN-BD:expenses:spending"] == 10_000
        assert len(ours) >= 20

    def test_each_event_is_one_transaction_traceable_to_its_event(
        self, history: str, tmp_path: Path
    ) -> None:
        text = export(history, tmp_path / "all.journal").read_text(encoding="utf-8")
        app = build_ledger(load_settings(history))
        try:
            with_postings = [e for e, _ in app.postings()]
        finally:
            app.close()
        headers = [line for line in text.splitlines() if line[:1].isdigit()]
        assert len(headers) == len(with_postings)
        for line, event in zip(headers, with_postings, strict=True):
            assert f"; event: {event.originator_id}@v{event.originator_version}," in line
        assert headers[0].startswith("2026-12-01 Roll.Opened B1 2026-12  ; event: ")
        assert text.startswith("; dangphi") and "\ncommodity VND 1,000.\n" in text

    def test_stdout_gets_the_same_journal_as_the_file(self, history: str, tmp_path: Path) -> None:
        path = tmp_path / "all.journal"
        written = ok(history, f"journal export --format ledger -o {path}").stdout
        assert "Wrote" in written and str(path) in written
        printed = ok(history, "journal export --format ledger").stdout
        assert printed == path.read_text(encoding="utf-8")


class TestFilters:
    def test_an_organisations_export_balances_to_its_subtrees_accounts(
        self, history: str, tmp_path: Path, hledger: str
    ) -> None:
        everything = nonzero(ledger_balances(history))
        for org, codes in (("HN-BD", {"HN-BD", "B1", "B2"}), ("B2", {"B2"})):
            journal = export(history, tmp_path / f"{org}.journal", f"--org {org}")
            subtree = {a: n for a, n in everything.items() if a.split(":")[0] in codes}
            assert nonzero(hledger_balances(hledger, journal)) == subtree
            # each event's postings balance per organisation: nothing crosses the boundary
            assert f"{org}:equity:outside" not in journal.read_text(encoding="utf-8")
        assert "HN:assets:bank" in everything  # what the ward sent up is outside its export

    def test_from_and_to_keep_the_months_asked_for(
        self, history: str, tmp_path: Path, hledger: str
    ) -> None:
        january = hledger_balances(hledger, export(history, tmp_path / "jan.j", "--from 2027-01"))
        assert nonzero(january) == {
            "B1:assets:receivable:M1": 72_346,
            "B1:assets:receivable:M2": 25_000,
            "B1:assets:receivable:M3": 5_000,
            "B1:income:dues_assessed": -B1_ASSESSED,
            "B2:liabilities:prepaid:M4": B2_ASSESSED,  # January paid from M4's credit
            "B2:income:dues_assessed": -B2_ASSESSED,
        }
        december = hledger_balances(
            hledger, export(history, tmp_path / "dec.j", "--from 2026-12 --to 2026-12")
        )
        both = {a: december.get(a, 0) + january.get(a, 0) for a in {*december, *january}}
        assert nonzero(both) == nonzero(ledger_balances(history))
        nothing = export(history, tmp_path / "none.j", "--to 2026-11").read_text(encoding="utf-8")
        assert "event:" not in nothing


class TestBadOptionsAreRefused:
    @pytest.mark.parametrize(
        ("options", "named"),
        [
            ("--format csv", "'csv'"),
            ("--format ledger --from 2026-13", "from"),
            ("--format ledger --to december", "to"),
            ("--format ledger --from 2027-01 --to 2026-12", "after"),
            ("--format ledger --org NOPE", "NOPE"),
        ],
    )
    def test_bad_options_exit_2_and_write_nothing(
        self, branch: str, tmp_path: Path, options: str, named: str
    ) -> None:
        result = refused(branch, f"journal export {options}")
        assert named in result.stderr
        path = tmp_path / "out.journal"
        refused(branch, f"journal export {options} -o {path}")
        assert list(tmp_path.glob("out.journal*")) == []

    def test_the_format_is_required(self, branch: str) -> None:
        result = run(branch, "journal export")
        assert result.exit_code == 2 and "--format" in result.output


# -- the balancing account and the date rule, on a made-up log (no storage) ----------------
class Roll:
    """Stands in for the ledger's Roll: events are named `Aggregate.Kind` by their class."""

    class Opened:
        def __init__(self, **fields: Any) -> None:
            self.__dict__.update(fields)


class Remittance:
    class Remitted(Roll.Opened):
        pass


class FakeOrg:
    def __init__(self, code: str) -> None:
        self.code = code


class FakeLedger:
    """What write_journal asks of the ledger: the events, an organisation, a subtree."""

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def iter_events(self) -> list[Any]:
        return self.events

    def get_org(self, code: str) -> FakeOrg:
        return FakeOrg(code)

    def subtree(self, period: str, code: str) -> list[FakeOrg]:
        return [FakeOrg(code)]


def made_up_event(cls: type, version: int, **fields: Any) -> Any:
    """An event of its own new aggregate, recorded at 2027-02-04 03:00 in Vietnam."""
    stamp = datetime(2027, 2, 3, 20, 0, tzinfo=UTC)
    return cls(originator_id=uuid4(), originator_version=version, timestamp=stamp, **fields)


def test_money_crossing_the_subtree_boundary_is_balanced_by_its_outside_account(
    tmp_path: Path, hledger: str
) -> None:
    events = [
        made_up_event(
            Roll.Opened,
            1,
            branch_code="X",
            period="2027-01",
            postings=[["X:assets:bank", "D", 900], ["P:assets:bank", "C", 900]],
        ),
        made_up_event(
            Remittance.Remitted,
            2,
            postings=[["X:assets:bank", "C", 400], ["P:assets:bank", "D", 400]],
        ),
    ]
    path = tmp_path / "x.journal"
    with path.open("w", encoding="utf-8") as f:
        stats = write_journal(FakeLedger(events), f, org="X")  # type: ignore[arg-type]
    text = path.read_text(encoding="utf-8")
    assert (stats.transactions, stats.balancing, stats.postings) == (2, 2, 4)
    assert "P:assets:bank" not in text
    assert hledger_balances(hledger, path) == {"X:assets:bank": 500, "X:equity:outside": -500}
    # a month's first day for the roll; the recorded day in Vietnam for an undated event
    assert "\n2027-01-01 Roll.Opened X 2027-01  ; event: " in text
    assert "\n2027-02-04 Remittance.Remitted  ; event: " in text


def test_without_an_org_postings_are_written_as_recorded_on_the_events_own_date() -> None:
    """Nothing is added without --org; a date the event carries comes before its month."""
    event = made_up_event(
        Roll.Opened,
        1,
        branch_code="X",
        period="2027-01",
        value_date="2027-01-09",
        postings=[["X:assets:bank", "D", 900], ["X:income:dues_assessed", "C", 900]],
    )
    out = io.StringIO()
    stats = write_journal(FakeLedger([event]), out)  # type: ignore[arg-type]
    assert stats.balancing == 0
    assert "\n2027-01-09 Roll.Opened X 2027-01  ; event: " in out.getvalue()
    assert "    X:assets:bank  VND 900\n    X:income:dues_assessed  VND -900\n" in out.getvalue()
