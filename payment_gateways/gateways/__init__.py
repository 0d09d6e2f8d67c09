"""Payment gateways: the adapters behind the ledger's `PaymentGateway` port.

`sepay`, `casso` and `payos` read those services' webhooks; `transfer` is a
plain VietQR transfer (no notification); `portal` is the National Public
Service Portal's payment platform, with a simulator for tests and the demo.
`encoder` implements the ledger's `QRPayloadEncoder` and `BankDirectory`
ports with the VietQR codec; `registry.gateway_for` builds one from settings.
See docs/gateways.md.
"""

from __future__ import annotations

from .casso import CassoGateway
from .encoder import BankList, VietQREncoder
from .payos import PayOSGateway
from .portal import PortalGateway, PortalSimulator
from .registry import NAMES, SETTINGS, gateway_for
from .sepay import SePayGateway
from .transfer import TransferGateway

__all__ = [
    "NAMES",
    "SETTINGS",
    "BankList",
    "CassoGateway",
    "PayOSGateway",
    "PortalGateway",
    "PortalSimulator",
    "SePayGateway",
    "TransferGateway",
    "VietQREncoder",
    "gateway_for",
]
