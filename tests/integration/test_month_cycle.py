"""A treasurer's month, on SQLite and PostgreSQL: open, collect, close, remit, spend.

The tree is the builders' one: TW (central) > HN (provincial) > HN-BD (grassroots
committee) > HN-BD-01, HN-BD-02 (branches). Members pay 1% of 7,000,000 đ, so
70,000 đ a month, unless a test gives them another income.
"""

from __future__ import annotations

import pytest

from ledger.app import DuesLedger
from ledger.errors import Conflict
from tests.builders import (
    member_row,
    month_of,
    numbered,
    org_balances,
    org_rows,
    small_ledger,
    written,
)

DUES = 70_000
ODD_BASE = 7_234_567  # 1% is 72,345.67 đ, rounded half up to 72,346 đ
ODD_DUES = 72_346


@pytest.fixture
def app(ledger: DuesLedger) -> DuesLedger:
    return small_ledger(ledger)


@pytest.fixture
def odd_app(ledger: DuesLedger) -> DuesLedger:
    """One branch with a single member whose dues are an odd number of đồng."""
    ledger.import_orgs(org_rows())
    ledger.import_members(numbered([member_row("ODD", "HN-BD-01", base=ODD_BASE)]))
    return ledger


class TestTreasurerOpensTheMonth:
    def test_opening_assesses_every_member_with_the_rule_and_policy_version(
        self, app: DuesLedger
    ) -> None:
        result = app.open_month("2026-10")

        assert (result.branches, result.members, result.amount) == (2, 5, 5 * DUES)
        version = app.policy().version
        for code in ("M0", "M1", "M2", "M3", "M4"):
            month = month_of(app, code, "2026-10")
            assert month["assessed"] == DUES
            assert month["rule"] == "01-QD-TW/social_insured"
            assert month["policy_version"] == version
            assert month["income"] == 7_000_000
            assert month["outstanding"] == DUES

    def test_a_month_before_february_2026_is_assessed_under_the_old_regime(
        self, app: DuesLedger
    ) -> None:
        app.open_month("2026-01")

        assert month_of(app, "M0", "2026-01")["rule"] == "342-QD-TW/social_insured"

    def test_opening_posts_each_receivable_against_dues_assessed(self, app: DuesLedger) -> None:
        app.open_month("2026-10")

        branch = org_balances(app, "HN-BD-01")
        assert branch["assets:receivable:M0"] == DUES
        assert branch["income:dues_assessed"] == -3 * DUES

    def test_opening_a_month_twice_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        before = written(app)

        with pytest.raises(Conflict):
            app.open_month("2026-10")
        assert written(app) == before


class TestMemberPays:
    def test_payment_goes_to_the_oldest_unpaid_month_first(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.open_month("2026-11")

        result = app.pay("M0", DUES, reference="P1")

        assert result.applied == [["HN-BD-01", "2026-10", DUES]]
        assert month_of(app, "M0", "2026-10")["outstanding"] == 0
        assert month_of(app, "M0", "2026-11")["outstanding"] == DUES

    def test_payment_for_a_named_month_leaves_older_arrears_owed(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.open_month("2026-11")

        result = app.pay("M0", DUES, reference="P1", months=["2026-11"])

        assert result.applied == [["HN-BD-01", "2026-11", DUES]]
        assert month_of(app, "M0", "2026-10")["outstanding"] == DUES
        assert month_of(app, "M0", "2026-11")["outstanding"] == 0

    def test_paying_for_a_month_not_owed_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        before = written(app)

        with pytest.raises(Conflict):
            app.pay("M0", DUES, reference="P1", months=["2026-09"])
        assert written(app) == before

    def test_partial_payment_leaves_the_rest_owed(self, app: DuesLedger) -> None:
        app.open_month("2026-10")

        app.pay("M0", 30_000, reference="P1", channel="cash")

        assert month_of(app, "M0", "2026-10")["outstanding"] == 40_000
        branch = org_balances(app, "HN-BD-01")
        assert branch["assets:receivable:M0"] == 40_000
        assert branch["assets:cash"] == 30_000

    def test_overpayment_is_kept_as_credit_for_next_month(self, app: DuesLedger) -> None:
        app.open_month("2026-10")

        result = app.pay("M0", 100_000, reference="P1")

        assert result.to_credit == 30_000
        assert app.member_statement("M0")["credit"] == 30_000
        assert org_balances(app, "HN-BD-01")["liabilities:prepaid:M0"] == -30_000

        app.open_month("2026-11")

        november = month_of(app, "M0", "2026-11")
        assert (november["paid"], november["outstanding"]) == (30_000, 40_000)
        assert app.member_statement("M0")["credit"] == 0
        assert org_balances(app, "HN-BD-01")["liabilities:prepaid:M0"] == 0

    def test_paying_ahead_covers_the_months_as_they_open(self, app: DuesLedger) -> None:
        app.open_month("2026-10")

        app.pay("M0", 4 * DUES, reference="AHEAD")

        statement = app.member_statement("M0")
        assert statement["credit"] == 3 * DUES
        assert statement["paid_through"] == "2027-01"
        app.open_month("2026-11")
        app.open_month("2026-12")
        statement = app.member_statement("M0")
        assert [m["outstanding"] for m in statement["months"]] == [0, 0, 0]
        assert statement["credit"] == DUES
        assert statement["paid_through"] == "2027-01"


class TestTreasurerClosesTheMonth:
    def test_closing_splits_an_odd_total_into_retained_and_payable_exactly(
        self, odd_app: DuesLedger
    ) -> None:
        odd_app.open_month("2026-10")
        odd_app.pay("ODD", ODD_DUES, reference="P1")

        result = odd_app.close_month("2026-10", "HN-BD")

        assert result.amount == ODD_DUES
        balance = odd_app.balance("HN-BD-01", "2026-10")
        # 30% of 72,346 is 21,703.8: the spare đồng goes to the larger remainder.
        assert (balance["retained"], balance["payable_to_parent"]) == (21_704, 50_642)
        branch = org_balances(odd_app, "HN-BD-01")
        assert branch["equity:retained"] == -21_704
        assert branch["liabilities:payable_to_parent"] == -50_642
        assert branch["income:dues_assessed"] == 0

    def test_closing_a_month_never_opened_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        before = written(app)

        with pytest.raises(Conflict):
            app.close_month("2026-09", "HN")
        assert written(app) == before

    def test_closing_a_month_already_closed_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.close_month("2026-10", "HN")
        before = written(app)

        with pytest.raises(Conflict):
            app.close_month("2026-10", "HN")
        assert written(app) == before

    def test_late_payment_into_a_closed_month_is_allocated_at_once(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="ON-TIME")
        app.close_month("2026-10", "HN")

        app.pay("M1", 10_001, reference="LATE")

        balance = app.balance("HN-BD-01", "2026-10")
        assert balance["collected"] == DUES + 10_001
        assert balance["retained"] + balance["payable_to_parent"] == DUES + 10_001
        # 30% of 10,001 is 3,000.3: retained 21,000 + 3,000, payable 49,000 + 7,001.
        assert (balance["retained"], balance["payable_to_parent"]) == (24_000, 56_001)
        assert org_balances(app, "HN-BD-01")["income:dues_assessed"] == -(2 * DUES - 10_001)


class TestRemittanceUpTheTree:
    def _collect_and_close(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("ODD", ODD_DUES, reference="P1")
        app.close_month("2026-10", "HN-BD")

    def test_each_level_keeps_its_share_up_to_the_centre(self, odd_app: DuesLedger) -> None:
        self._collect_and_close(odd_app)

        sent = [odd_app.remit(code, "2026-10").amount for code in ("HN-BD-01", "HN-BD", "HN")]

        # Branch keeps 30%, the grassroots committee and the province 50% each, the Centre all.
        assert sent == [50_642, 25_321, 12_660]
        retained = {c: odd_app.balance(c, "2026-10")["retained"] for c in ("HN-BD-01", "HN-BD")}
        retained |= {c: odd_app.balance(c, "2026-10")["retained"] for c in ("HN", "TW")}
        assert retained == {"HN-BD-01": 21_704, "HN-BD": 25_321, "HN": 12_661, "TW": 12_660}
        assert sum(retained.values()) == ODD_DUES
        banks = {c: org_balances(odd_app, c)["assets:bank"] for c in retained}
        assert banks == retained
        for code in ("HN-BD-01", "HN-BD", "HN"):
            assert org_balances(odd_app, code)["liabilities:payable_to_parent"] == 0

    def test_remitting_twice_sends_nothing_more(self, odd_app: DuesLedger) -> None:
        self._collect_and_close(odd_app)
        odd_app.remit("HN-BD-01", "2026-10")
        before = written(odd_app)

        again = odd_app.remit("HN-BD-01", "2026-10")

        assert (again.amount, again.remitted_before) == (0, 50_642)
        assert written(odd_app) == before

    def test_remitting_again_with_the_same_reference_returns_the_first_result(
        self, odd_app: DuesLedger
    ) -> None:
        self._collect_and_close(odd_app)
        first = odd_app.remit("HN-BD-01", "2026-10", reference="UNC-1")
        before = written(odd_app)

        again = odd_app.remit("HN-BD-01", "2026-10", reference="UNC-1")

        assert (again.amount, again.duplicate) == (first.amount, True)
        assert written(odd_app) == before
        assert odd_app.balance("HN-BD", "2026-10")["received_from_children"] == 50_642

    def test_a_retry_with_the_same_reference_does_not_send_late_money(
        self, app: DuesLedger
    ) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P1")
        app.close_month("2026-10", "HN")
        first = app.remit("HN-BD-01", "2026-10", reference="UNC-1")
        app.pay("M1", DUES, reference="LATE")
        before = written(app)

        retry = app.remit("HN-BD-01", "2026-10", reference="UNC-1")

        assert (retry.amount, retry.duplicate) == (first.amount, True)
        assert written(app) == before
        assert app.remit("HN-BD-01", "2026-10", reference="UNC-2").amount == 49_000

    def test_late_money_is_remitted_as_the_difference(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P1")
        app.close_month("2026-10", "HN")
        assert app.remit("HN-BD-01", "2026-10").amount == 49_000

        app.pay("M1", DUES, reference="LATE")

        result = app.remit("HN-BD-01", "2026-10")
        assert (result.amount, result.remitted_before, result.payable) == (49_000, 49_000, 98_000)

    def test_the_centre_has_no_one_to_remit_to(self, odd_app: DuesLedger) -> None:
        self._collect_and_close(odd_app)
        before = written(odd_app)

        with pytest.raises(Conflict):
            odd_app.remit("TW", "2026-10")
        assert written(odd_app) == before


class TestRetentionPolicyChanges:
    def test_a_new_retained_share_applies_only_from_its_month(self, app: DuesLedger) -> None:
        app.set_retention("branch", "40", "2026-11", "Hướng dẫn thử nghiệm số 1")
        for period in ("2026-10", "2026-11"):
            app.open_month(period)
            app.pay("M0", DUES, reference=f"P-{period}", months=[period])
            app.close_month(period, "HN")

        october = app.balance("HN-BD-01", "2026-10")
        november = app.balance("HN-BD-01", "2026-11")
        assert (october["retained"], october["payable_to_parent"]) == (21_000, 49_000)
        assert (november["retained"], november["payable_to_parent"]) == (28_000, 42_000)

    def test_a_month_closed_before_the_change_keeps_its_share_for_late_money(
        self, app: DuesLedger
    ) -> None:
        app.open_month("2026-10")
        app.close_month("2026-10", "HN")
        app.set_retention("branch", "40", "2026-10", "Hướng dẫn thử nghiệm số 2")

        app.pay("M0", DUES, reference="LATE")

        balance = app.balance("HN-BD-01", "2026-10")
        assert (balance["retained"], balance["payable_to_parent"]) == (21_000, 49_000)


class TestSpendingFromTheRetainedFund:
    @pytest.fixture
    def funded(self, app: DuesLedger) -> DuesLedger:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P1")
        app.close_month("2026-10", "HN")
        return app

    def test_spending_draws_on_the_retained_fund(self, funded: DuesLedger) -> None:
        assert funded.spend("HN-BD-01", 15_000, "Mua sổ sách", "PC-01") is True

        balance = funded.balance("HN-BD-01")
        assert (balance["spent"], balance["retained_available"]) == (15_000, 6_000)
        branch = org_balances(funded, "HN-BD-01")
        assert branch["expenses:spending"] == 15_000
        assert branch["assets:bank"] == DUES - 15_000

    def test_spending_beyond_the_fund_is_refused(self, funded: DuesLedger) -> None:
        funded.spend("HN-BD-01", 15_000, "Mua sổ sách", "PC-01")
        before = written(funded)

        with pytest.raises(Conflict):
            funded.spend("HN-BD-01", 6_001, "Hoa viếng", "PC-02")
        assert written(funded) == before
        assert funded.spend("HN-BD-01", 6_000, "Hoa viếng", "PC-02") is True


class TestRetriesChangeNothing:
    def test_paying_twice_with_the_same_reference_records_one_payment(
        self, app: DuesLedger
    ) -> None:
        app.open_month("2026-10")
        first = app.pay("M0", 100_000, reference="SEPAY-42")
        before = written(app)

        again = app.pay("M0", 100_000, reference="SEPAY-42")

        assert (again.duplicate, again.applied, again.to_credit) == (
            True,
            first.applied,
            first.to_credit,
        )
        assert written(app) == before
        assert app.member_statement("M0")["credit"] == 30_000

    def test_the_same_reference_for_another_payment_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="SEPAY-42")
        before = written(app)

        with pytest.raises(Conflict):
            app.pay("M1", DUES, reference="SEPAY-42")
        assert written(app) == before

    def test_importing_the_same_rows_twice_changes_nothing(self, ledger: DuesLedger) -> None:
        members = numbered([member_row(f"M{i}", "HN-BD-01") for i in range(3)])
        ledger.import_orgs(org_rows())
        ledger.import_members(members)
        before = written(ledger)

        orgs_again = ledger.import_orgs(org_rows())
        members_again = ledger.import_members(members)

        assert (orgs_again.created, orgs_again.unchanged) == (0, len(org_rows()))
        assert (members_again.created, members_again.unchanged) == (0, 3)
        assert written(ledger) == before

    def test_registering_the_same_bank_account_twice_changes_nothing(self, app: DuesLedger) -> None:
        assert app.add_account("HN-BD-01", "970436", "1018795282", "CHI BO KP1", "organisation")
        before = written(app)

        again = app.add_account("HN-BD-01", "970436", "1018795282", "CHI BO KP1", "organisation")

        assert again is False
        assert written(app) == before
        assert len(app.get_org("HN-BD-01").accounts) == 1

    def test_spending_twice_with_the_same_reference_records_it_once(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P1")
        app.close_month("2026-10", "HN")
        app.spend("HN-BD-01", 5_000, "Mua sổ sách", "PC-01")
        before = written(app)

        assert app.spend("HN-BD-01", 5_000, "Mua sổ sách", "PC-01") is False
        assert written(app) == before
        assert app.balance("HN-BD-01")["spent"] == 5_000


LEVELS = ("HN-BD-01", "HN-BD", "HN")


class TestAnOverRemittanceIsDeductedFromTheNextMonth:
    """A month closed and remitted, then a back-dated cut: the parent was over-paid. The
    next month's remittance to the same parent deducts it, at every level (a helper's
    check: before, every later month sent its full payable and the excess stayed above)."""

    def _cut_after_remitting(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P1")
        app.close_month("2026-10", "HN")
        for code in LEVELS:
            app.remit(code, "2026-10")
        # M0's income halves from October: 35,000 đ of October's 70,000 đ becomes credit
        app.change_income("M0", "social_insured", 3_500_000, "2026-10")

    def _next_month(self, app: DuesLedger) -> None:
        app.open_month("2026-11")  # M0's 35,000 đ credit pays November
        app.pay("M1", DUES, reference="P2", months=["2026-11"])
        app.close_month("2026-11", "HN")

    def test_across_the_months_each_level_remits_what_it_owes(self, app: DuesLedger) -> None:
        self._cut_after_remitting(app)
        self._next_month(app)

        sent = {code: app.remit(code, "2026-11") for code in LEVELS}

        assert sent["HN-BD-01"].amount == 73_500 - 24_500
        assert sent["HN-BD-01"].offset == 24_500
        assert sent["HN-BD-01"].offsets == [["2026-10", 24_500]]
        for code in LEVELS:
            figures = app.balance(code)
            assert figures["remitted_to_parent"] == figures["payable_to_parent"], code
            assert org_balances(app, code)["liabilities:payable_to_parent"] == 0, code
        retained = sum(app.balance(c)["retained"] for c in (*LEVELS, "TW"))
        assert retained == DUES // 2 + DUES + DUES // 2  # October 35,000; November 105,000

    def test_remitting_again_changes_nothing(self, app: DuesLedger) -> None:
        self._cut_after_remitting(app)
        self._next_month(app)
        app.remit("HN-BD-01", "2026-11")
        before = written(app)

        again = app.remit("HN-BD-01", "2026-11")
        october = app.remit("HN-BD-01", "2026-10")

        assert (again.amount, again.offset, october.amount, october.over_remitted) == (0, 0, 0, 0)
        assert written(app) == before

    def test_a_month_too_small_carries_the_rest_to_the_next(self, app: DuesLedger) -> None:
        self._cut_after_remitting(app)
        app.open_month("2026-11")  # only M0's credit pays: November's payable is 24,500 đ
        app.close_month("2026-11", "HN")
        app.change_income("M0", "social_insured", 1_000_000, "2026-10")  # October 10,000 đ
        # October's payable is now 7,000 đ (42,000 đ over); November's 7,000 đ

        november = app.remit("HN-BD-01", "2026-11")
        assert (november.amount, november.offset) == (0, november.payable)
        app.open_month("2026-12")
        app.pay("M1", DUES, reference="P3", months=["2026-12"])
        app.close_month("2026-12", "HN")
        december = app.remit("HN-BD-01", "2026-12")

        assert december.offset == 42_000 - november.payable
        assert december.offsets == [["2026-10", 42_000 - november.payable]]
        figures = app.balance("HN-BD-01")
        assert figures["remitted_to_parent"] == figures["payable_to_parent"]

    def test_money_paid_late_for_the_netted_month_is_sent_for_it(self, app: DuesLedger) -> None:
        self._cut_after_remitting(app)
        self._next_month(app)
        app.remit("HN-BD-01", "2026-11")

        app.pay("M2", DUES, reference="LATE", months=["2026-10"])

        assert app.remit("HN-BD-01", "2026-10").amount == 49_000

    def test_a_bank_reversal_after_remitting_is_deducted_and_the_read_models_agree(
        self, app: DuesLedger
    ) -> None:
        from projections.reads import Reads
        from tests.integration.test_reconciliation import BIN, BRANCH_ACCOUNT, line, paying

        app.add_account("HN-BD-01", BIN, BRANCH_ACCOUNT, "CHI BO KHU PHO 1", "organisation")
        app.open_month("2026-11")
        app.pay("M1", DUES, reference="P1")
        app.record_bank_transaction(paying(app.member_request("M0"), DUES, "FT26349000901"))
        app.close_month("2026-11", "HN")
        for code in LEVELS:
            app.remit(code, "2026-11")
        back = line(DUES, "HOAN TRA GD FT26349000901", direction="out", reference="FT2634988001")
        app.record_bank_transaction(back)  # M0's November is owed again
        app.open_month("2026-12")
        app.pay("M2", DUES, reference="P2", months=["2026-12"])
        app.close_month("2026-12", "HN")

        sent = {code: app.remit(code, "2026-12") for code in LEVELS}

        assert sent["HN-BD-01"].offsets == [["2026-11", 49_000]]
        assert sent["HN-BD-01"].amount == 0  # December's 49,000 đ all settled by November's
        reads = Reads(app)
        try:
            for code in LEVELS:
                core = app.balance(code)
                assert core["remitted_to_parent"] == core["payable_to_parent"], code
                assert org_balances(app, code)["liabilities:payable_to_parent"] == 0, code
                for period in ("2026-11", "2026-12"):
                    want, got = app.balance(code, period), reads.balance(code, period)
                    for key in ("retained", "payable_to_parent", "remitted_to_parent"):
                        assert got[key] == want[key], (code, period, key)
        finally:
            reads.close()
