"""Payment requests by VietQR: a member's and a pay-on-behalf batch, settled from bank notifications.

Runs on SQLite and PostgreSQL (the `ledger` fixture)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from ledger.app import DuesLedger
from ledger.errors import Conflict, NotFound
from ledger.payment_request import PaymentRequest
from ledger.period import add_months
from ledger.ports import BankTransactionFact
from payment_gateways.vietqr import decode
from tests.builders import small_ledger

ORG_ACCOUNT = ("970436", "1012345678")
_ids = count(1)


def fact(
    request: PaymentRequest, amount: int, *, account: str | None = None, tx: str | None = None
) -> BankTransactionFact:
    return BankTransactionFact(
        source="sepay",
        external_id=tx or f"TX{next(_ids)}",
        bin_code=None,
        account_number=account or request.target["account_number"],
        direction="in",
        amount=amount,
        value_date="2026-12-15",
        narrative=f"MBVCB.4525077405.{request.code.lower()} DP 12 2026.CT tu 0351000646393 NGUYEN VAN A",
    )


@pytest.fixture
def branch(ledger: DuesLedger) -> DuesLedger:
    small_ledger(ledger)
    ledger.add_account("HN-BD-01", *ORG_ACCOUNT, "CHI BO KHU PHO 1", "organisation")
    ledger.open_month("2026-12")
    return ledger


class TestAMemberPaysByQR:
    def test_the_request_asks_the_ledgers_amount_into_the_organisation_account(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        qr = decode(request.payload)
        assert (qr.bin, qr.account, qr.amount) == (*ORG_ACCOUNT, 70_000)
        assert qr.purpose is not None and qr.purpose.startswith(request.code)
        assert branch.request_status(request.code)["status"] == "open"

    def test_paying_it_settles_the_month_once_even_if_notified_three_times(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        notification = fact(request, 70_000, tx="SEPAY-1")
        assert branch.record_bank_transaction(notification)[1] is True
        assert branch.record_bank_transaction(notification)[1] is False
        assert branch.record_bank_transaction(notification)[1] is False
        statement = branch.member_statement("M0")
        assert statement["months"][0]["paid"] == 70_000 and statement["credit"] == 0
        assert branch.request_status(request.code)["status"] == "paid"

    def test_money_into_another_account_is_recorded_but_settles_nothing(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        tx, created = branch.record_bank_transaction(fact(request, 70_000, account="9999999999"))
        assert created and tx.matched is None
        assert branch.member_statement("M0")["months"][0]["paid"] == 0
        assert branch.request_status(request.code)["status"] == "open"

    def test_paying_less_leaves_the_rest_owed_and_more_becomes_credit(
        self, branch: DuesLedger
    ) -> None:
        short = branch.member_request("M0")
        branch.record_bank_transaction(fact(short, 30_000))
        assert branch.request_status(short.code)["status"] == "partly_paid"
        assert branch.member_statement("M0")["outstanding"] == 40_000
        over = branch.member_request("M1")
        branch.record_bank_transaction(fact(over, 100_000))
        assert branch.member_statement("M1")["credit"] == 30_000

    def test_paying_months_ahead_asks_for_them_and_keeps_the_money_as_credit(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M2", months_ahead=2)
        assert request.total == 3 * 70_000
        assert request.items[0][1] == ["2026-12", "2027-01", "2027-02"]
        branch.record_bank_transaction(fact(request, request.total))
        statement = branch.member_statement("M2")
        assert statement["credit"] == 140_000 and statement["paid_through"] == "2027-02"

    def test_an_expired_request_still_records_the_money(
        self, branch: DuesLedger, frozen: object
    ) -> None:
        request = branch.member_request("M0", expires_in_days=1)
        frozen.tick(timedelta(days=2))  # type: ignore[attr-defined]
        assert branch.request_status(request.code)["status"] == "expired"
        branch.record_bank_transaction(fact(request, 70_000))
        status = branch.request_status(request.code)
        assert (
            status["status"] == "paid" and status["transfers"][0]["status_at_receipt"] == "expired"
        )

    def test_a_cancelled_request_still_records_money_that_arrives(self, branch: DuesLedger) -> None:
        request = branch.member_request("M0")
        branch.cancel_request(request.code, "member paid cash")
        assert branch.request_status(request.code)["status"] == "cancelled"
        branch.record_bank_transaction(fact(request, 70_000))
        assert branch.member_statement("M0")["paid"] == 70_000

    def test_a_member_who_owes_nothing_gets_no_request(self, branch: DuesLedger) -> None:
        branch.pay("M0", 70_000, reference="CASH-1", channel="cash")
        with pytest.raises(Conflict):
            branch.member_request("M0")


class TestPayOnBehalf:
    def test_one_transfer_is_split_across_the_listed_members_exactly(
        self, branch: DuesLedger
    ) -> None:
        request = branch.batch_request("Bí thư chi bộ", ["M0", "M1", "M2"])
        assert request.total == 210_000
        branch.record_bank_transaction(fact(request, 210_000))
        assert [branch.member_statement(m)["outstanding"] for m in ("M0", "M1", "M2")] == [0, 0, 0]

    def test_a_short_batch_is_split_in_proportion_and_adds_up(self, branch: DuesLedger) -> None:
        request = branch.batch_request("Cơ quan", ["M0", "M1", "M2"], kind="payroll")
        branch.record_bank_transaction(fact(request, 100_000))
        paid = [branch.member_statement(m)["paid"] for m in ("M0", "M1", "M2")]
        assert sum(paid) == 100_000 and max(paid) - min(paid) <= 1
        assert branch.request_status(request.code)["status"] == "partly_paid"

    def test_money_beyond_the_batch_is_held_for_the_treasurer(self, branch: DuesLedger) -> None:
        request = branch.batch_request("Bí thư chi bộ", ["M0", "M1"])
        branch.record_bank_transaction(fact(request, 150_000))
        status = branch.request_status(request.code)
        assert status["held"] == 10_000 and status["status"] == "paid"
        assert branch.member_statement("M0")["credit"] == 0
        assert sum(branch.account_balances().values()) == 0

    def test_a_second_transfer_for_a_paid_batch_pays_nobody_twice(self, branch: DuesLedger) -> None:
        request = branch.batch_request("Bí thư chi bộ", ["M0", "M1"])
        branch.record_bank_transaction(fact(request, 140_000))
        branch.record_bank_transaction(fact(request, 140_000))
        assert branch.member_statement("M0")["paid"] == 70_000
        assert branch.request_status(request.code)["held"] == 140_000

    def test_members_of_different_branches_need_separate_requests(self, branch: DuesLedger) -> None:
        with pytest.raises(Conflict):
            branch.batch_request("Bí thư", ["M0", "M4"])


class TestTargetAccount:
    def test_a_personal_account_is_refused_without_an_override(self, ledger: DuesLedger) -> None:
        small_ledger(ledger)
        ledger.add_account("HN-BD-01", "970422", "0351000646393", "NGUYEN VAN THU QUY", "personal")
        ledger.open_month("2026-12")
        before = ledger.recorder.max_notification_id()
        with pytest.raises(Conflict) as refused:
            ledger.member_request("M0")
        assert "personal" in refused.value.message_en and "cá nhân" in refused.value.message_vi
        assert ledger.recorder.max_notification_id() == before

    def test_an_override_is_recorded_as_its_own_event_for_inspection(
        self, ledger: DuesLedger
    ) -> None:
        small_ledger(ledger)
        ledger.add_account("HN-BD-01", "970422", "0351000646393", "NGUYEN VAN THU QUY", "personal")
        ledger.open_month("2026-12")
        request = ledger.member_request("M0", override_reason="chưa mở tài khoản tổ chức")
        overrides = [
            e for e in ledger.iter_events() if isinstance(e, PaymentRequest.TargetOverridden)
        ]
        assert [(e.originator_id, e.holder_kind) for e in overrides] == [(request.id, "personal")]  # type: ignore[attr-defined]

    def test_a_branch_without_any_account_cannot_ask_for_money(self, ledger: DuesLedger) -> None:
        small_ledger(ledger)
        ledger.open_month("2026-12")
        with pytest.raises(Conflict):
            ledger.member_request("M0")

    def test_an_unknown_request_code_is_an_error(self, branch: DuesLedger) -> None:
        with pytest.raises(NotFound):
            branch.request_status("DP00000000")


class TestWhatTheReviewFound:
    def test_money_is_booked_at_the_branch_whose_account_received_it(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        branch.transfer_member("M0", "HN-BD-02", "2027-01")  # recorded ahead of its month
        branch.record_bank_transaction(fact(request, 70_000))
        balances = branch.account_balances()
        assert balances.get("HN-BD-01:assets:bank:1012345678") == 70_000
        assert not any(k.startswith("HN-BD-02:assets:bank") for k in balances)
        assert sum(balances.values()) == 0

    def test_credit_from_a_request_paid_at_the_old_branch_reaches_the_members_branch(
        self, branch: DuesLedger
    ) -> None:
        request = branch.member_request("M0")
        branch.transfer_member("M0", "HN-BD-02", "2027-01")
        branch.record_bank_transaction(fact(request, 100_000))
        balances = branch.account_balances()
        assert balances["HN-BD-02:liabilities:prepaid:M0"] == -30_000
        assert balances["HN-BD-01:liabilities:due_to:HN-BD-02"] == -30_000
        assert branch.member_statement("M0")["credit"] == 30_000

    def test_a_share_for_a_member_who_left_is_held_and_the_transfer_still_recorded(
        self, branch: DuesLedger
    ) -> None:
        request = branch.batch_request("Bí thư chi bộ", ["M0", "M1"])
        branch.end_membership("M1", "2026-12", "chuyển ra ngoài Đảng bộ")
        tx, created = branch.record_bank_transaction(fact(request, 140_000))
        # December, opened, is no longer owed by M1 (withdrawn when they left the list):
        # nothing is owed under the request for M1, so their share is held as excess
        assert created and tx.matched is not None and tx.matched["held"] == 70_000
        assert "M1" in tx.matched["refused"][0]  # the treasurer is told why
        assert branch.request_status(request.code)["held"] == 70_000
        [item] = branch.suspense_items("HN-BD-01")
        assert (item["amount"], item["request"], item["why"]) == (70_000, request.code, "refused")
        assert branch.member_statement("M0")["outstanding"] == 0

    def test_a_batch_pays_the_month_it_names_not_the_oldest_arrears(
        self, ledger: DuesLedger
    ) -> None:
        small_ledger(ledger)
        ledger.add_account("HN-BD-01", *ORG_ACCOUNT, "CHI BO KHU PHO 1", "organisation")
        ledger.open_month("2026-11")
        ledger.open_month("2026-12")
        request = ledger.batch_request("Cơ quan", ["M0"], period="2026-12", kind="payroll")
        ledger.record_bank_transaction(fact(request, 70_000))
        months = {m["period"]: m["outstanding"] for m in ledger.member_statement("M0")["months"]}
        assert months == {"2026-11": 70_000, "2026-12": 0}

    def test_spending_retried_with_a_padded_reference_is_recorded_once(
        self, branch: DuesLedger
    ) -> None:
        branch.pay("M0", 70_000, reference="CASH-1", channel="cash")
        branch.close_month("2026-12", "HN-BD-01")
        assert branch.spend("HN-BD-01", 1_000, "văn phòng phẩm", " PC-01") is True
        assert branch.spend("HN-BD-01", 1_000, "văn phòng phẩm", "PC-01 ") is False
        assert branch.account_balances()["HN-BD-01:expenses:spending"] == 1_000


class TestMoneyNobodyHasExplained:
    def unexplained(
        self, direction: str, amount: int, account: str = ORG_ACCOUNT[1]
    ) -> BankTransactionFact:
        return BankTransactionFact(
            source="statement:generic",
            external_id=f"X{next(_ids)}",
            bin_code=None,
            account_number=account,
            direction=direction,
            amount=amount,
            value_date="2026-12-15",
            narrative="IBFT NGUYEN THI B chuyen tien",
        )

    def test_incoming_money_without_a_code_waits_in_the_branchs_suspense(
        self, branch: DuesLedger
    ) -> None:
        tx, _ = branch.record_bank_transaction(self.unexplained("in", 55_000))
        assert tx.matched is None and tx.suspense == {
            "org": "HN-BD-01",
            "flagged": False,
            "resolved": False,
        }
        balances = branch.account_balances()
        assert balances["HN-BD-01:assets:bank:1012345678"] == 55_000
        assert balances["HN-BD-01:liabilities:suspense"] == -55_000

    def test_unexplained_outgoing_money_is_flagged(self, branch: DuesLedger) -> None:
        tx, _ = branch.record_bank_transaction(self.unexplained("out", 20_000))
        assert tx.suspense is not None and tx.suspense["flagged"] is True
        assert branch.account_balances()["HN-BD-01:assets:unexplained_outflow"] == 20_000

    def test_money_through_an_unregistered_account_is_recorded_but_booked_nowhere(
        self, branch: DuesLedger
    ) -> None:
        tx, created = branch.record_bank_transaction(self.unexplained("in", 10_000, account="5555"))
        assert created and tx.suspense is None
        assert not any(k.endswith("suspense") for k in branch.account_balances())

    def test_resolving_to_a_member_moves_the_money_from_suspense_to_their_dues(
        self, branch: DuesLedger
    ) -> None:
        branch.record_bank_transaction(self.unexplained("in", 70_000))
        [item] = branch.suspense_items("HN-BD-01")
        branch.resolve_suspense(item["id"], member="M0")
        balances = branch.account_balances()
        assert balances.get("HN-BD-01:liabilities:suspense", 0) == 0
        assert balances["HN-BD-01:assets:bank:1012345678"] == 70_000
        assert balances.get("HN-BD-01:assets:receivable:M0", 0) == 0
        assert sum(balances.values()) == 0
        assert branch.suspense_items("HN-BD-01") == []


class TestARequestRunsFromTheLastMonthAssessed:
    """Months ahead follow the last month any of the member's branches opened while they
    were on it (a review found a transfer's January listed twice, February missing)."""

    def test_after_a_transfer_from_a_branch_that_opened_ahead(self, branch: DuesLedger) -> None:
        branch.open_month("2027-01", "HN-BD-02")  # M3's branch opened January early
        branch.transfer_member("M3", "HN-BD-01", "2027-02")
        assert branch.request_start("M3") == "2027-01"
        request = branch.member_request("M3", months_ahead=1)
        [(_, months, amount)] = request.items
        assert months == ["2026-12", "2027-01", "2027-02"]
        owed = branch.member_statement("M3")["outstanding"]
        assert amount == owed + 70_000  # February, at the new branch, once
        assert request.hint == "DP 01/2027+1"

    def test_for_a_member_enrolled_after_a_month_opened_early(self, branch: DuesLedger) -> None:
        from tests.builders import member_row

        branch.open_month("2027-01", "HN-BD-01")
        branch.import_members([(2, member_row("M9", "HN-BD-01"))])
        start = branch.request_start("M9")
        request = branch.member_request("M9", months_ahead=1)
        assert request.items[0][1][-1] == add_months(start, 1)
        assert len(set(request.items[0][1])) == len(request.items[0][1])


class TestAMemberLeavingTheList:
    """A review found a month listed twice and months ahead past the member's end."""

    def test_a_month_opened_before_the_member_left_is_asked_once(self, branch: DuesLedger) -> None:
        branch.open_month("2027-01", "HN-BD-01")
        branch.end_membership("M0", "2027-01", "chuyển sinh hoạt ra nước ngoài")
        [(_, months, _)] = branch.member_request("M0", months_ahead=1).items
        assert len(months) == len(set(months)), months

    def test_months_ahead_stop_at_the_month_the_member_leaves(self, branch: DuesLedger) -> None:
        branch.end_membership("M0", "2027-01", "chuyển sinh hoạt ra nước ngoài")
        [(_, months, amount)] = branch.member_request("M0", months_ahead=2).items
        assert (months, amount) == (["2026-12"], 70_000)
