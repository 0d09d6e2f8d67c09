"""The dues ledger application: every command and query of the core, on one event store.

Rule: one Application, assembled from one mixin per concern (structure,
members, months, money, queries). Storage is chosen by the eventsourcing
environment (SQLite or PostgreSQL); the composition root in `api/bootstrap.py`
builds it from settings.
"""

from __future__ import annotations

from ledger.services.cash import CashCommands
from ledger.services.inspection import InspectionCommands
from ledger.services.members import MemberCommands
from ledger.services.payments import PaymentCommands
from ledger.services.policy import PolicyCommands
from ledger.services.queries import Queries
from ledger.services.requests import RequestCommands
from ledger.services.rolls import RollCommands
from ledger.services.statements import StatementCommands
from ledger.services.structure import StructureCommands
from ledger.services.suspense import SuspenseCommands


class DuesLedger(
    StructureCommands,
    MemberCommands,
    RollCommands,
    PaymentCommands,
    PolicyCommands,
    CashCommands,
    StatementCommands,
    SuspenseCommands,
    RequestCommands,
    InspectionCommands,
    Queries,
):
    """Party dues: the tree, members, monthly rolls, payments and remittances."""
