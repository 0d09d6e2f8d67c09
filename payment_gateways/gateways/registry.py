"""Which gateway a name stands for, built from settings.

Rule: each gateway that authenticates notifications needs its secret from
the settings (the environment in production); a gateway asked for without
its secret is refused with `GatewayNotConfigured`, a name that is no gateway
with `NotificationRejected` (both `InvalidInput`), so an unconfigured webhook
never accepts anything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ledger.errors import GatewayNotConfigured, NotificationRejected
from ledger.ports import PaymentGateway

from .casso import CassoGateway
from .payos import PayOSGateway
from .portal import PortalGateway
from .sepay import SePayGateway
from .transfer import TransferGateway

SETTINGS: dict[str, str] = {
    "sepay": "DANGPHI_SEPAY_API_KEY",
    "casso": "DANGPHI_CASSO_SECURE_TOKEN",
    "payos": "DANGPHI_PAYOS_CHECKSUM_KEY",
    "portal": "DANGPHI_PORTAL_SECRET",
}
_BUILDERS: dict[str, Callable[[str], PaymentGateway]] = {
    "sepay": SePayGateway,
    "casso": CassoGateway,
    "payos": PayOSGateway,
    "portal": PortalGateway,
}
NAMES = ("transfer", *_BUILDERS)


def gateway_for(name: str, settings: Mapping[str, str]) -> PaymentGateway:
    """The gateway called `name` ("sepay", "casso", "payos", "transfer", "portal")."""
    key = name.strip().lower() if isinstance(name, str) else ""
    if key == "transfer":
        return TransferGateway()
    if key not in _BUILDERS:
        raise NotificationRejected(
            f"Không có cổng thanh toán '{name}' (có: {', '.join(NAMES)})",
            f"No payment gateway '{name}' (known: {', '.join(NAMES)})",
            field="gateway",
        )
    secret = (settings.get(SETTINGS[key]) or "").strip()
    if not secret:
        raise GatewayNotConfigured(
            f"Cổng '{key}' chưa được cấu hình: thiếu {SETTINGS[key]}",
            f"Gateway '{key}' is not configured: {SETTINGS[key]} is not set",
            field="gateway",
        )
    return _BUILDERS[key](secret)
