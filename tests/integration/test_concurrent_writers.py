"""Writers racing on PostgreSQL: two ledger instances (as two API workers, or a worker
and a CLI command) on one schema, started together at a barrier, many rounds each.

After each race: every transaction recorded once, balances right to the đồng, nothing
resolved twice, and the losing writer either succeeds idempotently or gets a clear
`Conflict` / `RecordConflictError` (the CLI's "run again", the API's 409), never another
exception. PostgreSQL only: SQLite's single writer serialises them anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import pytest
from eventsourcing.persistence import RecordConflictError

from api.bootstrap import build_ledger
from api.settings import load_settings
from ledger.app import DuesLedger
from ledger.bank_transaction import BankTransaction, fact_id
from ledger.errors import Conflict
from ledger.payment_request import PaymentRequest
from tests.builders import member_row, month_of, numbered
from tests.conftest import PG_URL
from tests.integration.test_reconciliation import (
    BANK,
    BIN,
    PARENT_ACCOUNT,
    SUSPENSE,
    books,
    line,
    paying,
    statement_line,
)

ROUNDS = 6


@pytest.fixture
def apps(pg_schema: str, frozen: object) -> Iterator[tuple[DuesLedger, DuesLedger]]:
    """Two ledgers on one fresh schema, the first with HN-BD-01's books (tests/builders)."""
    url = f"{PG_URL}?schema={pg_schema}"
    first = build_ledger(load_settings(url))
    books(first)
    second = build_ledger(load_settings(url))
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def race(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls at once (one thread each, released together); each one's
    ("ok", result) or ("error", exception)."""
    start = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        start.wait()
        try:
            results[i] = ("ok", call())
        except Exception as e:  # reported to the test
            results[i] = ("error", e)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a racing writer hung"
    return results


def clear_loss(result: tuple[str, Any]) -> bool:
    """A losing writer's acceptable failure: a refusal or the "run again" conflict."""
    kind, value = result
    return kind == "error" and isinstance(value, Conflict | RecordConflictError)


def unexpected(results: list[tuple[str, Any]]) -> list[Any]:
    return [v for k, v in results if k == "error" and not clear_loss((k, v))]


def recorded_lines(app: DuesLedger) -> list[str]:
    return [
        e.external_id
        for e in app.iter_events()
        if isinstance(e, BankTransaction.Recorded)  # type: ignore[attr-defined]
    ]


class TestTheSameWebhookOnTwoWorkers:
    def test_is_recorded_once_and_both_answer(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        request = first.member_request("M0")
        for n in range(ROUNDS):
            notification = line(1_000 + n, f"IBFT NGUOI GUI {n}", external_id=f"SEPAY-R{n}")
            results = race(
                partial(first.record_bank_transaction, notification),
                partial(second.record_bank_transaction, notification),
            )
            assert unexpected(results) == []
            created = [r[1][1] for r in results if r[0] == "ok"]
            assert created.count(True) <= 1
        pay = paying(request, 70_000)
        results = race(
            partial(first.record_bank_transaction, pay),
            partial(second.record_bank_transaction, pay),
        )
        assert unexpected(results) == []
        # the gateway's retry of whatever lost
        for app in (first, second):
            for n in range(ROUNDS):
                app.record_bank_transaction(
                    line(1_000 + n, f"IBFT NGUOI GUI {n}", external_id=f"SEPAY-R{n}")
                )
            app.record_bank_transaction(pay)
        ids = recorded_lines(second)
        assert sorted(ids) == sorted({*ids}) and len(ids) == ROUNDS + 1
        held = sum(1_000 + n for n in range(ROUNDS))
        balances = second.account_balances()
        assert (balances[BANK], balances[SUSPENSE]) == (held + 70_000, -held)
        assert month_of(second, "M0", "2026-12")["paid"] == 70_000
        assert len(second.suspense_items("HN-BD-01")) == ROUNDS


class TestTheSameStatementInTwoProcesses:
    def test_records_each_line_once(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        request = first.member_request("M1")
        for n in range(ROUNDS):
            facts = [
                statement_line(100 * n + k, 1_000 * (k + 1), f"IBFT NGUOI GUI {n} {k}")
                for k in range(5)
            ]
            if n == 0:
                facts.append(
                    statement_line(99, 70_000, f"IBFT {request.code} DP 12 2026 NGUYEN VAN M1")
                )
            results = race(
                partial(first.import_statement, "HN-BD-01", facts),
                partial(second.import_statement, "HN-BD-01", facts),
            )
            assert unexpected(results) == []
            done = [r[1] for r in results if r[0] == "ok"]
            assert sum(d["new"] for d in done) <= len(facts)
            for app in (first, second):  # run again, as the CLI's message asks
                again = app.import_statement("HN-BD-01", facts)
                assert again["new"] == 0
        ids = recorded_lines(second)
        assert len(ids) == len(set(ids)) == 5 * ROUNDS + 1
        held = ROUNDS * sum(1_000 * (k + 1) for k in range(5))
        balances = second.account_balances()
        assert (balances[BANK], balances[SUSPENSE]) == (held + 70_000, -held)
        assert month_of(second, "M1", "2026-12")["paid"] == 70_000
        report = second.reconcile("HN-BD-01")
        assert len(report["suspense"]) == 5 * ROUNDS


class TestAWebhookForALineTheStatementAlsoHolds:
    @pytest.mark.parametrize("with_reference", [True, False])
    def test_is_recorded_once(
        self, apps: tuple[DuesLedger, DuesLedger], with_reference: bool
    ) -> None:
        first, second = apps
        for n in range(ROUNDS):
            printed = statement_line(n, 10_000 + n, f"IBFT CHUYEN TIEN NGUOI GUI {n}")
            gateway = line(
                10_000 + n,
                f"CHUYEN TIEN NGUOI GUI {n}",
                reference=printed.reference if with_reference else None,
                external_id=f"SEPAY-S{n}",
            )
            results = race(
                partial(first.import_statement, "HN-BD-01", [printed]),
                partial(second.record_bank_transaction, gateway),
            )
            assert unexpected(results) == []
            # the loser's retry (the CLI's "run again", the gateway's next delivery)
            first.import_statement("HN-BD-01", [printed])
            second.record_bank_transaction(gateway)
        held = sum(10_000 + n for n in range(ROUNDS))
        balances = first.account_balances()
        assert (balances[BANK], balances[SUSPENSE]) == (held, -held)
        assert len(first.suspense_items("HN-BD-01")) == ROUNDS

    @pytest.mark.parametrize("with_reference", [True, False])
    def test_paying_a_member_pays_once(
        self, apps: tuple[DuesLedger, DuesLedger], with_reference: bool
    ) -> None:
        first, second = apps
        for n, member in enumerate(["M0", "M1", "M2"]):
            request = first.member_request(member)
            memo = f"MBVCB.4525077405.{request.code} DP 12 2026.CT tu 0351000646393"
            printed = statement_line(n, 70_000, f"IBFT {memo}")
            gateway = line(
                70_000,
                memo,
                reference=printed.reference if with_reference else None,
                external_id=f"SEPAY-P{n}",
            )
            results = race(
                partial(first.import_statement, "HN-BD-01", [printed]),
                partial(second.record_bank_transaction, gateway),
            )
            assert unexpected(results) == []
            first.import_statement("HN-BD-01", [printed])
            second.record_bank_transaction(gateway)
            month = month_of(first, member, "2026-12")
            assert (month["paid"], month["outstanding"]) == (70_000, 0)
            assert first.member_statement(member)["credit"] == 0
        balances = first.account_balances()
        assert (balances[BANK], balances.get(SUSPENSE, 0)) == (210_000, 0)


class TestTwoWebhooksPayingOneMember:
    def test_both_are_received_once(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        for n, member in enumerate(["M0", "M1", "M2"]):
            request = first.member_request(member)
            one = paying(request, 50_000, reference=f"FT2634911{n:04d}")
            other = paying(request, 50_000, reference=f"FT2634922{n:04d}")
            results = race(
                partial(first.record_bank_transaction, one),
                partial(second.record_bank_transaction, other),
            )
            assert unexpected(results) == []
            first.record_bank_transaction(one)  # the loser's retry
            second.record_bank_transaction(other)
            month = month_of(second, member, "2026-12")
            assert (month["paid"], month["outstanding"]) == (70_000, 0)
            assert second.member_statement(member)["credit"] == 30_000
            again = second.get_or_none(request.id, PaymentRequest)
            assert again is not None and again.received == 100_000
        balances = second.account_balances()
        assert balances[BANK] == 300_000
        assert len(recorded_lines(second)) == 6


class TestSuspenseResolvedTwiceAtOnce:
    def test_the_item_is_resolved_once(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        for n in range(ROUNDS):
            first.record_bank_transaction(line(35_000, f"IBFT CHUYEN TIEN {n}"))
        items = first.suspense_items("HN-BD-01")
        assert len(items) == ROUNDS
        for n, item in enumerate(items):
            results = race(
                partial(first.resolve_suspense, item["id"], member="M0"),
                partial(second.resolve_suspense, item["id"], not_dues=f"lãi {n}"),
            )
            assert unexpected(results) == []
            assert [k for k, _ in results].count("ok") <= 1
        done = second.suspense_items("HN-BD-01", include_resolved=True)
        assert all(i["resolution"] is not None for i in done)
        to_m0 = sum(1 for i in done if i["resolution"]["how"] != "not_dues")
        balances = second.account_balances()
        assert balances.get(SUSPENSE, 0) == 0
        assert balances.get("HN-BD-01:income:not_dues", 0) == -35_000 * (ROUNDS - to_m0)
        statement = second.member_statement("M0")
        paid = month_of(second, "M0", "2026-12")["paid"]
        assert paid + statement["credit"] == 35_000 * to_m0


class TestAResolveRacingTheLinesReversal:
    def test_one_of_them_wins(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        for n in range(ROUNDS):
            ref = f"FT2634933{n:04d}"
            original, _ = first.record_bank_transaction(
                line(40_000, f"IBFT NGUYEN THI B {n}", reference=ref)
            )
            [item] = [
                i for i in first.suspense_items("HN-BD-01") if i["transaction"] == str(original.id)
            ]
            back = line(
                40_000, f"HOAN TRA GD {ref}", direction="out", reference=f"FT2634944{n:04d}"
            )
            results = race(
                partial(first.resolve_suspense, item["id"], member="M1"),
                partial(second.record_bank_transaction, back),
            )
            assert unexpected(results) == []
            second.record_bank_transaction(back)  # the gateway's retry
        balances = second.account_balances()
        assert balances.get(BANK, 0) == 0
        assert balances.get(SUSPENSE, 0) == 0
        assert balances.get("HN-BD-01:assets:unexplained_outflow", 0) == 0
        month = month_of(second, "M1", "2026-12")
        assert month["paid"] == 0 and second.member_statement("M1")["credit"] == 0
        assert second.suspense_items("HN-BD-01") == []


class TestAWebhookArrivingWhileALongImportRuns:
    @pytest.mark.parametrize("same_day", [True, False])
    def test_its_line_in_a_later_chunk_is_recorded_once(
        self, apps: tuple[DuesLedger, DuesLedger], monkeypatch: pytest.MonkeyPatch, same_day: bool
    ) -> None:
        # the import looked for gateway lines without a reference once, before its first
        # chunk: a notification recorded while an earlier chunk was matched was missed
        first, second = apps
        facts = [
            replace(
                statement_line(n, 20_000 + n, f"IBFT CHUYEN TIEN NGUOI GUI {n}"), value_date=day
            )
            for n, day in enumerate(["2026-12-10", "2026-12-10" if same_day else "2026-12-11"])
        ]
        later = facts[1]
        gateway = line(
            later.amount,
            "CHUYEN TIEN NGUOI GUI 1",
            value_date=later.value_date,
            external_id="SEPAY-L1",
        )
        chunks = 0
        import_chunk = type(first)._import_chunk

        def between_chunks(self: DuesLedger, *args: Any, **kwargs: Any) -> Any:
            nonlocal chunks
            chunks += 1
            if chunks == 2:  # the gateway's worker, while the first chunk is saved
                assert second.record_bank_transaction(gateway)[1]
            return import_chunk(self, *args, **kwargs)

        monkeypatch.setattr(type(first), "_import_chunk", between_chunks)
        done = first.import_statement("HN-BD-01", facts, chunk=1)
        assert (done["new"], done["already"]) == (1, 1)
        assert second.record_bank_transaction(gateway)[1] is False
        assert len(recorded_lines(second)) == 2
        balances = second.account_balances()
        assert (balances[BANK], balances[SUSPENSE]) == (40_001, -40_001)

    def test_its_payment_in_a_later_chunk_is_recorded_once(
        self, apps: tuple[DuesLedger, DuesLedger], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = apps
        request = first.member_request("M2")
        memo = f"MBVCB.4525077405.{request.code} DP 12 2026.CT tu 0351000646393"
        facts = [
            replace(statement_line(1, 5_000, "LAI TIEN GUI"), value_date="2026-12-10"),
            replace(statement_line(2, 70_000, f"IBFT {memo}"), value_date="2026-12-11"),
        ]
        gateway = line(70_000, memo, value_date="2026-12-11", external_id="SEPAY-L2")
        chunks = 0
        import_chunk = type(first)._import_chunk

        def between_chunks(self: DuesLedger, *args: Any, **kwargs: Any) -> Any:
            nonlocal chunks
            chunks += 1
            if chunks == 2:
                assert second.record_bank_transaction(gateway)[1]
            return import_chunk(self, *args, **kwargs)

        # the account's earlier statement: its index no longer takes each gateway line
        earlier = replace(statement_line(3, 1_000, "LAI TIEN GUI"), value_date="2026-12-01")
        first.import_statement("HN-BD-01", [earlier], opening_balance=0, closing_balance=1_000)
        monkeypatch.setattr(type(first), "_import_chunk", between_chunks)
        done = first.import_statement(
            "HN-BD-01", facts, chunk=1, opening_balance=1_000, closing_balance=76_000
        )
        assert (done["new"], done["already"]) == (1, 1)
        assert len(recorded_lines(second)) == 3
        assert second.member_statement("M2")["credit"] == 0
        assert second.account_balances()[BANK] == 76_000


def proposal_of(app: DuesLedger, org: str, tx: BankTransaction) -> Any:
    items = app.suspense_items(org, include_resolved=True)
    [item] = [i for i in items if i["transaction"] == str(tx.id)]
    return (item.get("proposal") or {}).get("member")


class TestALongLivedProcessAfterAnotherWrote:
    """`worker` keeps what it built between notifications (name index, suspense queues,
    account indexes); `cli` changes what they were built from in between."""

    def test_the_name_index_sees_members_and_branches_added(
        self, apps: tuple[DuesLedger, DuesLedger]
    ) -> None:
        worker, cli = apps
        tx, _ = worker.record_bank_transaction(line(70_000, "IBFT NGUYEN VAN M0 DANG PHI"))
        assert proposal_of(worker, "HN-BD-01", tx) == "M0"
        parent, _ = worker.record_bank_transaction(
            line(70_000, "IBFT NGUYEN VAN M3 DANG PHI", account=PARENT_ACCOUNT)
        )
        assert proposal_of(worker, "HN-BD", parent) == "M3"
        cli.import_members(numbered([member_row("M9", "HN-BD-01")]))
        cli.import_orgs(
            numbered(
                [
                    {
                        "code": "HN-BD-03",
                        "name": "Chi bộ khu phố 3",
                        "type": "branch",
                        "parent_code": "HN-BD",
                    }
                ]
            )
        )
        cli.import_members(numbered([member_row("M7", "HN-BD-03")]))
        cli.open_month("2026-12")  # the new branch's month
        new, _ = worker.record_bank_transaction(line(70_000, "IBFT NGUYEN VAN M9 DANG PHI"))
        assert proposal_of(worker, "HN-BD-01", new) == "M9"
        branch, _ = worker.record_bank_transaction(
            line(70_000, "IBFT NGUYEN VAN M7 DANG PHI", account=PARENT_ACCOUNT)
        )
        assert proposal_of(worker, "HN-BD", branch) == "M7"

    def test_a_kept_queue_sees_what_another_process_added_and_resolved(
        self, apps: tuple[DuesLedger, DuesLedger]
    ) -> None:
        worker, cli = apps
        with_a_statement(cli)
        request = cli.member_request("M0")
        day = "2026-12-15"
        worker.record_bank_transaction(line(9_000, "PHI SMS", direction="out", value_date=day))
        [fee] = [i for i in worker.suspense_items("HN-BD-01") if i["direction"] == "out"]
        # another process: the fee explained, and the bank's reversal of a payment the
        # worker has not heard of yet, flagged on the day the worker keeps
        cli.resolve_suspense(fee["id"], not_dues="phí ngân hàng")
        cli.record_bank_transaction(
            line(70_000, "HOAN TRA GD FT26349000811", direction="out", reference="FT26349000812")
        )
        with pytest.raises(Conflict):
            worker.resolve_suspense(fee["id"], not_dues="phí")
        worker.record_bank_transaction(
            replace(paying(request, 70_000, reference="FT26349000811"), value_date="2026-12-14")
        )
        month = month_of(cli, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        balances = cli.account_balances()
        assert balances.get("HN-BD-01:assets:unexplained_outflow", 0) == 0
        assert balances["HN-BD-01:expenses:not_dues"] == 9_000
        assert balances[BANK] == 1_000 - 9_000

    def test_a_kept_account_index_sees_the_account_registered_since(
        self, apps: tuple[DuesLedger, DuesLedger]
    ) -> None:
        worker, cli = apps
        worker.record_bank_transaction(line(30_000, "IBFT CHUYEN TIEN 1", account="3000000003"))
        assert cli.add_account("HN-BD-02", BIN, "3000000003", "CHI BO KHU PHO 2", "organisation")
        worker.record_bank_transaction(line(40_000, "IBFT CHUYEN TIEN 2", account="3000000003"))
        balances = cli.account_balances()
        assert balances["HN-BD-02:assets:bank:3000000003"] == 70_000
        assert len(cli.suspense_items("HN-BD-02")) == 2


def with_a_statement(app: DuesLedger) -> None:
    """The account's first statement: from it on, its index no longer takes an event for
    each gateway line (which two racing lines both wrote, and so conflicted on)."""
    earlier = replace(statement_line(9_999, 1_000, "LAI TIEN GUI"), value_date="2026-12-01")
    app.import_statement("HN-BD-01", [earlier], opening_balance=0, closing_balance=1_000)


class TestALineAndItsReversalAtOnce:
    def test_the_payment_is_undone(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        with_a_statement(first)
        for n, member in enumerate(["M0", "M1", "M2"]):
            request = first.member_request(member)
            ref = f"FT2634955{n:04d}"
            paid = paying(request, 70_000, reference=ref)
            back = line(
                70_000, f"HOAN TRA GD {ref}", direction="out", reference=f"FT2634966{n:04d}"
            )
            results = race(
                partial(first.record_bank_transaction, paid),
                partial(second.record_bank_transaction, back),
            )
            assert unexpected(results) == []
            first.record_bank_transaction(paid)  # the gateways' retries
            second.record_bank_transaction(back)
            month = month_of(second, member, "2026-12")
            assert (month["paid"], month["outstanding"]) == (0, 70_000), member
        balances = second.account_balances()
        assert balances.get(BANK, 0) == 1_000
        assert balances.get("HN-BD-01:assets:unexplained_outflow", 0) == 0
        assert second.reconcile("HN-BD-01")["flagged"] == []

    def test_the_reversal_recorded_while_the_original_is_matched_undoes_it(
        self, apps: tuple[DuesLedger, DuesLedger], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = apps
        with_a_statement(first)
        request = first.member_request("M0")
        paid = paying(request, 70_000, reference="FT26349007701")
        back = line(70_000, "HOAN TRA GD FT26349007701", direction="out", reference="FT26349007702")
        flagged_citing = type(first)._flagged_citing

        def meanwhile(self: DuesLedger, *args: Any, **kwargs: Any) -> Any:
            found = flagged_citing(self, *args, **kwargs)
            if self is first and not second.get_or_none(fact_id(back), BankTransaction):
                second.record_bank_transaction(back)  # the other worker, after this look
            return found

        monkeypatch.setattr(type(first), "_flagged_citing", meanwhile)
        outcome = race(partial(first.record_bank_transaction, paid))
        assert unexpected(outcome) == []
        first.record_bank_transaction(paid)
        second.record_bank_transaction(back)
        month = month_of(second, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        balances = second.account_balances()
        assert balances.get(BANK, 0) == 1_000
        assert balances.get("HN-BD-01:assets:unexplained_outflow", 0) == 0

    def test_the_original_recorded_while_the_reversal_is_matched_is_undone(
        self, apps: tuple[DuesLedger, DuesLedger], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        first, second = apps
        with_a_statement(first)
        request = first.member_request("M1")
        paid = paying(request, 70_000, reference="FT26349008801")
        back = line(70_000, "HOAN TRA GD FT26349008801", direction="out", reference="FT26349008802")
        reversed_line = type(first)._reversed_line
        looked = 0

        def meanwhile(self: DuesLedger, *args: Any, **kwargs: Any) -> Any:
            nonlocal looked
            found = reversed_line(self, *args, **kwargs)
            looked += 1
            if self is first and looked == 1:
                second.record_bank_transaction(paid)  # the other worker, after this look
            return found

        monkeypatch.setattr(type(first), "_reversed_line", meanwhile)
        outcome = race(partial(first.record_bank_transaction, back))
        assert unexpected(outcome) == []
        month = month_of(second, "M1", "2026-12")
        assert (month["paid"], month["outstanding"]) == (0, 70_000)
        balances = second.account_balances()
        assert balances.get(BANK, 0) == 1_000
        assert balances.get("HN-BD-01:assets:unexplained_outflow", 0) == 0


class TestAPaymentByHandRacingItsLine:
    def test_the_money_is_counted_once(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        with_a_statement(first)
        for n, member in enumerate(["M0", "M1", "M2"]):
            ref = f"FT2634977{n:04d}"
            heard = line(70_000, f"IBFT CHUYEN KHOAN {n}", reference=ref)
            results = race(
                partial(first.pay, member, 70_000, channel="bank", reference=ref),
                partial(second.record_bank_transaction, heard),
            )
            assert unexpected(results) == []
            first.pay(member, 70_000, channel="bank", reference=ref)  # the retries
            second.record_bank_transaction(heard)
            month = month_of(second, member, "2026-12")
            assert (month["paid"], month["outstanding"]) == (70_000, 0), member
            assert second.member_statement(member)["credit"] == 0, member
        balances = second.account_balances()
        assert balances[BANK] == 1_000 + 210_000
        assert balances.get(SUSPENSE, 0) == -1_000
        assert balances.get("HN-BD-01:assets:bank", 0) == 0  # no payment left uncleared

    @pytest.mark.parametrize("saved_last", ["payment", "line"])
    def test_whichever_saves_last_takes_the_line_as_the_payment(
        self, apps: tuple[DuesLedger, DuesLedger], monkeypatch: pytest.MonkeyPatch, saved_last: str
    ) -> None:
        first, second = apps
        with_a_statement(first)
        ref = "FT26349009901"
        heard = line(70_000, "IBFT CHUYEN KHOAN", reference=ref)
        # `first` looks for the other (none yet), then `second` saves, then `first` saves
        looked = 0
        name = "held_line_for" if saved_last == "payment" else "_paid_by_hand"
        look = getattr(type(first), name)

        def meanwhile(self: DuesLedger, *args: Any, **kwargs: Any) -> Any:
            nonlocal looked
            found = look(self, *args, **kwargs)
            looked += self is first
            if self is first and looked == 1:
                if saved_last == "payment":
                    second.record_bank_transaction(heard)
                else:
                    second.pay("M0", 70_000, channel="bank", reference=ref)
            return found

        monkeypatch.setattr(type(first), name, meanwhile)
        if saved_last == "payment":
            first.pay("M0", 70_000, channel="bank", reference=ref)
        else:
            first.record_bank_transaction(heard)
        month = month_of(second, "M0", "2026-12")
        assert (month["paid"], month["outstanding"]) == (70_000, 0)
        assert second.member_statement("M0")["credit"] == 0
        balances = second.account_balances()
        assert (balances[BANK], balances[SUSPENSE]) == (71_000, -1_000)
        assert balances.get("HN-BD-01:assets:bank", 0) == 0


class TestCommandsRunTwiceAtOnce:
    """The same CLI command started twice (two terminals, a retried job)."""

    def test_cash_close_remit_and_deposit(self, apps: tuple[DuesLedger, DuesLedger]) -> None:
        first, second = apps
        for member in ("M0", "M1", "M2"):
            results = race(
                partial(first.receive_cash, member, 70_000, f"BL-{member}"),
                partial(second.receive_cash, member, 70_000, f"BL-{member}"),
            )
            assert unexpected(results) == []
            first.receive_cash(member, 70_000, f"BL-{member}")  # the retry
            assert second.member_statement(member)["credit"] == 0
        results = race(
            partial(first.deposit_cash, "HN-BD-01", 210_000, "GNT-1"),
            partial(second.deposit_cash, "HN-BD-01", 210_000, "GNT-1"),
        )
        assert unexpected(results) == []
        first.deposit_cash("HN-BD-01", 210_000, "GNT-1")
        results = race(
            partial(first.close_month, "2026-12", "HN-BD-01"),
            partial(second.close_month, "2026-12", "HN-BD-01"),
        )
        assert unexpected(results) == []
        if all(k == "error" for k, _ in results):
            first.close_month("2026-12", "HN-BD-01")
        results = race(
            partial(first.remit, "HN-BD-01", "2026-12", via="bank", reference="UNC-12"),
            partial(second.remit, "HN-BD-01", "2026-12", via="bank", reference="UNC-12"),
        )
        assert unexpected(results) == []
        first.remit("HN-BD-01", "2026-12", via="bank", reference="UNC-12")
        again = second.remit("HN-BD-01", "2026-12", via="bank", reference="UNC-12")
        assert again.duplicate
        payable, remitted, _ = second.payable_for("HN-BD-01", "2026-12")
        assert (payable, remitted) == (147_000, 147_000)
        deposit = second.get_request_or_none(second.deposit_code("HN-BD-01", "GNT-1"))
        assert deposit is not None and deposit.total == 210_000
        balances = second.account_balances()
        held = {k: v for k, v in balances.items() if k.startswith("HN-BD-01:")}
        assert held["HN-BD-01:assets:cash"] == 0
        assert held["HN-BD-01:assets:deposits_in_transit"] == 210_000
        assert held["HN-BD-01:equity:retained"] == -63_000
        assert held["HN-BD-01:liabilities:payable_to_parent"] == 0
        assert held["HN-BD-01:assets:bank"] == -147_000  # remitted once, the cash not yet seen
        assert sum(balances.values()) == 0


def test_two_cli_processes_resolving_one_item(
    apps: tuple[DuesLedger, DuesLedger], pg_schema: str
) -> None:
    """Real processes (`dangphi suspense resolve` twice at once): one resolves, the other
    is refused in two languages ("already resolved", exit 2) or asked to run again
    (exit 1), never a traceback."""
    import subprocess
    import sys
    from pathlib import Path

    first, _ = apps
    first.record_bank_transaction(line(8_000, "LAI TIEN GUI"))
    [item] = first.suspense_items("HN-BD-01")
    dangphi = str(Path(sys.executable).with_name("dangphi"))
    url = f"{PG_URL}?schema={pg_schema}"
    runs = [
        subprocess.Popen(
            [dangphi, "--db", url, "suspense", "resolve", item["id"], "--not-dues", f"lãi {n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(2)
    ]
    outcomes = [(p.wait(60), p.stderr.read() if p.stderr else "") for p in runs]
    assert sorted(code for code, _ in outcomes)[0] == 0
    for code, err in outcomes:
        assert "Traceback" not in err
        assert (
            code == 0
            or (code == 2 and "already resolved" in err)
            or (code == 1 and "run again" in err)
        ), err
    [done] = first.suspense_items("HN-BD-01", include_resolved=True)
    assert done["resolution"]["how"] == "not_dues"
    assert first.account_balances()["HN-BD-01:income:not_dues"] == -8_000
