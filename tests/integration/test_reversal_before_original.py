"""The bank's reversal recorded before the line it reverses (SQLite and PostgreSQL).

November's statement imported before October's, or one day's lines exported newest
first, show the reversal first: it finds nothing to undo and is flagged. Until
2026-11-24 the original, recorded afterwards, was matched as usual and never undone:
the member stayed paid for money the bank took back. Now the original, once matched,
finds the flagged line citing its reference and is undone by it; the flag is taken back.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction
from tests.builders import month_of, org_balances, unbalanced_events
from tests.integration.test_reconciliation import (
    books,
    import_file,
    item_of,
    line,
    paying,
    read_model_report,
    reloaded,
    same_in_read_models,
    statement_line,
    write_statement,
)

ORG = "HN-BD-01"


@pytest.fixture
def branch(ledger: DuesLedger) -> DuesLedger:
    return books(ledger)


def taking_back(
    app: DuesLedger, amount: int, cited: str, reference: str, text: str = "HOAN TRA GD", **kw: Any
) -> BankTransaction:
    """The bank's outgoing line citing `cited` (recorded by notification), as it is."""
    back, _ = app.record_bank_transaction(
        line(amount, f"{text} {cited}", direction="out", reference=reference, **kw)
    )
    return back


def _whole(app: DuesLedger) -> None:
    assert unbalanced_events(app) == [] and sum(app.account_balances().values()) == 0


def _flag_taken_back(app: DuesLedger) -> None:
    held = org_balances(app, ORG)
    assert held.get("assets:unexplained_outflow", 0) == 0, held
    assert [i for i in app.suspense_items(ORG) if i["direction"] == "out"] == []


class TestRecordedOneByOne:
    def test_a_request_payment_recorded_after_its_reversal_is_undone(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        back = taking_back(
            branch,
            70_000,
            "FT26349000777",
            "FT26349000778",
            "TRA SOAT HOAN TIEN GD",
            value_date="2026-12-16",
        )
        assert back.suspense is not None and back.suspense["flagged"]  # nothing to undo yet
        original, new = branch.record_bank_transaction(
            paying(request, 70_000, reference="FT26349000777")
        )
        assert new
        assert reloaded(branch, original).reversed_by == str(back.id)
        again = reloaded(branch, back)
        assert again.matched is not None and again.matched["how"] == "reversal"
        assert again.matched["target"] == str(original.id)
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        resolution = item_of(branch, ORG, back)["resolution"]
        assert resolution == {"how": "reversal", "original": str(original.id)}
        _flag_taken_back(branch)
        balances = branch.account_balances()
        assert balances[f"{ORG}:assets:bank:1012345678"] == 0
        assert balances[f"{ORG}:assets:receivable:M0"] == 70_000
        _whole(branch)
        same_in_read_models(branch, "M0", ORG)
        report = read_model_report(branch, ORG)
        [account] = [a for a in report["accounts"] if a["account"] == "1012345678"]
        assert [r["id"] for r in account["reversed"]] == [str(original.id)]

    def test_unexplained_money_recorded_after_its_reversal_leaves_suspense(
        self, branch: DuesLedger
    ) -> None:
        back = taking_back(branch, 55_000, "FT26349000555", "FT26349000556")
        original, _ = branch.record_bank_transaction(
            line(55_000, "IBFT NGUYEN THI B", reference="FT26349000555")
        )
        assert reloaded(branch, original).reversed_by == str(back.id)
        assert item_of(branch, ORG, original)["resolution"] == {
            "how": "reversed",
            "by": str(back.id),
        }
        assert branch.suspense_items(ORG) == []
        held = org_balances(branch, ORG)
        assert held.get("liabilities:suspense", 0) == 0
        _flag_taken_back(branch)
        _whole(branch)

    def test_a_line_dated_after_the_outgoing_one_is_not_what_it_reversed(
        self, branch: DuesLedger
    ) -> None:
        """The bank cannot take money back before it arrived: the flag stays."""
        request = branch.member_request("M0")
        back = taking_back(
            branch, 70_000, "FT26349000951", "FT26349000952", "HOAN TIEN", value_date="2026-12-01"
        )
        original, _ = branch.record_bank_transaction(
            paying(request, 70_000, reference="FT26349000951")
        )
        assert reloaded(branch, original).reversed_by is None
        assert reloaded(branch, back).matched is None
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 0
        assert org_balances(branch, ORG)["assets:unexplained_outflow"] == 70_000
        _whole(branch)

    def test_another_amount_is_not_the_reversal(self, branch: DuesLedger) -> None:
        back = taking_back(branch, 50_000, "FT26349000555", "FT26349000557")
        original, _ = branch.record_bank_transaction(
            line(55_000, "IBFT NGUYEN THI B", reference="FT26349000555")
        )
        assert reloaded(branch, original).reversed_by is None
        assert reloaded(branch, back).matched is None
        assert item_of(branch, ORG, back)["resolution"] is None
        _whole(branch)

    def test_a_flag_the_treasurer_resolved_is_left_alone(self, branch: DuesLedger) -> None:
        back = taking_back(branch, 55_000, "FT26349000555", "FT26349000556")
        branch.resolve_suspense(str(item_of(branch, ORG, back)["id"]), not_dues="phí ngân hàng")
        original, _ = branch.record_bank_transaction(
            line(55_000, "IBFT NGUYEN THI B", reference="FT26349000555")
        )
        assert reloaded(branch, original).reversed_by is None
        assert item_of(branch, ORG, original)["resolution"] is None
        _whole(branch)


class TestStatementsOutOfOrder:
    def test_decembers_statement_before_novembers_undoes_the_payment(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        request = branch.member_request("M0")
        later = [("02/12/2026", "FT26336001", 70_000, 0, -70_000, "HOAN TRA GD FT26328001")]
        earlier = [("24/11/2026", "FT26328001", 0, 70_000, 70_000, f"IBFT {request.code} DP")]
        first = import_file(branch, write_statement(tmp_path / "dec.csv", later))
        assert first["flagged"] == 1, first
        second = import_file(branch, write_statement(tmp_path / "nov.csv", earlier))
        assert (second["new"], second["matched"]) == (1, 1), second
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        _flag_taken_back(branch)
        _whole(branch)
        same_in_read_models(branch, "M0", ORG)
        # both files again: nothing changes
        before = sum(1 for _ in branch.iter_events())
        for name, rows in (("dec.csv", later), ("nov.csv", earlier)):
            counts = import_file(branch, write_statement(tmp_path / name, rows))
            assert (counts["new"], counts["already"]) == (0, 1), counts
        assert sum(1 for _ in branch.iter_events()) == before
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000

    def test_a_day_exported_newest_first_undoes_the_payment(self, branch: DuesLedger) -> None:
        """Lines of one day without balances, the newest first: one import, one chunk."""
        request = branch.member_request("M0")
        facts = [
            statement_line(2, 70_000, "HOAN TRA GD FT26349000001", direction="out"),
            statement_line(1, 70_000, f"IBFT {request.code} DP"),
        ]
        counts = branch.import_statement(ORG, facts)
        assert (counts["new"], counts["matched"]) == (2, 1), counts
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        _flag_taken_back(branch)
        _whole(branch)
        same_in_read_models(branch, "M0", ORG)
        again = branch.import_statement(ORG, facts)
        assert (again["new"], again["already"]) == (0, 2), again
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000


class TestWhatAReviewFound:
    """A helper's checks of the first version of this."""

    def test_a_gateway_line_without_reference_claimed_by_the_earlier_statement_is_undone(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        """O reported by a gateway without the bank's reference; the later statement (the
        reversal) imported before the earlier one, whose line claims O (`already`): O
        was never matched again, so nothing looked for the reversal."""
        request = branch.member_request("M0")
        memo = f"MBVCB.4525077405.{request.code} DP 12 2026.CT tu 0351000646393"
        o, _ = branch.record_bank_transaction(
            line(70_000, memo, source="payos", external_id="LINK-1", value_date="2026-12-05")
        )
        later = [("10/12/2026", "FT26344000002", 70_000, 0, -70_000, "HOAN TRA GD FT26339000001")]
        earlier = [("05/12/2026", "FT26339000001", 0, 70_000, 70_000, memo)]
        assert import_file(branch, write_statement(tmp_path / "later.csv", later))["flagged"] == 1
        second = import_file(branch, write_statement(tmp_path / "earlier.csv", earlier))
        assert second["already"] == 1, second  # the statement's line is the gateway's
        assert reloaded(branch, o).reversed_by is not None
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        _flag_taken_back(branch)
        _whole(branch)
        same_in_read_models(branch, "M0", ORG)

    @pytest.mark.parametrize("order", ["a_r_o", "r_a_o", "r_o_a"])
    def test_one_chunk_in_any_order(self, branch: DuesLedger, order: str) -> None:
        """A line of another day read first marked its day as read; the reversal flagged
        on a day not read yet was then left out of the index (a_r_o)."""
        request = branch.member_request("M0")

        def on(ref: str, amount: int, text: str, day: str, way: str = "in") -> Any:
            return line(
                amount, text, direction=way, reference=ref, source="statement:g", value_date=day
            )

        a = on("FT26339000010", 55_000, "IBFT NGUYEN THI B", "2026-12-05")
        r = on("FT26344000011", 70_000, "HOAN TRA GD FT26339000012", "2026-12-10", "out")
        o = on("FT26339000012", 70_000, f"IBFT {request.code} DP", "2026-12-05")
        facts = {"a_r_o": [a, r, o], "r_a_o": [r, a, o], "r_o_a": [r, o, a]}[order]
        branch.import_statement(ORG, facts)
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        _flag_taken_back(branch)
        _whole(branch)

    @pytest.mark.parametrize("mode", ["one_by_one", "newest_first_chunk"])
    def test_a_batch_paid_over_then_taken_back(self, branch: DuesLedger, mode: str) -> None:
        request = branch.batch_request("Bí thư chi bộ", ["M0", "M1"], period="2026-12")
        over = replace(
            paying(request, 150_000, reference="FT26349000950"), source="statement:generic"
        )
        back = statement_line(9, 150_000, f"TRA SOAT HOAN TIEN GD {over.reference}", "out")
        if mode == "one_by_one":
            branch.import_statement(ORG, [back])
            branch.import_statement(ORG, [over])
        else:
            branch.import_statement(ORG, [back, over])
        owed = [month_of(branch, m, "2026-12")["outstanding"] for m in ("M0", "M1")]
        assert owed == [70_000, 70_000]
        assert branch.suspense_items(ORG) == []
        assert org_balances(branch, ORG).get("liabilities:suspense", 0) == 0
        _flag_taken_back(branch)
        _whole(branch)
        same_in_read_models(branch, "M0", ORG)
        read_model_report(branch, ORG)

    @pytest.mark.parametrize("registered_first", [True, False])
    def test_on_an_account_registered_after_both_lines(
        self, branch: DuesLedger, registered_first: bool
    ) -> None:
        """Lines on an account nobody had registered are booked when it is, oldest first:
        the reversal (recorded first) was flagged, the original held, both left open."""
        other = "1099999999"
        if registered_first:
            branch.add_account(ORG, "970436", other, "CHI BO KHU PHO 1", "organisation")
        back = taking_back(branch, 55_000, "FT26349000555", "FT26349000556", account=other)
        original, _ = branch.record_bank_transaction(
            line(55_000, "IBFT NGUYEN THI B", reference="FT26349000555", account=other)
        )
        if not registered_first:
            branch.add_account(ORG, "970436", other, "CHI BO KHU PHO 1", "organisation")
        assert reloaded(branch, original).reversed_by == str(back.id)
        assert branch.suspense_items(ORG) == []
        _whole(branch)
