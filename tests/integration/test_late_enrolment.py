"""A member enrolled into months their branch has already opened owes those months.

Before, such a member was never assessed for them: `month open` had passed, and
nothing else assessed a month, so no request asked for it and the branch's figures
left it out (a review found it; docs/policy.md, "Late enrolment")."""

from __future__ import annotations

import pytest

from api.audit import verify
from ledger.app import DuesLedger
from ledger.ids import register_id, roll_id
from ledger.register import Register
from projections.reads import Reads
from tests.builders import member_row, month_of, small_ledger
from tests.integration.test_statement_chunks import from_events, state


@pytest.fixture
def opened(ledger: DuesLedger) -> DuesLedger:
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", "970436", "1012345678", "CHI BO KHU PHO 1", "organisation")
    ledger.open_month("2026-12")
    return ledger


def enrol(app: DuesLedger, code: str = "M9", **kw: str) -> tuple[tuple[str, str, int], ...]:
    return app.import_members([(2, member_row(code, "HN-BD-01", **kw))]).assessed_late


class TestEnrolledAfterTheMonthOpened:
    def test_the_month_is_assessed_as_arrears(self, opened: DuesLedger) -> None:
        assert enrol(opened, joined="2026-12-05") == (("M9", "2026-12", 70_000),)
        assert month_of(opened, "M9", "2026-12")["assessed"] == 70_000
        reads = Reads(opened)
        try:
            reads.catch_up()
            [month] = reads.member_statement("M9")["months"]
            assert (month["assessed_at_opening"], month["arrears"]) == (0, 70_000)
            assert reads.balance("HN-BD-01", "2026-12")["assessed"] == 3 * 70_000 + 70_000
        finally:
            reads.close()
        assert opened.member_statement("M9")["outstanding"] == 70_000
        [(_, months, amount)] = opened.member_request("M9").items
        assert (months, amount) == (["2026-12"], 70_000)

    def test_the_branchs_books_hold_it(self, opened: DuesLedger) -> None:
        before = opened.account_balances()
        enrol(opened)
        after = opened.account_balances()
        assert after["HN-BD-01:assets:receivable:M9"] == 70_000
        assert sum(after.values()) == sum(before.values()) == 0

    def test_what_was_enrolled_is_stored_as_it_was(self, opened: DuesLedger) -> None:
        # the enrolment's event held the member's record while the assessment changed it:
        # it must not be stored with the month already owed (replayed, owed twice)
        enrol(opened)
        register = opened.get_or_none(register_id("HN-BD-01"), Register)
        assert register is not None
        assert state(from_events(opened, register.id)) == state(register)
        assert from_events(opened, register.id).members["M9"]["unpaid"] == [
            ["HN-BD-01", "2026-12", 70_000]
        ]
        roll = from_events(opened, roll_id("HN-BD-01", "2026-12"))
        assert roll.lines["M9"]["assessed"] == 70_000
        assert verify(opened).sound

    def test_paid_it_is_paid(self, opened: DuesLedger) -> None:
        enrol(opened)
        opened.pay("M9", 70_000, reference="CASH-M9")
        assert month_of(opened, "M9", "2026-12")["outstanding"] == 0

    def test_a_closed_month_paid_later_is_allocated(self, opened: DuesLedger) -> None:
        opened.close_month("2026-12", "HN-BD")
        enrol(opened)
        opened.pay("M9", 70_000, reference="CASH-M9")
        balances = opened.account_balances()
        assert sum(balances.values()) == 0
        assert month_of(opened, "M9", "2026-12")["outstanding"] == 0
        assert balances.get("HN-BD-01:assets:receivable:M9", 0) == 0

    def test_from_a_later_month_nothing_is_owed_now(self, opened: DuesLedger) -> None:
        rows = [(2, member_row("M9", "HN-BD-01"))]
        assert opened.import_members(rows, from_period="2027-01").assessed_late == ()
        assert opened.member_statement("M9")["months"] == []

    def test_importing_again_changes_nothing(self, opened: DuesLedger) -> None:
        enrol(opened)
        head = opened.recorder.max_notification_id()
        again = opened.import_members([(2, member_row("M9", "HN-BD-01"))])
        assert (again.created, again.unchanged, again.assessed_late) == (0, 1, ())
        assert opened.recorder.max_notification_id() == head
        assert opened.member_statement("M9")["outstanding"] == 70_000

    def test_an_exempt_member_is_listed_at_nothing(self, opened: DuesLedger) -> None:
        # 50 years in the party: exempt, on the roll at 0 đ, nothing owed
        assert enrol(opened, joined="1970-01-01") == (("M9", "2026-12", 0),)
        assert opened.member_statement("M9")["outstanding"] == 0
