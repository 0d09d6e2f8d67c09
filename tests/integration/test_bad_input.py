"""Bad input is refused with a message in Vietnamese and English, and nothing is written.

Every refusal here is checked the same way: the right error class, a non-empty
`message_vi` and `message_en`, and the event log exactly as long as before.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ledger.app import DuesLedger
from ledger.errors import Conflict, ImportRejected, InvalidInput, LedgerError, NotFound, PolicyError
from tests.builders import member_row, numbered, org_rows, small_ledger, written

Command = Callable[[DuesLedger], object]


@pytest.fixture
def app(ledger: DuesLedger) -> DuesLedger:
    small_ledger(ledger)
    ledger.open_month("2026-10")
    ledger.pay("M0", 70_000, reference="P1")
    ledger.close_month("2026-10", "HN")
    return ledger


def refuse(app: DuesLedger, command: Command, error: type[LedgerError]) -> LedgerError:
    """Run a command that must be refused; check the messages and that nothing was written."""
    before = written(app)
    with pytest.raises(error) as caught:
        command(app)
    assert caught.value.message_vi.strip()
    assert caught.value.message_en.strip()
    assert written(app) == before
    return caught.value


UNKNOWN_CODES = [
    pytest.param(lambda a: a.pay("NOPE", 1_000), id="pay-unknown-member"),
    pytest.param(lambda a: a.open_month("2026-11", "NOPE"), id="open-under-unknown-org"),
    pytest.param(lambda a: a.close_month("2026-10", "NOPE"), id="close-unknown-org"),
    pytest.param(lambda a: a.remit("NOPE", "2026-10"), id="remit-unknown-org"),
    pytest.param(lambda a: a.spend("NOPE", 100, "Mua sổ", "PC-1"), id="spend-unknown-org"),
    pytest.param(
        lambda a: a.change_income("NOPE", "student", None, "2026-10"), id="income-unknown-member"
    ),
    pytest.param(
        lambda a: a.transfer_member("M0", "NOPE", "2027-01"), id="transfer-to-unknown-branch"
    ),
    pytest.param(lambda a: a.move_org("NOPE", "HN", "2027-01"), id="move-unknown-org"),
    pytest.param(lambda a: a.move_org("HN-BD-01", "NOPE", "2027-01"), id="move-under-unknown"),
    pytest.param(
        lambda a: a.add_account("NOPE", "970436", "1018795282", "X", "organisation"),
        id="account-for-unknown-org",
    ),
    pytest.param(lambda a: a.balance("NOPE"), id="balance-of-unknown-org"),
    pytest.param(lambda a: a.member_statement("NOPE"), id="statement-of-unknown-member"),
    pytest.param(
        lambda a: a.grant_exemption("NOPE", "poor_household", 100, "QĐ 1", "2026-10", "2026-12"),
        id="exempt-unknown-member",
    ),
]

MALFORMED_PERIODS = [
    pytest.param(lambda a: a.open_month("2026-13"), id="open-month-13"),
    pytest.param(lambda a: a.open_month("2026/11"), id="open-with-slash"),
    pytest.param(lambda a: a.close_month("26-10", "HN"), id="close-two-digit-year"),
    pytest.param(lambda a: a.pay("M1", 1_000, months=["2026/10"]), id="pay-named-month"),
    pytest.param(lambda a: a.remit("HN-BD-01", "2026-1"), id="remit-one-digit-month"),
    pytest.param(
        lambda a: a.change_income("M0", "social_insured", 5_000_000, "abc"), id="income-from"
    ),
    pytest.param(
        lambda a: a.grant_exemption("M0", "poor_household", 100, "QĐ 1", "2026-00", "2026-12"),
        id="exemption-month-zero",
    ),
    pytest.param(lambda a: a.transfer_member("M0", "HN-BD-02", "x"), id="transfer-from"),
    pytest.param(lambda a: a.end_membership("M0", "2026", "xóa tên"), id="end-from"),
    pytest.param(lambda a: a.move_org("HN-BD-01", "HN", "2027-1"), id="move-from"),
    pytest.param(lambda a: a.merge_org("HN-BD-02", "HN-BD-01", " "), id="merge-from"),
    pytest.param(lambda a: a.dissolve_org("HN-BD-02", "2027-13"), id="dissolve-from"),
    pytest.param(lambda a: a.set_retention("branch", "40", "x", "QĐ 1"), id="retention-from"),
    pytest.param(
        lambda a: a.attend_temporarily("M0", "HN-BD-02", "2027-01", "2027"), id="attend-until"
    ),
    pytest.param(lambda a: a.balance("HN", "2026-13"), id="balance-for-month-13"),
    pytest.param(
        lambda a: a.import_members(numbered([member_row("NEW", "HN-BD-01")]), "2026-1"),
        id="import-members-from",
    ),
    pytest.param(
        lambda a: a.import_orgs(org_rows([("X", "Chi bộ X", "branch", "HN-BD")]), "bad"),
        id="import-orgs-from",
    ),
]

BAD_AMOUNTS_AND_VALUES = [
    pytest.param(lambda a: a.pay("M1", 0), id="pay-zero"),
    pytest.param(lambda a: a.pay("M1", -5_000), id="pay-negative"),
    pytest.param(lambda a: a.pay("M1", 1_000, channel="bitcoin"), id="pay-unknown-channel"),
    pytest.param(lambda a: a.spend("HN-BD-01", 0, "Mua sổ", "PC-1"), id="spend-zero"),
    pytest.param(lambda a: a.spend("HN-BD-01", -1, "Mua sổ", "PC-1"), id="spend-negative"),
    pytest.param(
        lambda a: a.spend("HN-BD-01", 1, "Mua sổ", "PC-1", channel="vàng"),
        id="spend-unknown-channel",
    ),
    pytest.param(lambda a: a.spend("HN-BD-01", 1, " ", "PC-1"), id="spend-without-purpose"),
    pytest.param(
        lambda a: a.change_income("M0", "social_insured", -1, "2026-10"),
        id="income-negative",
    ),
    pytest.param(lambda a: a.change_income("M0", "rich", 1, "2026-10"), id="income-category"),
    pytest.param(
        lambda a: a.change_income("M0", "pensioner", None, "2026-10"), id="income-missing-base"
    ),
    pytest.param(lambda a: a.set_retention("branch", "101", "2027-01"), id="retention-over-100"),
    pytest.param(lambda a: a.set_retention("branch", "-1", "2027-01"), id="retention-negative"),
    pytest.param(lambda a: a.set_retention("chapter", "30", "2027-01"), id="retention-org-type"),
    pytest.param(
        lambda a: a.add_account("HN-BD-01", "97043", "1018795282", "X", "organisation"),
        id="account-short-bin",
    ),
    pytest.param(
        lambda a: a.add_account("HN-BD-01", "970436", "1018-795", "X", "organisation"),
        id="account-number-punctuation",
    ),
    pytest.param(
        lambda a: a.grant_exemption("M0", "hardship", 30, " ", "2026-10", "2026-12"),
        id="exemption-without-decision",
    ),
    pytest.param(
        lambda a: a.attend_temporarily("M0", "HN-BD-02", "2027-02", "2027-01"),
        id="attend-ends-before-start",
    ),
]

POLICY_REFUSALS = [
    pytest.param(
        lambda a: a.grant_exemption("M0", "lazy", 100, "QĐ 1", "2026-10", "2026-12"),
        id="exemption-kind",
    ),
    pytest.param(
        lambda a: a.grant_exemption("M0", "hardship", 40, "QĐ 1", "2026-10", "2026-12"),
        id="reduction-40",
    ),
    pytest.param(
        lambda a: a.grant_exemption("M0", "hardship", 30, "QĐ 1", "2026-12", "2026-10"),
        id="exemption-ends-before-start",
    ),
    pytest.param(
        lambda a: a.add_account("HN-BD-01", "970436", "1018795282", "X", "friend"),
        id="account-holder-kind",
    ),
]

CONFLICTS = [
    pytest.param(lambda a: a.open_month("2026-10"), id="open-twice"),
    pytest.param(lambda a: a.close_month("2026-10", "HN"), id="close-twice"),
    pytest.param(lambda a: a.close_month("2026-11", "HN"), id="close-never-opened"),
    pytest.param(lambda a: a.remit("TW", "2026-10"), id="remit-from-the-top"),
    pytest.param(lambda a: a.spend("HN-BD-01", 21_001, "Mua sổ", "PC-1"), id="spend-too-much"),
    pytest.param(lambda a: a.pay("M1", 1_000, reference="P1"), id="reference-reused"),
    pytest.param(lambda a: a.pay("M1", 1_000, months=["2026-09"]), id="pay-month-not-owed"),
    pytest.param(lambda a: a.transfer_member("M0", "HN-BD", "2027-01"), id="transfer-to-ward"),
    pytest.param(lambda a: a.transfer_member("M0", "HN-BD-01", "2027-01"), id="transfer-same"),
    pytest.param(
        lambda a: a.transfer_member("M0", "HN-BD-02", "2026-10"), id="transfer-into-open-month"
    ),
    pytest.param(lambda a: a.move_org("HN-BD-02", "HN-BD-01", "2027-01"), id="move-under-branch"),
    pytest.param(lambda a: a.move_org("HN", "HN-BD", "2027-01"), id="move-under-descendant"),
    pytest.param(lambda a: a.merge_org("HN-BD-02", "HN-BD", "2027-01"), id="merge-branch-ward"),
    pytest.param(lambda a: a.dissolve_org("HN-BD-02", "2027-01"), id="dissolve-with-members"),
    pytest.param(lambda a: a.dissolve_org("HN-BD", "2027-01"), id="dissolve-with-branches"),
]


class TestRefusalsWriteNothing:
    @pytest.mark.parametrize("command", UNKNOWN_CODES)
    def test_an_unknown_code_is_not_found(self, app: DuesLedger, command: Command) -> None:
        refuse(app, command, NotFound)

    @pytest.mark.parametrize("command", MALFORMED_PERIODS)
    def test_a_malformed_month_is_invalid_input_naming_the_field(
        self, app: DuesLedger, command: Command
    ) -> None:
        error = refuse(app, command, InvalidInput)
        assert error.field

    @pytest.mark.parametrize("command", BAD_AMOUNTS_AND_VALUES)
    def test_a_bad_amount_or_value_is_invalid_input_naming_the_field(
        self, app: DuesLedger, command: Command
    ) -> None:
        error = refuse(app, command, InvalidInput)
        assert error.field

    @pytest.mark.parametrize("command", POLICY_REFUSALS)
    def test_what_the_policy_does_not_allow_is_refused(
        self, app: DuesLedger, command: Command
    ) -> None:
        refuse(app, command, LedgerError)

    @pytest.mark.parametrize("command", CONFLICTS)
    def test_a_command_against_the_ledgers_state_is_a_conflict(
        self, app: DuesLedger, command: Command
    ) -> None:
        refuse(app, command, Conflict)

    def test_a_member_who_left_cannot_pay(self, app: DuesLedger) -> None:
        app.end_membership("M1", "2026-11", "chuyển ra ngoài Đảng bộ")

        refuse(app, lambda a: a.pay("M1", 70_000, reference="P-LEFT"), Conflict)

    def test_a_refused_exemption_on_a_new_ledger_writes_nothing(self, ledger: DuesLedger) -> None:
        small_ledger(ledger)

        refuse(
            ledger,
            lambda a: a.grant_exemption("M0", "hardship", 40, "QĐ 1", "2026-10", "2026-12"),
            PolicyError,
        )


class TestImportFilesWithBadRows:
    """A treasurer uploads a members file with several mistakes in it."""

    def test_every_bad_member_row_is_listed_and_nothing_is_imported(self, app: DuesLedger) -> None:
        rows = numbered(
            [
                member_row("GOOD1", "HN-BD-01"),
                member_row("BAD1", "HN-BD-01", category="rich"),
                member_row("BAD2", "HN-XX"),
                member_row("BAD3", "HN-BD-01", joined="19/13/2001"),
                member_row("GOOD1", "HN-BD-02"),
                member_row("BAD4", "HN-BD", base=None),
                member_row("BAD5", "HN-BD-01", national_id="12345"),
                member_row("GOOD2", "HN-BD-02", category="student", base=None),
            ]
        )

        error = refuse(app, lambda a: a.import_members(rows), ImportRejected)

        assert isinstance(error, ImportRejected)
        assert sorted({line for line, _, _ in error.problems}) == [3, 4, 5, 6, 7, 8]
        assert all(vi.strip() and en.strip() for _, vi, en in error.problems)
        for line in (3, 4, 5, 6, 7, 8):
            assert f"line {line}:" in error.message_en
            assert f"dòng {line}:" in error.message_vi
        for code in ("GOOD1", "GOOD2"):
            with pytest.raises(NotFound):
                app.get_member(code)

    def test_every_bad_organisation_row_is_listed_and_nothing_is_imported(
        self, app: DuesLedger
    ) -> None:
        rows = org_rows(
            [
                ("HN-BD-03", "Chi bộ khu phố 3", "branch", "HN-BD"),
                ("", "Không mã", "branch", "HN-BD"),
                ("HN-BD-04", "Chi bộ 4", "chapter", "HN-BD"),
                ("HN-BD-05", "Chi bộ 5", "branch", "HN-YY"),
                ("HN-BD-06", "Chi bộ 6", "branch", "HN-BD-01"),
                ("HN-BD-01", "Tên khác", "branch", "HN-BD"),
                ("HN-BD-07", "", "branch", "HN-BD"),
            ]
        )

        error = refuse(app, lambda a: a.import_orgs(rows), ImportRejected)

        assert isinstance(error, ImportRejected)
        assert sorted({line for line, _, _ in error.problems}) == [3, 4, 5, 6, 7, 8]
        with pytest.raises(NotFound):
            app.get_org("HN-BD-03")
