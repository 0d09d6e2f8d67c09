"""Choosing a gateway by name from settings, and the plain transfer that has no webhook."""

from __future__ import annotations

import pytest

from ledger.errors import InvalidInput, NotificationRejected
from payment_gateways.gateways import (
    NAMES,
    SETTINGS,
    CassoGateway,
    PayOSGateway,
    PortalGateway,
    SePayGateway,
    TransferGateway,
    VietQREncoder,
    gateway_for,
)
from payment_gateways.vietqr import decode

CONFIGURED = {
    "DANGPHI_SEPAY_API_KEY": "sepay-key",
    "DANGPHI_CASSO_SECURE_TOKEN": "casso-token",
    "DANGPHI_PAYOS_CHECKSUM_KEY": "payos-key",
    "DANGPHI_PORTAL_SECRET": "portal-secret",
}
PAYLOAD = VietQREncoder().encode_transfer(
    bin_code="970436", account="1012345678", amount=70_000, purpose="DPK7Q2M9XM DP 12/2026"
)


class TestTheRegistry:
    @pytest.mark.parametrize(
        ("name", "cls"),
        [
            ("sepay", SePayGateway),
            ("casso", CassoGateway),
            ("payos", PayOSGateway),
            ("portal", PortalGateway),
            ("transfer", TransferGateway),
            (" SePay ", SePayGateway),
        ],
    )
    def test_each_name_gives_its_gateway(self, name: str, cls: type) -> None:
        gateway = gateway_for(name, CONFIGURED)

        assert isinstance(gateway, cls) and gateway.name == name.strip().lower()

    def test_every_named_gateway_is_known_and_the_settings_name_their_secrets(self) -> None:
        assert set(NAMES) == {"sepay", "casso", "payos", "portal", "transfer"}
        assert set(SETTINGS.values()) == set(CONFIGURED)

    def test_an_unknown_name_is_refused(self) -> None:
        with pytest.raises(NotificationRejected) as raised:
            gateway_for("momo", CONFIGURED)
        assert isinstance(raised.value, InvalidInput) and raised.value.field == "gateway"

    @pytest.mark.parametrize("name", ["sepay", "casso", "payos", "portal"])
    def test_a_gateway_without_its_secret_is_refused_naming_the_setting(self, name: str) -> None:
        with pytest.raises(NotificationRejected) as raised:
            gateway_for(name, {**CONFIGURED, SETTINGS[name]: "  "})
        assert SETTINGS[name] in raised.value.message_en

    def test_a_plain_transfer_needs_no_secret(self) -> None:
        assert isinstance(gateway_for("transfer", {}), TransferGateway)


class TestRendering:
    @pytest.mark.parametrize("name", NAMES)
    def test_every_gateway_draws_the_request_qr_as_png_and_svg(self, name: str) -> None:
        rendered = gateway_for(name, CONFIGURED).render(PAYLOAD)

        assert rendered.payload == PAYLOAD and decode(rendered.payload).amount == 70_000
        assert rendered.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert rendered.svg.lstrip().startswith("<") and "<path" in rendered.svg

    def test_a_payload_that_is_not_a_vietqr_is_not_drawn(self) -> None:
        with pytest.raises(InvalidInput) as raised:
            TransferGateway().render("hello")
        assert raised.value.field == "payload"


class TestThePlainTransfer:
    def test_a_notification_is_refused_because_the_statement_confirms_it(self) -> None:
        with pytest.raises(NotificationRejected) as raised:
            TransferGateway().parse_notification(b'{"amount": 70000}', {})
        assert "bank statement" in raised.value.message_en
        assert "sao kê" in raised.value.message_vi
