"""Members and the tree over time, on SQLite and PostgreSQL.

Back-dated income changes, exemptions and reductions, transfers, leaving the
party list, personal data at rest, and the tree as it was in any month. Members
pay 1% of 7,000,000 đ (70,000 đ a month) unless a test changes it.
"""

from __future__ import annotations

import pytest

from ledger.app import DuesLedger
from ledger.errors import Conflict, PolicyError
from ledger.ids import member_id, roll_id
from ledger.member import mask_national_id
from ledger.roll import Roll
from tests.builders import (
    member_row,
    month_of,
    numbered,
    org_balances,
    org_rows,
    small_ledger,
    unbalanced_events,
    written,
)

DUES = 70_000
NATIONAL_ID = "001203004567"


def codes(app: DuesLedger, period: str, under: str | None = None) -> list[str]:
    return [o.code for o in app.subtree(period, under)]


@pytest.fixture
def app(ledger: DuesLedger) -> DuesLedger:
    return small_ledger(ledger)


class TestBackDatedIncomeChange:
    """The payroll office reports in December that October's salary was different."""

    @pytest.fixture
    def october_closed(self, app: DuesLedger) -> DuesLedger:
        app.open_month("2026-10")
        app.pay("M0", DUES, reference="P-OCT")
        app.close_month("2026-10", "HN")
        app.open_month("2026-11")
        return app

    def test_a_raise_into_a_closed_month_is_owed_as_arrears(
        self, october_closed: DuesLedger
    ) -> None:
        october_closed.change_income("M0", "social_insured", 9_000_000, "2026-10")

        october = month_of(october_closed, "M0", "2026-10")
        assert (october["assessed"], october["paid"], october["outstanding"]) == (
            90_000,
            DUES,
            20_000,
        )
        assert month_of(october_closed, "M0", "2026-11")["assessed"] == 90_000
        assert org_balances(october_closed, "HN-BD-01")["assets:receivable:M0"] == 20_000 + 90_000
        balance = october_closed.balance("HN-BD-01", "2026-10")
        assert (balance["retained"], balance["payable_to_parent"]) == (21_000, 49_000)
        assert unbalanced_events(october_closed) == []

    def test_a_raise_is_paid_from_the_credit_the_member_holds(
        self, october_closed: DuesLedger
    ) -> None:
        """M0 paid November and 50,000 ahead; October and November each ask 20,000 more.
        The credit pays both, oldest first, as opening a month pays it from credit; October
        is closed, so its 20,000 is allocated at once (30/70)."""
        october_closed.pay("M0", DUES + 50_000, reference="P-NOV")

        october_closed.change_income("M0", "social_insured", 9_000_000, "2026-10")

        for period in ("2026-10", "2026-11"):
            month = month_of(october_closed, "M0", period)
            assert (month["assessed"], month["paid"], month["outstanding"]) == (90_000, 90_000, 0)
        assert october_closed.member_statement("M0")["credit"] == 10_000
        branch = org_balances(october_closed, "HN-BD-01")
        assert branch.get("assets:receivable:M0", 0) == 0
        assert branch["liabilities:prepaid:M0"] == -10_000
        balance = october_closed.balance("HN-BD-01", "2026-10")
        assert (balance["collected"], balance["retained"], balance["payable_to_parent"]) == (
            90_000,
            27_000,
            63_000,
        )
        assert unbalanced_events(october_closed) == []
        assert sum(october_closed.account_balances().values()) == 0
        applied = [e for e in october_closed.iter_events() if type(e).__name__ == "CreditApplied"]
        assert len(applied) == 3  # each month's roll, and the register once
        # the same facts again: nothing more owed, so no credit used
        october_closed.change_income("M0", "social_insured", 9_000_000, "2026-10")
        again = [e for e in october_closed.iter_events() if type(e).__name__ == "CreditApplied"]
        assert len(again) == 3
        assert october_closed.member_statement("M0")["credit"] == 10_000

    def test_a_cut_into_a_closed_month_becomes_credit_taken_from_its_allocation(
        self, october_closed: DuesLedger
    ) -> None:
        october_closed.change_income("M0", "social_insured", 5_000_001, "2026-10")

        october = month_of(october_closed, "M0", "2026-10")
        assert (october["assessed"], october["paid"], october["outstanding"]) == (50_000, 50_000, 0)
        # the 20,000 freed is credit, and pays November (owed) at once, as opening it would
        november = month_of(october_closed, "M0", "2026-11")
        assert (november["assessed"], november["paid"], november["outstanding"]) == (
            50_000,
            20_000,
            30_000,
        )
        assert october_closed.member_statement("M0")["credit"] == 0
        balance = october_closed.balance("HN-BD-01", "2026-10")
        # The 20,000 đ refunded comes back out of October at its 30/70 share.
        assert (balance["collected"], balance["retained"], balance["payable_to_parent"]) == (
            50_000,
            15_000,
            35_000,
        )
        branch = org_balances(october_closed, "HN-BD-01")
        assert branch.get("liabilities:prepaid:M0", 0) == 0
        assert branch["assets:receivable:M0"] == 30_000
        assert branch["equity:retained"] == -15_000
        assert branch["liabilities:payable_to_parent"] == -35_000
        assert unbalanced_events(october_closed) == []
        assert sum(october_closed.account_balances().values()) == 0

    def test_a_cut_into_an_open_month_frees_what_was_paid_beyond_it(
        self, october_closed: DuesLedger
    ) -> None:
        october_closed.pay("M1", 2 * DUES, reference="P-M1")

        october_closed.change_income("M1", "social_insured", 6_000_000, "2026-11")

        november = month_of(october_closed, "M1", "2026-11")
        assert (november["assessed"], november["paid"]) == (60_000, 60_000)
        assert october_closed.member_statement("M1")["credit"] == 10_000
        assert october_closed.balance("HN-BD-01", "2026-10")["retained"] == 21_000 + 21_000
        assert unbalanced_events(october_closed) == []


class TestExemptionsAndReductions:
    def test_a_full_exemption_makes_the_months_it_covers_free(self, app: DuesLedger) -> None:
        app.grant_exemption("M0", "poor_household", 100, "QĐ 12/ĐU", "2026-10", "2026-10")
        app.open_month("2026-10")
        app.open_month("2026-11")

        october = month_of(app, "M0", "2026-10")
        assert (october["assessed"], october["exempt"], october["rule"]) == (
            0,
            "poor_household",
            "exempt/poor_household",
        )
        assert month_of(app, "M0", "2026-11")["assessed"] == DUES

    @pytest.mark.parametrize(("percent", "owed"), [(30, 49_000), (50, 35_000), (70, 21_000)])
    def test_a_hardship_reduction_applies_until_its_end_month(
        self, app: DuesLedger, percent: int, owed: int
    ) -> None:
        app.grant_exemption("M1", "hardship", percent, "QĐ 7/CB", "2026-10", "2026-11")
        for period in ("2026-10", "2026-11", "2026-12"):
            app.open_month(period)

        owed_by_month = [month_of(app, "M1", p)["assessed"] for p in ("2026-10", "2026-11")]
        assert owed_by_month == [owed, owed]
        assert month_of(app, "M1", "2026-10")["reduction_percent"] == percent
        assert month_of(app, "M1", "2026-12")["assessed"] == DUES

    def test_an_exemption_granted_late_adjusts_months_already_open(self, app: DuesLedger) -> None:
        app.open_month("2026-10")

        app.grant_exemption("M2", "hardship", 50, "QĐ 8/CB", "2026-10", "2026-12")

        assert month_of(app, "M2", "2026-10")["outstanding"] == 35_000
        assert org_balances(app, "HN-BD-01")["assets:receivable:M2"] == 35_000

    def test_hardship_longer_than_twelve_months_is_refused(self, app: DuesLedger) -> None:
        app.open_month("2026-10")
        before = written(app)

        with pytest.raises(PolicyError):
            app.grant_exemption("M0", "hardship", 100, "QĐ 9/CB", "2026-10", "2027-10")
        assert written(app) == before
        app.grant_exemption("M0", "hardship", 100, "QĐ 9/CB", "2026-10", "2027-09")

    def test_fifty_years_of_membership_exempts_from_the_anniversary_month(
        self, ledger: DuesLedger
    ) -> None:
        ledger.import_orgs(org_rows())
        ledger.import_members(numbered([member_row("OLD", "HN-BD-01", joined="1976-11-20")]))
        ledger.open_month("2026-10")
        ledger.open_month("2026-11")

        assert month_of(ledger, "OLD", "2026-10")["assessed"] == DUES
        november = month_of(ledger, "OLD", "2026-11")
        assert (november["assessed"], november["exempt"]) == (0, "fifty_years_membership")


class TestOfficialTransfer:
    """M1 moves from branch 01 to branch 02 from December, owing October, with credit."""

    @pytest.fixture
    def moved(self, app: DuesLedger) -> DuesLedger:
        app.open_month("2026-10")
        app.open_month("2026-11")
        app.pay("M1", 100_000, reference="P-NOV", months=["2026-11"])
        app.transfer_member("M1", "HN-BD-02", "2026-12")
        return app

    def test_credit_and_unpaid_months_move_with_the_member(self, moved: DuesLedger) -> None:
        statement = moved.member_statement("M1")
        assert statement["branch"] == "HN-BD-02"
        assert statement["credit"] == 30_000
        assert [(m["period"], m["branch"], m["outstanding"]) for m in statement["months"]] == [
            ("2026-10", "HN-BD-01", DUES),
            ("2026-11", "HN-BD-01", 0),
        ]

    def test_the_new_branch_assesses_from_the_transfer_month(self, moved: DuesLedger) -> None:
        moved.open_month("2026-12")

        december = month_of(moved, "M1", "2026-12")
        assert (december["branch"], december["paid"], december["outstanding"]) == (
            "HN-BD-02",
            30_000,
            40_000,
        )
        old_roll = moved.get_or_none(roll_id("HN-BD-01", "2026-12"), Roll)
        assert old_roll is not None
        assert "M1" not in old_roll.lines

    def test_the_credit_moved_is_owed_by_the_old_branch_to_the_new(self, moved: DuesLedger) -> None:
        moved.open_month("2026-12")

        old, new = org_balances(moved, "HN-BD-01"), org_balances(moved, "HN-BD-02")
        assert old["liabilities:prepaid:M1"] == 0
        assert new["liabilities:prepaid:M1"] == 0
        assert (old["liabilities:due_to:HN-BD-02"], new["assets:due_from:HN-BD-01"]) == (
            -30_000,
            30_000,
        )
        assert unbalanced_events(moved) == []

    def test_arrears_paid_at_the_new_branch_are_owed_to_the_old_one(
        self, moved: DuesLedger
    ) -> None:
        result = moved.pay("M1", DUES, reference="P-ARREARS")

        assert result.applied == [["HN-BD-01", "2026-10", DUES]]
        old, new = org_balances(moved, "HN-BD-01"), org_balances(moved, "HN-BD-02")
        assert old["assets:receivable:M1"] == 0
        assert old["assets:due_from:HN-BD-02"] == DUES
        assert new["liabilities:due_to:HN-BD-01"] == -DUES
        assert new["assets:bank"] == DUES
        assert moved.balance("HN-BD-01", "2026-10")["collected"] == DUES


class TestTransferRecordedAhead:
    """The papers arrive in December for a transfer from January; December is opened after."""

    @pytest.fixture
    def ahead(self, app: DuesLedger) -> DuesLedger:
        """A transfer from January recorded in November, before December is opened."""
        app.open_month("2026-11")
        app.transfer_member("M1", "HN-BD-02", "2027-01")
        app.open_month("2026-12")
        return app

    def test_the_member_still_owes_december_at_the_old_branch(self, ahead: DuesLedger) -> None:
        december = month_of(ahead, "M1", "2026-12")

        assert (december["branch"], december["outstanding"]) == ("HN-BD-01", DUES)

    def test_a_payment_reaches_the_month_opened_after_the_transfer_was_recorded(
        self, ahead: DuesLedger
    ) -> None:
        result = ahead.pay("M1", 2 * DUES, reference="P-BOTH")

        assert result.applied == [["HN-BD-01", "2026-11", DUES], ["HN-BD-01", "2026-12", DUES]]
        assert ahead.member_statement("M1")["outstanding"] == 0

    def test_an_income_change_before_the_transfer_reaches_both_branches(
        self, ahead: DuesLedger
    ) -> None:
        ahead.change_income("M1", "social_insured", 9_000_000, "2026-12")
        ahead.open_month("2027-01")

        assert month_of(ahead, "M1", "2026-12")["assessed"] == 90_000
        assert month_of(ahead, "M1", "2027-01")["assessed"] == 90_000


class TestCreditOfATransferRecordedAhead:
    def test_the_old_branch_month_is_paid_from_the_credit_that_moved(self, app: DuesLedger) -> None:
        """A CLI check: M1 paid October and 70,000 ahead; the transfer to HN-BD-02 from
        December is recorded in October, and the credit moves with the papers. Opening
        November at HN-BD-01 found no credit there: November owed beside 70,000 of credit."""
        app.open_month("2026-10")
        app.pay("M1", 2 * DUES, reference="P-AHEAD")
        app.transfer_member("M1", "HN-BD-02", "2026-12")
        app.open_month("2026-11")

        november = month_of(app, "M1", "2026-11")
        assert (november["branch"], november["paid"], november["outstanding"]) == (
            "HN-BD-01",
            DUES,
            0,
        )
        assert app.member_statement("M1")["credit"] == 0
        balances = app.account_balances()
        assert balances.get("HN-BD-02:liabilities:prepaid:M1", 0) == 0
        assert balances.get("HN-BD-01:assets:receivable:M1", 0) == 0
        # what each owes the other adds up to nothing: the money and the month are both
        # at HN-BD-01
        owes = -balances.get("HN-BD-01:liabilities:due_to:HN-BD-02", 0) - balances.get(
            "HN-BD-01:assets:due_from:HN-BD-02", 0
        )
        assert owes == 0
        assert unbalanced_events(app) == [] and sum(balances.values()) == 0
        app.open_month("2026-12")  # at the new branch, with nothing left ahead
        assert month_of(app, "M1", "2026-12")["outstanding"] == DUES


class TestMembershipChanges:
    def test_temporary_attendance_is_recorded_but_dues_stay_at_home(self, app: DuesLedger) -> None:
        app.attend_temporarily("M0", "HN-BD-02", "2026-12", "2027-05")
        app.open_month("2026-12")

        assert app.get_member("M0").attendance == [["HN-BD-02", "2026-12", "2027-05"]]
        assert month_of(app, "M0", "2026-12")["branch"] == "HN-BD-01"

    def test_paid_through_stops_at_the_last_month_on_the_list(self, app: DuesLedger) -> None:
        """A CLI check: a member ended from February, with credit for three months ahead,
        was shown paid through April."""
        from projections.reads import Reads

        app.open_month("2026-12")
        app.pay("M0", 4 * DUES, reference="P-AHEAD")
        app.end_membership("M0", "2027-02", "xóa tên")
        assert app.member_statement("M0")["paid_through"] == "2027-01"
        reads = Reads(app)
        try:
            assert reads.member_statement("M0")["paid_through"] == "2027-01"
        finally:
            reads.close()

    def test_months_opened_from_the_end_are_no_longer_owed_on_the_books(
        self, app: DuesLedger
    ) -> None:
        """A CLI check: a member ended from a month already opened showed nothing owed on
        their statement, but the branch's outstanding kept their dues for each month, and
        nothing could pay it. The unpaid part is withdrawn; what was paid stays paid."""
        from projections.reads import Reads

        app.open_month("2026-10")
        app.open_month("2026-11")
        app.open_month("2026-12")
        app.pay("M1", DUES + 30_000, reference="P-M1")  # October, and 30,000 of November
        app.close_month("2026-11", "HN")
        app.end_membership("M1", "2026-10", "xóa tên")
        others = 2 * DUES  # M0 and M2, each month
        reads = Reads(app)
        try:
            for period, paid in (("2026-10", DUES), ("2026-11", 30_000), ("2026-12", 0)):
                core, read = app.balance("HN-BD-01", period), reads.balance("HN-BD-01", period)
                assert (core["assessed"], core["outstanding"]) == (others + paid, others)
                assert (read["assessed"], read["outstanding"]) == (others + paid, others)
                roll = app.get_or_none(roll_id("HN-BD-01", period), Roll)
                assert roll is not None and roll.owed_by("M1") == 0
            statement = app.member_statement("M1")
            assert statement["outstanding"] == reads.member_statement("M1")["outstanding"] == 0
        finally:
            reads.close()
        assert org_balances(app, "HN-BD-01")["assets:receivable:M1"] == 0
        assert app.get_or_none(roll_id("HN-BD-01", "2026-11"), Roll).lines["M1"]["paid"] == 30_000  # type: ignore[union-attr]
        assert unbalanced_events(app) == []
        before = written(app)
        with pytest.raises(Conflict):  # a retry is refused and writes nothing
            app.end_membership("M1", "2026-10", "xóa tên")
        assert written(app) == before

    def test_a_member_whose_membership_ended_cannot_pay(self, app: DuesLedger) -> None:
        app.open_month("2026-11")
        app.end_membership("M0", "2026-12", "xóa tên")
        app.open_month("2026-12")
        before = written(app)

        with pytest.raises(Conflict):
            app.pay("M0", DUES, reference="P-GONE")
        assert written(app) == before
        assert [m["period"] for m in app.member_statement("M0")["months"]] == ["2026-11"]
        assert app.open_month("2027-01").members == 4


class TestPersonalData:
    @pytest.fixture
    def with_id(self, ledger: DuesLedger) -> DuesLedger:
        ledger.import_orgs(org_rows())
        ledger.import_members(numbered([member_row("ID1", "HN-BD-01", national_id=NATIONAL_ID)]))
        return ledger

    def test_the_national_id_is_stored_only_encrypted(self, with_id: DuesLedger) -> None:
        stored = with_id.recorder.select_events(member_id("ID1"))
        everything = with_id.recorder.select_notifications(start=1, limit=10_000)

        assert stored
        assert all(NATIONAL_ID.encode() not in e.state for e in stored)
        assert all(NATIONAL_ID.encode() not in n.state for n in everything)
        assert with_id.get_member("ID1").national_id_encrypted not in (None, NATIONAL_ID)

    def test_the_national_id_decrypts_for_authorised_use_and_masks_to_the_last_four(
        self, with_id: DuesLedger
    ) -> None:
        plain = with_id.national_id_of("ID1")

        assert plain == NATIONAL_ID
        assert mask_national_id(plain) == "********4567"


class TestTheTreeOverTime:
    @pytest.fixture
    def two_wards(self, app: DuesLedger) -> DuesLedger:
        app.import_orgs(
            org_rows([("HN-HK", "Đảng ủy phường Hoàn Kiếm", "grassroots_committee", "HN")])
        )
        return app

    def test_a_move_under_another_parent_takes_effect_from_its_month(
        self, two_wards: DuesLedger
    ) -> None:
        two_wards.move_org("HN-BD-02", "HN-HK", "2027-01")

        assert codes(two_wards, "2026-12", "HN-BD") == ["HN-BD", "HN-BD-01", "HN-BD-02"]
        assert codes(two_wards, "2027-01", "HN-BD") == ["HN-BD", "HN-BD-01"]
        assert codes(two_wards, "2027-01", "HN-HK") == ["HN-HK", "HN-BD-02"]
        branch = two_wards.get_org("HN-BD-02")
        assert (branch.parent_at("2026-12"), branch.parent_at("2027-01")) == ("HN-BD", "HN-HK")

    def test_remittance_follows_the_parent_of_that_month(self, two_wards: DuesLedger) -> None:
        two_wards.move_org("HN-BD-02", "HN-HK", "2027-01")
        for period in ("2026-12", "2027-01"):
            two_wards.open_month(period)
            two_wards.pay("M3", DUES, reference=f"P-{period}", months=[period])
            two_wards.close_month(period, "HN")

        parents = [two_wards.remit("HN-BD-02", p).parent_code for p in ("2026-12", "2027-01")]

        assert parents == ["HN-BD", "HN-HK"]

    def test_a_committee_keeps_its_retained_fund_after_its_branches_move_away(
        self, two_wards: DuesLedger
    ) -> None:
        two_wards.open_month("2026-10")
        two_wards.pay("M0", DUES, reference="P-OCT")
        two_wards.close_month("2026-10", "HN")
        two_wards.remit("HN-BD-01", "2026-10")
        for branch in ("HN-BD-01", "HN-BD-02"):
            two_wards.move_org(branch, "HN-HK", "2026-11")

        assert two_wards.balance("HN-BD")["retained_available"] == 24_500
        assert two_wards.spend("HN-BD", 24_500, "Khen thưởng", "PC-BD-1") is True

    def test_merging_moves_children_and_members(self, two_wards: DuesLedger) -> None:
        two_wards.merge_org("HN-BD-02", "HN-BD-01", "2027-01")
        two_wards.merge_org("HN-HK", "HN-BD", "2027-01")

        assert codes(two_wards, "2027-01", "HN") == ["HN", "HN-BD", "HN-BD-01"]
        assert two_wards.get_member("M3").branch_at("2027-01") == "HN-BD-01"
        assert two_wards.get_member("M3").branch_at("2026-12") == "HN-BD-02"
        result = two_wards.open_month("2027-01")
        assert (result.branches, result.members) == (1, 5)

    def test_merging_a_committee_moves_its_branches(self, two_wards: DuesLedger) -> None:
        two_wards.merge_org("HN-BD", "HN-HK", "2027-01")

        assert codes(two_wards, "2027-01", "HN") == ["HN", "HN-HK", "HN-BD-01", "HN-BD-02"]
        assert codes(two_wards, "2026-12", "HN") == [
            "HN",
            "HN-BD",
            "HN-HK",
            "HN-BD-01",
            "HN-BD-02",
        ]

    def test_dissolving_a_branch_with_members_is_refused(self, app: DuesLedger) -> None:
        before = written(app)

        with pytest.raises(Conflict):
            app.dissolve_org("HN-BD-02", "2027-01")
        with pytest.raises(Conflict):
            app.dissolve_org("HN-BD", "2027-01")
        assert written(app) == before

    def test_a_branch_emptied_by_transfers_can_be_dissolved(self, app: DuesLedger) -> None:
        for code in ("M3", "M4"):
            app.transfer_member(code, "HN-BD-01", "2027-01")

        app.dissolve_org("HN-BD-02", "2027-01")

        assert codes(app, "2027-01", "HN-BD") == ["HN-BD", "HN-BD-01"]

    def test_the_tree_of_an_earlier_month_is_kept(self, two_wards: DuesLedger) -> None:
        whole_before = codes(two_wards, "2026-06")
        two_wards.move_org("HN-BD-02", "HN-HK", "2027-01")
        two_wards.merge_org("HN-HK", "HN-BD", "2027-03")

        assert codes(two_wards, "2026-06") == whole_before
        assert codes(two_wards, "2027-01", "HN-HK") == ["HN-HK", "HN-BD-02"]
        assert codes(two_wards, "2027-03", "HN-BD") == ["HN-BD", "HN-BD-01", "HN-BD-02"]
