"""Credit that paid a month owed again, and the bank's reversals around it (SQLite and
PostgreSQL): found by reviews of `use_credit` and `release_credit`. Two transfers of
70,000 by M0's request: the first pays December, the second is credit; the bank then
takes them back, with a re-assessment, a transfer or a closing in between."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction
from ledger.payment_request import PaymentRequest
from tests.builders import month_of, org_balances, unbalanced_events
from tests.integration.test_reconciliation import (
    account_report,
    books,
    import_file,
    line,
    paying,
    same_in_read_models,
    statement_line,
    write_statement,
)


@pytest.fixture
def branch(ledger: DuesLedger) -> DuesLedger:
    return books(ledger)


def _reversed(back: BankTransaction) -> bool:
    return back.matched is not None and back.matched["how"] == "reversal"


def _back(app: DuesLedger, cited: str, n: int, amount: int = 70_000) -> BankTransaction:
    back, _ = app.record_bank_transaction(
        line(amount, f"HOAN TRA GD {cited}", direction="out", reference=f"FT2634988{n:04d}")
    )
    return back


def _two_transfers(app: DuesLedger) -> PaymentRequest:
    request = app.member_request("M0")
    app.record_bank_transaction(paying(request, 70_000, reference="FT26349000901"))
    app.record_bank_transaction(paying(request, 70_000, reference="FT26349000902"))
    assert app.member_statement("M0")["credit"] == 70_000
    return request


class TestReassessForgetsCreditApplied:
    def test_raise_between_the_two_reversals(self, branch: DuesLedger) -> None:
        _two_transfers(branch)
        assert _reversed(_back(branch, "FT26349000901", 1))
        # December now paid by FT...902's credit (credit_applied 70,000)
        branch.change_income("M0", "social_insured", 9_000_000, "2026-12")  # 90,000
        back = _back(branch, "FT26349000902", 2)
        assert back.matched is not None and back.matched["how"] == "reversal"
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 90_000)
        assert branch.member_statement("M0")["credit"] == 0
        held = org_balances(branch, "HN-BD-01")
        assert held.get("assets:unexplained_outflow", 0) == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0

    def test_cut_between_the_two_reversals(self, branch: DuesLedger) -> None:
        _two_transfers(branch)
        _back(branch, "FT26349000901", 1)
        branch.change_income("M0", "social_insured", 5_000_000, "2026-12")  # 50,000
        assert branch.member_statement("M0")["credit"] == 20_000
        back = _back(branch, "FT26349000902", 2)
        assert back.matched is not None and back.matched["how"] == "reversal"
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 50_000)
        assert branch.member_statement("M0")["credit"] == 0


class TestCrossBranch:
    def test_transfer_after_credit_paid_the_month_then_reversal(self, branch: DuesLedger) -> None:
        _two_transfers(branch)
        _back(branch, "FT26349000901", 1)  # credit at HN-BD-01 pays December there
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        back = _back(branch, "FT26349000902", 2)
        assert back.matched is not None and back.matched["how"] == "reversal"
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        assert branch.member_statement("M0")["credit"] == 0
        bal = branch.account_balances()
        assert unbalanced_events(branch) == [] and sum(bal.values()) == 0
        assert bal.get("HN-BD-01:liabilities:prepaid:M0", 0) == 0
        assert bal.get("HN-BD-02:liabilities:prepaid:M0", 0) == 0
        assert bal.get("HN-BD-01:assets:due_from:HN-BD-02", 0) == 0
        assert bal.get("HN-BD-02:liabilities:due_to:HN-BD-01", 0) == 0
        for org in ("HN-BD-01", "HN-BD-02"):
            same_in_read_models(branch, "M0", org)

    def test_baseline_transfer_then_reversal_of_credit_payment(self, branch: DuesLedger) -> None:
        """Found by the same review, older than credit released: the credit a transfer
        moved to the new branch is taken back there, not at the old one."""
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 140_000, reference="FT26349000903"))
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        back = _back(branch, "FT26349000903", 3, 140_000)
        assert back.matched is not None and back.matched["how"] == "reversal"
        bal = branch.account_balances()
        assert bal.get("HN-BD-01:liabilities:prepaid:M0", 0) == 0
        assert bal.get("HN-BD-02:liabilities:prepaid:M0", 0) == 0


class TestTransferredTwice:
    def test_each_move_of_the_credit_is_undone(self, branch: DuesLedger) -> None:
        """A review found the reversal undoing the credit's moves as one (01 to 03) when it
        went 01 to 02 to 03: each branch netted to zero, but 01 owed 02, 02 owed 03 and 03
        owed 01 the same 140,000, for money the bank had sent back."""
        branch.import_orgs(
            [(9, {"code": "HN-BD-03", "name": "CB3", "type": "branch", "parent_code": "HN-BD"})]
        )
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 210_000, reference="FT26349000905"))
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        branch.transfer_member("M0", "HN-BD-03", "2027-02")
        assert _reversed(_back(branch, "FT26349000905", 5, 210_000))
        balances = branch.account_balances()
        owing = {k: v for k, v in balances.items() if ":due_" in k and v}
        assert owing == {}
        assert {k: v for k, v in balances.items() if ":prepaid:" in k and v} == {}
        assert branch.member_statement("M0")["credit"] == 0
        assert unbalanced_events(branch) == [] and sum(balances.values()) == 0


class TestCreditSpentByOpeningAMonth:
    def test_the_month_it_paid_is_owed_again(self, branch: DuesLedger) -> None:
        """M0 pays December and 70,000 ahead in one transfer; opening January takes the
        credit. The bank takes the transfer back: before, the reversal was flagged (credit
        used) and both months stayed paid with money the bank returned; now December and
        January are owed again, as if the transfer never came."""
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 140_000, reference="FT26349000921"))
        branch.open_month("2027-01")
        assert month_of(branch, "M0", "2027-01")["outstanding"] == 0
        back = _back(branch, "FT26349000921", 21, 140_000)
        assert _reversed(back)
        for period in ("2026-12", "2027-01"):
            month = month_of(branch, "M0", period)
            assert (month["paid"], month["outstanding"]) == (0, 70_000), period
        assert branch.member_statement("M0")["credit"] == 0
        held = org_balances(branch, "HN-BD-01")
        assert held["assets:receivable:M0"] == 140_000
        assert held.get("liabilities:prepaid:M0", 0) == 0
        assert held.get("assets:unexplained_outflow", 0) == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")

    def test_other_credit_is_used_before_the_opening_is_undone(self, branch: DuesLedger) -> None:
        """70,000 of credit from cash is still there: the reversal takes that, and January
        (paid by opening from the transfer's credit) stays paid; December is owed."""
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 140_000, reference="FT26349000922"))
        branch.open_month("2027-01")
        branch.receive_cash("M0", 70_000, "BL-AHEAD")
        assert _reversed(_back(branch, "FT26349000922", 22, 140_000))
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        assert month_of(branch, "M0", "2027-01")["outstanding"] == 0
        assert branch.member_statement("M0")["credit"] == 0
        assert org_balances(branch, "HN-BD-01")["assets:cash"] == 70_000
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")


class TestWhatCreditStillPays:
    """A review found the record of what credit paid of a month confused by a cut's refund
    and by a release of the opening's credit: a month later paid in cash was taken back
    by a reversal, and credit from another branch was given back at the wrong one."""

    def test_a_month_paid_in_cash_is_not_taken_back(self, branch: DuesLedger) -> None:
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000981"))
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000982"))
        branch.open_month("2027-01")  # January from the second transfer's credit
        branch.change_income("M0", "social_insured", 5_000_000, "2027-01")  # 20,000 back
        assert _reversed(_back(branch, "FT26349000982", 82))  # 20,000 held + January's 50,000
        branch.receive_cash("M0", 50_000, "BL-JAN")  # January paid in cash
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000983"))
        assert _reversed(_back(branch, "FT26349000981", 81))  # December paid from credit
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 0
        assert _reversed(_back(branch, "FT26349000983", 83))  # and owed again
        assert month_of(branch, "M0", "2027-01")["outstanding"] == 0  # still paid in cash
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        assert branch.member_statement("M0")["credit"] == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")

    def test_credit_from_the_new_branch_goes_back_there(self, branch: DuesLedger) -> None:
        request = branch.member_request("M0")
        branch.receive_cash("M0", 70_000, "BL-DEC")
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000941"))
        branch.open_month("2027-01")  # January from that transfer's credit
        assert _reversed(_back(branch, "FT26349000941", 41))  # January owed again
        branch.transfer_member("M0", "HN-BD-02", "2027-02")
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000942"))
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000943"))
        assert _reversed(_back(branch, "FT26349000942", 42))  # January from 02's credit
        assert month_of(branch, "M0", "2027-01")["outstanding"] == 0
        assert _reversed(_back(branch, "FT26349000943", 43))  # and owed again
        assert month_of(branch, "M0", "2027-01")["outstanding"] == 70_000
        assert branch.member_statement("M0")["credit"] == 0
        balances = branch.account_balances()
        assert {k: v for k, v in balances.items() if ":due_" in k and v} == {}
        assert {k: v for k, v in balances.items() if ":prepaid:" in k and v} == {}
        assert unbalanced_events(branch) == [] and sum(balances.values()) == 0


class TestReversalLines:
    def test_a_reversal_with_its_originals_reference_in_one_file(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        """A CLI check: both lines in one statement (the bank printed the reversal with the
        payment's reference) were keyed by content; the reversal was flagged, and a later
        export holding only the payment recorded it a second time."""
        request = branch.member_request("M0")
        paid = ("14/12/2026", "FT26319001", 0, 70_000, 70_000, f"IBFT {request.code} DP")
        back = ("15/12/2026", "FT26319001", 70_000, 0, 0, "GD HOAN TRA")
        counts = import_file(branch, write_statement(tmp_path / "both.csv", [paid, back]))
        assert (counts["new"], counts["reversed"], counts["flagged"]) == (2, 1, 0), counts
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        again = import_file(branch, write_statement(tmp_path / "paid.csv", [paid]))
        assert (again["new"], again["already"]) == (0, 1), again
        assert branch.member_statement("M0")["credit"] == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0

    def test_an_overlapping_file_keying_the_payment_otherwise_records_nothing_twice(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        """A review: a later export that also holds a second incoming line with the same
        reference keys both incoming lines by content; the payment, keyed by its reference
        before, was recorded and matched again. The import now looks for a line under its
        other key too, and takes it as recorded if it shows the same movement."""
        request = branch.member_request("M0")
        paid = ("14/12/2026", "FT26319001", 0, 70_000, 70_000, f"IBFT {request.code} DP")
        back = ("15/12/2026", "FT26319001", 70_000, 0, 0, "GD HOAN TRA")
        again = ("15/12/2026", "FT26319001", 0, 70_000, 70_000, f"IBFT {request.code} DP 2")
        import_file(branch, write_statement(tmp_path / "a.csv", [paid, back]))
        later = import_file(branch, write_statement(tmp_path / "b.csv", [paid, back, again]))
        assert (later["new"], later["already"]) == (1, 2), later
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 0  # the new line paid it
        assert branch.member_statement("M0")["credit"] == 0
        # and the other way round: keyed by content first (the reference printed on two
        # incoming lines), by its reference in a later file holding one of them
        one = ("16/12/2026", "FT26319002", 0, 20_000, 90_000, "IBFT UNG HO")
        two = ("16/12/2026", "FT26319002", 0, 30_000, 120_000, "IBFT UNG HO LAN 2")
        first = import_file(branch, write_statement(tmp_path / "c.csv", [one, two]))
        assert first["new"] == 2, first
        count = import_file(branch, write_statement(tmp_path / "d.csv", [one]))
        assert (count["new"], count["already"]) == (0, 1), count
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0

    def test_a_file_imported_under_the_earlier_keying_imports_again_as_recorded(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        """Before 2026-11-24 a reference printed on a payment and on its reversal keyed
        neither (both by content hash). The same file imported now keys them by it, and
        finds them under their content hash: nothing is recorded twice."""
        from payment_gateways.statements import read_statement

        request = branch.member_request("M0")
        paid = ("14/12/2026", "FT26319003", 0, 70_000, 70_000, f"IBFT {request.code} DP")
        back = ("15/12/2026", "FT26319003", 70_000, 0, 0, "GD HOAN TRA")
        path = write_statement(tmp_path / "old.csv", [paid, back])
        facts = read_statement(path, bin_code="970436", account_number="1012345678").facts
        earlier = [replace(f, external_id=f.content_id, reference_is_key=False) for f in facts]
        assert branch.import_statement("HN-BD-01", earlier)["new"] == 2
        again = import_file(branch, path)
        assert (again["new"], again["already"]) == (0, 2), again
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0

    def test_two_identical_transfers_under_one_reference_stay_two(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        """A review: the day's export printed a second identical transfer under the
        reference of the morning's; both lines took the morning's record as theirs, and
        the second transfer was never recorded."""
        x = ("14/12/2026", "BATCH77", 0, 50_000, 50_000, "NOP DANG PHI")
        import_file(branch, write_statement(tmp_path / "am.csv", [x]))
        y = ("14/12/2026", "BATCH77", 0, 50_000, 100_000, "NOP DANG PHI")
        counts = import_file(branch, write_statement(tmp_path / "day.csv", [x, y]))
        assert (counts["new"], counts["already"]) == (1, 1), counts
        assert account_report(branch)["difference"] == 0

    def test_a_gateway_line_found_under_its_other_key_is_shown_on_the_statement(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        branch.record_bank_transaction(
            line(55_000, "IBFT TRAN VAN C", reference="FT26348000002", value_date="2026-12-14")
        )
        rows = [
            ("14/12/2026", "FT26348000002", 0, 55_000, 55_000, "IBFT TRAN VAN C"),
            ("14/12/2026", "FT26348000002", 0, 10_000, 65_000, "IBFT PHI"),
        ]
        counts = import_file(branch, write_statement(tmp_path / "s.csv", rows))
        assert (counts["new"], counts["already"]) == (1, 1), counts
        report = account_report(branch)
        assert report["difference"] == 0 and report["not_on_statement"] == []

    def test_a_line_dated_before_the_payment_it_cites_is_not_its_reversal(
        self, branch: DuesLedger
    ) -> None:
        """A CLI check: an outgoing line dated a month before the payment it named was taken
        as its reversal; the bank cannot take money back before it arrived."""
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349000951"))
        early = line(
            70_000,
            "HOAN TIEN FT26349000951",
            direction="out",
            reference="FT26349000952",
            value_date="2026-12-01",
        )
        tx, _ = branch.record_bank_transaction(early)
        assert not _reversed(tx) and tx.suspense is not None and tx.suspense["flagged"]
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 0


class TestRefundedSinceThePayment:
    def test_what_a_cut_moved_to_credit_is_taken_back_from_credit(self, branch: DuesLedger) -> None:
        """A review: M0 paid 140,000 (December 70,000, 70,000 credit); a cut to 20,000 for
        December moved 50,000 of it to credit; opening January took 20,000 of that credit.
        The bank takes the 140,000 back: December ended paid -20,000, owing 40,000 on a
        20,000 month. Now December goes back by what of the payment is still in it, and
        what the cut moved to credit is taken back from the credit (January's opening
        included): both months owed, as if the payment never came."""
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 140_000, reference="FT26349007002"))
        branch.change_income("M0", "social_insured", 2_000_000, "2026-12")  # 20,000
        branch.open_month("2027-01")  # January, 20,000, from credit
        assert _reversed(_back(branch, "FT26349007002", 72, 140_000))
        for period in ("2026-12", "2027-01"):
            month = month_of(branch, "M0", period)
            assert (month["assessed"], month["paid"], month["outstanding"]) == (
                20_000,
                0,
                20_000,
            ), period
        assert branch.member_statement("M0")["credit"] == 0
        held = org_balances(branch, "HN-BD-01")
        assert held["assets:receivable:M0"] == 40_000
        assert held.get("liabilities:prepaid:M0", 0) == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")


class TestRefundAcrossTwoMoves:
    def test_each_move_of_the_refunds_credit_is_undone(self, branch: DuesLedger) -> None:
        """A review: a cut refunded part of December to credit at HN-BD-02 (the member's
        branch then), which moved on to HN-BD-03; the reversal undid the refund as one
        move from 01 to 03, leaving 01, 02 and 03 each owed by the next."""
        branch.import_orgs(
            [(9, {"code": "HN-BD-03", "name": "CB3", "type": "branch", "parent_code": "HN-BD"})]
        )
        request = branch.member_request("M0")
        branch.record_bank_transaction(paying(request, 70_000, reference="FT26349007601"))
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        branch.change_income("M0", "social_insured", 2_000_000, "2026-12")  # refund to 02
        branch.transfer_member("M0", "HN-BD-03", "2027-02")
        assert _reversed(_back(branch, "FT26349007601", 601, 70_000))
        balances = branch.account_balances()
        left = {k: v for k, v in balances.items() if (":due_" in k or ":prepaid:" in k) and v}
        assert left == {}
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 20_000
        assert unbalanced_events(branch) == [] and sum(balances.values()) == 0


class TestExplicitMonths:
    def test_a_cut_pays_with_what_it_frees_not_with_credit_held_before(
        self, branch: DuesLedger
    ) -> None:
        """M0 paid January only (December left owed) and 70,000 ahead. A cut to 50,000 from
        December frees 20,000 of January's payment: that pays December, oldest first, as a
        payment would; the 70,000 held before is not spent on the month M0 left."""
        branch.open_month("2027-01")
        branch.pay("M0", 140_000, reference="P-JAN", months=["2027-01"])
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 70_000
        assert branch.member_statement("M0")["credit"] == 70_000
        branch.change_income("M0", "social_insured", 5_000_000, "2026-12")  # 50,000
        assert month_of(branch, "M0", "2026-12")["outstanding"] == 30_000
        assert branch.member_statement("M0")["credit"] == 70_000
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")


class TestMore:
    @pytest.mark.parametrize("first", ["FT26349000901", "FT26349000902"])
    def test_both_reversals_in_one_statement_chunk(self, branch: DuesLedger, first: str) -> None:
        request = _two_transfers(branch)
        other = ({"FT26349000901", "FT26349000902"} - {first}).pop()
        facts = [
            statement_line(21, 70_000, f"HOAN TRA GD {first}", direction="out"),
            statement_line(22, 70_000, f"IBFT {branch.member_request('M1').code} DP"),
            statement_line(23, 70_000, f"HOAN TRA GD {other}", direction="out"),
            statement_line(24, 70_000, f"IBFT {request.code} DP"),
        ]
        branch.import_statement("HN-BD-01", facts)
        month = month_of(branch, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (70_000, 0)
        assert branch.member_statement("M0")["credit"] == 0
        held = org_balances(branch, "HN-BD-01")
        assert held.get("assets:unexplained_outflow", 0) == 0
        assert held.get("liabilities:prepaid:M0", 0) == 0
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")

    def test_release_after_closing(self, branch: DuesLedger) -> None:
        _two_transfers(branch)
        _back(branch, "FT26349000901", 1)
        for m in ("M1", "M2"):
            branch.receive_cash(m, 70_000, f"BL-{m}")
        branch.close_month("2026-12", "HN-BD-01")
        assert branch.payable_for("HN-BD-01", "2026-12")[0] == 147_000
        back = _back(branch, "FT26349000902", 2)
        assert _reversed(back)
        assert branch.payable_for("HN-BD-01", "2026-12")[0] == 98_000
        assert unbalanced_events(branch) == [] and sum(branch.account_balances().values()) == 0
        same_in_read_models(branch, "M0", "HN-BD-01")

    def test_cross_branch_read_models_after_release(self, branch: DuesLedger) -> None:
        _two_transfers(branch)
        _back(branch, "FT26349000901", 1)
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        _back(branch, "FT26349000902", 2)
        for org in ("HN-BD-01", "HN-BD-02"):
            same_in_read_models(branch, "M0", org)


class TestAClosedMonthsSharesStayExact:
    """A closed month's retained share is the split of all it collected, whatever came in
    or left it after closing: the rounding is applied once, to the total. Before, each
    late amount was split on its own; reversing every payment left retained -1 and
    payable +1, and `remit` would send that 1 đ (a helper's check)."""

    def test_reversing_every_payment_leaves_nothing(self, branch: DuesLedger) -> None:
        request = branch.member_request("M0")
        for n in (1, 2):
            branch.record_bank_transaction(paying(request, 35_005, reference=f"FT2634900090{n}"))
        branch.close_month("2026-12", "HN-BD-01")
        closed = branch.balance("HN-BD-01", "2026-12")
        assert (closed["collected"], closed["retained"] + closed["payable_to_parent"]) == (
            70_000,
            70_000,
        )
        for n in (1, 2):
            assert _reversed(_back(branch, f"FT2634900090{n}", n, amount=35_005))
        after = branch.balance("HN-BD-01", "2026-12")
        assert (after["collected"], after["retained"], after["payable_to_parent"]) == (0, 0, 0)
        assert not unbalanced_events(branch)
        same_in_read_models(branch, "M0", "HN-BD-01")

    @pytest.mark.parametrize("amounts", [[10_001, 10_001, 10_001], [33_333, 1, 36_666]])
    def test_late_payments_keep_the_split_of_the_total(
        self, branch: DuesLedger, amounts: list[int]
    ) -> None:
        branch.close_month("2026-12", "HN-BD-01")
        for n, amount in enumerate(amounts):
            branch.pay("M0", amount, reference=f"LATE-{n}")
        after = branch.balance("HN-BD-01", "2026-12")
        total = after["collected"]
        assert total == min(sum(amounts), 70_000)
        from decimal import Decimal

        from ledger.money import split_retained

        percent = Decimal(branch.policy().book.retained_percent("branch", "2026-12"))
        assert (after["retained"], after["payable_to_parent"]) == split_retained(total, percent)

    def test_late_payments_in_one_statement_chunk_keep_the_split(
        self, branch: DuesLedger, tmp_path: Path
    ) -> None:
        # one Roll.PaymentsApplied for the chunk: each payment's share must count the ones
        # before it (a review found no test would see it dropped)
        from decimal import Decimal

        from ledger.money import split_retained

        branch.close_month("2026-12", "HN-BD-01")
        rows, balance = [], 0
        for n, member in enumerate(("M0", "M1", "M2")):
            code = branch.member_request(member).code
            balance += 10_001
            rows.append(("15/12/2026", f"FT2634900{n:04d}", 0, 10_001, balance, f"IBFT {code} DP"))
        import_file(branch, write_statement(tmp_path / "s.csv", rows))
        after = branch.balance("HN-BD-01", "2026-12")
        percent = Decimal(branch.policy().book.retained_percent("branch", "2026-12"))
        assert (after["retained"], after["payable_to_parent"]) == split_retained(
            after["collected"], percent
        )
        assert not unbalanced_events(branch)
        same_in_read_models(branch, "M0", "HN-BD-01")
