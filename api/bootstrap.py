"""The composition root: build the ledger from settings, with the storage's bulk reader."""

from __future__ import annotations

from api.settings import Settings, load_settings
from api.storage import binary_snapshot_inserts, bulk_reader_for
from ledger.app import DuesLedger
from ledger.clock import Clock
from ledger.identity import IdentityCipher
from payment_gateways.gateways.encoder import BankList, VietQREncoder


def build_ledger(settings: Settings | None = None, *, clock: Clock | None = None) -> DuesLedger:
    settings = settings or load_settings()
    cipher = IdentityCipher(settings.cipher_key) if settings.cipher_key else None
    app = DuesLedger(env=settings.env, clock=clock, identity_cipher=cipher)
    snapshots = app.snapshots.recorder if app.snapshots else None
    binary_snapshot_inserts(snapshots)
    reader = bulk_reader_for(app.recorder, snapshots)
    if reader is not None:
        app.reader = reader
    app.qr_encoder = VietQREncoder()
    app.bank_directory = BankList()
    return app
