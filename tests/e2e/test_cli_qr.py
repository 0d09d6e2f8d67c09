"""VietQR and payment requests through the `dangphi` command line (SQLite and PostgreSQL).

A member asks for a QR and pays it; a treasurer pays for several members with one QR;
a branch that has only a personal account is refused unless it records an override.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from typer.testing import CliRunner, Result

from api.bootstrap import build_ledger
from api.cli.main import app
from api.settings import load_settings
from ledger.ports import BankTransactionFact
from payment_gateways.gateways.payos import sign
from payment_gateways.vietqr import crc16
from tests.e2e.conftest import as_json, ok, run

runner = CliRunner()
VALID = "00020101021238540010A00000072701240006970436011010123456780208QRIBFTTA53037045405700005802VN62250821DPK7Q2M9XA DP 12/2026630488E7"


def with_crc(payload: str) -> str:
    """The payload with its CRC recomputed, so the codec gets past tag 63 to the fault."""
    body = payload[:-4]
    return body + crc16(body)


def refused(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Lỗi:" in result.output and "Error:" in result.output
    assert "Traceback" not in result.output
    return result.output


def notify(db_url: str, status: dict[str, Any], amount: int, tx: str) -> bool:
    """A SePay-like notification of money into the request's account (the webhook path)."""
    ledger = build_ledger(load_settings(db_url))
    try:
        fact = BankTransactionFact(
            source="sepay",
            external_id=tx,
            bin_code=None,
            account_number=status["target"]["account_number"],
            direction="in",
            amount=amount,
            value_date="2026-12-15",
            narrative=f"MBVCB.4525077405.{status['reference']}.CT tu 0351000646393",
        )
        return ledger.record_bank_transaction(fact)[1]
    finally:
        ledger.close()


class TestTheVietQRCommands:
    def test_encode_then_decode_gives_back_the_fields(self) -> None:
        payload = runner.invoke(
            app,
            shlex.split(
                "vietqr encode --bin 970436 --account 1012345678 --amount 70000 --purpose 'Đảng phí tháng 12'"
            ),
        ).stdout.strip()
        fields = json.loads(runner.invoke(app, ["vietqr", "decode", payload, "--json"]).stdout)
        assert fields == {
            "bin": "970436",
            "account": "1012345678",
            "service": "QRIBFTTA",
            "poi": "dynamic",
            "amount": 70000,
            "purpose": "Dang phi thang 12",
            "crc": payload[-4:],
        }

    @pytest.mark.parametrize(
        ("payload", "tag"),
        [
            (VALID[:-4] + "0000", "63"),
            (VALID + "00", "63"),
            (with_crc(VALID.replace("5405700005802", "5405700A05802")), "54"),
        ],
    )
    def test_a_bad_payload_exits_2_naming_the_tag(self, payload: str, tag: str) -> None:
        output = refused(runner.invoke(app, ["vietqr", "decode", payload]))
        assert tag in output

    def test_the_png_scans_back_to_the_same_payload(self, tmp_path: Path) -> None:
        target = tmp_path / "qr.png"
        result = runner.invoke(app, ["vietqr", "png", VALID, "-o", str(target)])
        assert result.exit_code == 0, result.output
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(target))] == [VALID]


class TestAMemberPaysByQR:
    def test_pay_request_prints_the_ledgers_amount_and_the_month_is_paid_after_the_transfer(
        self, branch: str, tmp_path: Path
    ) -> None:
        status = as_json(branch, f"pay-request --member M1 --png {tmp_path / 'm1.png'}")
        assert (status["total"], status["status"], status["target"]["holder_kind"]) == (
            72_346,
            "open",
            "organisation",
        )
        assert [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "m1.png"))] == [
            status["payload"]
        ]
        assert notify(branch, status, 72_346, "SEPAY-1") and not notify(
            branch, status, 72_346, "SEPAY-1"
        )
        assert as_json(branch, f"request status {status['reference']}")["status"] == "paid"
        statement = as_json(branch, "member statement M1")
        assert statement["months"][0]["outstanding"] == 0 and statement["paid_through"] == "2026-12"

    def test_paying_ahead_asks_for_the_months_ahead(self, branch: str) -> None:
        status = as_json(branch, "pay-request --member M3 --months 2")
        assert status["total"] == 3 * 5_000

    def test_a_month_the_branch_has_not_opened_is_named_not_silently_left_out(
        self, branch: str, frozen: Any
    ) -> None:
        frozen.move_to("2027-02-10 10:00:00+07:00")  # 2027-01 was never opened
        status = as_json(branch, "pay-request --member M3")
        assert status["items"][0][1] == ["2026-12", "2027-02"]
        assert status["months_not_opened"] == ["2027-01"]
        text = ok(branch, "pay-request --member M3").stdout
        assert "chưa mở sổ tháng 2027-01" in text and "has not opened 2027-01 yet" in text
        ok(branch, "month open --period 2027-01")
        assert as_json(branch, "pay-request --member M3")["months_not_opened"] == []
        assert "not opened" not in ok(branch, "pay-request --member M3").stdout

    def test_a_cancelled_request_says_so(self, branch: str) -> None:
        status = as_json(branch, "pay-request --member M2")
        ok(branch, f"request cancel {status['reference']} --reason 'nộp tiền mặt'")
        assert as_json(branch, f"request status {status['reference']}")["status"] == "cancelled"


class TestPayOnBehalf:
    def test_one_qr_for_several_members_is_split_exactly(self, branch: str) -> None:
        status = as_json(
            branch, "batch create --payer 'Bí thư chi bộ' --members M1,M2,M3 --period 2026-12"
        )
        assert status["total"] == 72_346 + 25_000 + 5_000
        notify(branch, status, status["total"], "SEPAY-9")
        for member in ("M1", "M2", "M3"):
            assert as_json(branch, f"member statement {member}")["outstanding"] == 0

    def test_a_batch_paid_short_shows_what_arrived_and_what_each_member_still_owes(
        self, branch: str
    ) -> None:
        status = as_json(
            branch, "batch create --payer 'Bí thư chi bộ' --members M2,M3 --period 2026-12"
        )
        assert status["total"] == 25_000 + 5_000
        notify(branch, status, 15_000, "SEPAY-10")  # half: each share in proportion
        shown = as_json(branch, f"request status {status['reference']}")
        assert (shown["status"], shown["received"], shown["remaining"]) == (
            "partly_paid",
            15_000,
            [12_500, 2_500],
        )
        shown_text = ok(branch, f"request status {status['reference']}").stdout
        # the payload on a line of its own, whole, to copy (it was cut at 80 columns)
        assert f"VietQR: {status['payload']}\n" in shown_text
        text = " ".join(shown_text.split())
        assert "Đã nhận / Received │ 15,000 đ" in text
        assert "M2: 2026-12 — 25,000 đ (còn thiếu / still owed 12,500 đ)" in text
        assert "M3: 2026-12 — 5,000 đ (còn thiếu / still owed 2,500 đ)" in text

    def test_a_batch_whose_members_paid_otherwise_says_nothing_more_is_owed(
        self, branch: str
    ) -> None:
        status = as_json(
            branch, "batch create --payer 'Bí thư chi bộ' --members M2,M3 --period 2026-12"
        )
        notify(branch, status, 5_000, "SEPAY-11")  # short: in proportion
        ok(branch, "pay --member M2 --amount 25000 --channel cash --reference PT-M2")
        ok(branch, "pay --member M3 --amount 5000 --channel cash --reference PT-M3")
        shown = as_json(branch, f"request status {status['reference']}")
        assert (shown["status"], shown["remaining"]) == ("partly_paid", [0, 0])
        text = " ".join(ok(branch, f"request status {status['reference']}").stdout.split())
        assert "nothing more owed under it" in text


class TestPersonalAccounts:
    def test_a_request_into_a_personal_account_is_refused_and_nothing_is_written(
        self, branch: str
    ) -> None:
        output = refused(run(branch, "pay-request --member M4"))
        assert "cá nhân" in output and "personal" in output

    def test_with_an_override_reason_it_is_made_and_the_reason_kept(self, branch: str) -> None:
        status = as_json(
            branch, "pay-request --member M4 --override-reason 'chưa mở tài khoản tổ chức'"
        )
        assert status["target"]["holder_kind"] == "personal"
        assert status["override_reason"] == "chưa mở tài khoản tổ chức"

    def test_an_unknown_member_and_a_negative_months_value_are_refused(self, branch: str) -> None:
        refused(run(branch, "pay-request --member NOPE"))
        refused(run(branch, "pay-request --member M1 --months -1"))


class TestWebhookReplay:
    """A treasurer replays a saved payOS notification: the same path the HTTP endpoint uses."""

    def body(self, status: dict[str, Any], key: str, amount: int) -> dict[str, Any]:
        data = {
            "orderCode": 123,
            "amount": amount,
            "description": f"{status['reference']} DP 12 2026",
            "accountNumber": status["target"]["account_number"],
            "reference": "FT2612150001",
            "transactionDateTime": "2026-12-15 10:05:00",
            "currency": "VND",
            "paymentLinkId": "pl-1",
            "code": "00",
            "desc": "success",
            "counterAccountBankId": "",
            "counterAccountBankName": "",
            "counterAccountName": "NGUYEN VAN AN",
            "counterAccountNumber": "0351000646393",
            "virtualAccountName": "",
            "virtualAccountNumber": "",
        }
        return {
            "code": "00",
            "desc": "success",
            "success": True,
            "data": data,
            "signature": sign(data, key),
        }

    def test_a_signed_notification_replayed_three_times_pays_the_month_once(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DANGPHI_PAYOS_CHECKSUM_KEY", "payos-test-key")
        status = as_json(branch, "pay-request --member M1")
        saved = tmp_path / "payos.json"
        saved.write_text(json.dumps(self.body(status, "payos-test-key", 72_346)), encoding="utf-8")
        results = [as_json(branch, f"webhook replay {saved} --gateway payos") for _ in range(3)]
        assert [r[0]["recorded"] for r in results] == [True, False, False]
        assert results[0][0]["matched"]["target"] == status["reference"]
        assert as_json(branch, "member statement M1")["months"][0]["paid"] == 72_346

    def test_the_replay_says_what_waits_in_suspense(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A check found the human output silent about money held for the treasurer."""
        monkeypatch.setenv("DANGPHI_PAYOS_CHECKSUM_KEY", "payos-test-key")
        status = as_json(branch, "pay-request --member M1")
        over = self.body(status, "payos-test-key", 100_000)  # a member's excess is credit
        over["data"]["description"] = "CHUYEN TIEN"  # no code: all of it waits
        over["signature"] = sign(over["data"], "payos-test-key")
        saved = tmp_path / "payos.json"
        saved.write_text(json.dumps(over), encoding="utf-8")
        said = ok(branch, f"webhook replay {saved} --gateway payos").stdout
        assert "tạm giữ / in suspense 100,000 đ" in said, said
        [row] = as_json(branch, f"webhook replay {saved} --gateway payos")
        assert (row["recorded"], row["held"], row["flagged"]) == (False, 100_000, False)
        # once the treasurer has resolved it, nothing waits any more: the replay says so
        [item] = as_json(branch, "suspense list --org B1")
        ok(branch, f"suspense resolve {item['id']} --not-dues 'lãi tiền gửi'")
        said = ok(branch, f"webhook replay {saved} --gateway payos").stdout
        assert "in suspense" not in said and "already recorded" in said, said
        assert as_json(branch, f"webhook replay {saved} --gateway payos")[0]["held"] == 0

    def overpaid_batch(self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        """A payOS notification paying a batch for M2 and M3 30,000 more than it asks."""
        monkeypatch.setenv("DANGPHI_PAYOS_CHECKSUM_KEY", "payos-test-key")
        status = as_json(branch, "batch create --payer 'Bí thư' --members M2,M3 --period 2026-12")
        body = self.body(status, "payos-test-key", status["total"] + 30_000)
        saved = tmp_path / "payos.json"
        saved.write_text(json.dumps(body), encoding="utf-8")
        return saved

    def test_a_batchs_excess_resolved_no_longer_reads_in_suspense(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        saved = self.overpaid_batch(branch, tmp_path, monkeypatch)
        [row] = as_json(branch, f"webhook replay {saved} --gateway payos")
        assert row["held"] == 30_000
        [item] = as_json(branch, "suspense list --org B1")
        ok(branch, f"suspense resolve {item['id']} --not-dues 'chuyển thừa'")
        assert "in suspense" not in ok(branch, f"webhook replay {saved} --gateway payos").stdout
        assert as_json(branch, f"webhook replay {saved} --gateway payos")[0]["held"] == 0

    def test_a_batchs_excess_reads_held_when_the_number_is_at_two_banks(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # payOS names no bank: the account's owner is ambiguous, the request's is not (a
        # review found `held` 0 for an excess still waiting)
        ok(
            branch,
            "org account add --org B2 --bin 970422 --account-number 1012345678 "
            "--holder-name 'CHI BO 2' --holder-kind organisation",
        )
        saved = self.overpaid_batch(branch, tmp_path, monkeypatch)
        assert as_json(branch, f"webhook replay {saved} --gateway payos")[0]["held"] == 30_000
        assert as_json(branch, f"webhook replay {saved} --gateway payos")[0]["held"] == 30_000

    def test_the_replay_says_when_a_line_is_in_no_books(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DANGPHI_PAYOS_CHECKSUM_KEY", "payos-test-key")
        status = as_json(branch, "pay-request --member M1")
        body = self.body(status, "payos-test-key", 100_000)
        body["data"]["accountNumber"] = "9999999999"  # nobody registered it yet
        body["data"]["description"] = "CHUYEN TIEN"
        body["signature"] = sign(body["data"], "payos-test-key")
        saved = tmp_path / "payos.json"
        saved.write_text(json.dumps(body), encoding="utf-8")
        said = ok(branch, f"webhook replay {saved} --gateway payos").stdout
        assert "not booked: the account is not registered" in said, said
        assert "chưa vào sổ" in said
        ok(
            branch,
            "org account add --org B1 --bin 970436 --account-number 9999999999 "
            "--holder-name 'CHI BO 1' --holder-kind organisation",
        )
        [row] = as_json(branch, f"webhook replay {saved} --gateway payos")
        assert (row["booked"], row["held"]) == (True, 100_000)

    def test_a_tampered_notification_is_refused_and_records_nothing(
        self, branch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DANGPHI_PAYOS_CHECKSUM_KEY", "payos-test-key")
        status = as_json(branch, "pay-request --member M1")
        body = self.body(status, "payos-test-key", 72_346)
        body["data"]["amount"] = 7_234_600
        saved = tmp_path / "payos.json"
        saved.write_text(json.dumps(body), encoding="utf-8")
        refused(run(branch, f"webhook replay {saved} --gateway payos"))
        assert as_json(branch, "member statement M1")["months"][0]["paid"] == 0
