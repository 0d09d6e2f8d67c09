"""Two lists the read models do not answer yet: an organisation's members, a member's receipts.

Rule: members come from the statements read model (`rm_credit` says which branch
registers hold a member, `rm_members` their branch history): the members whose
branch this month is in the organisation's subtree, by code. Receipts come from
the ledger itself: the `PaymentRecorded` and `PaymentsRecorded` (a statement's
chunk) events of the registers of every branch the member belonged to name the
payments, each read from its `Payment` aggregate (a payment's own record: amount,
channel, months, credit, reversal).
"""

from __future__ import annotations

import json
from typing import Any

from ledger.app import DuesLedger
from ledger.ids import payment_id, register_id
from ledger.payment import Payment
from projections.reads import Reads

CHUNK = 500
PAYMENT_RECORDED = ("Register.PaymentRecorded", "Register.PaymentsRecorded")


def _branch_at(history: list[list[str]], ended_from: str | None, period: str) -> str | None:
    current = None
    for since, branch in history:
        if since <= period:
            current = branch
    if ended_from is not None and period >= ended_from:
        return None
    return current


def org_members(reads: Reads, org: str, period: str) -> list[dict[str, Any]]:
    """Members whose branch in `period` is `org` or under it, ordered by code."""
    branches = reads.subtree(org, period)
    wanted = set(branches)
    codes: set[str] = set()
    for i in range(0, len(branches), CHUNK):
        chunk = branches[i : i + CHUNK]
        marks = ",".join("?" for _ in chunk)
        codes.update(
            r[0]
            for r in reads.views.query(
                f"SELECT member FROM rm_credit WHERE branch IN ({marks})", chunk
            )
        )
    ordered = sorted(codes)
    out: list[dict[str, Any]] = []
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i : i + CHUNK]
        marks = ",".join("?" for _ in chunk)
        for code, name, history, ended in reads.views.query(
            f"SELECT code, full_name, branches, ended_from FROM rm_members WHERE code IN ({marks})",
            chunk,
        ):
            branch = _branch_at(json.loads(history), ended, period)
            if branch in wanted:
                out.append({"code": code, "full_name": name, "branch": branch})
    out.sort(key=lambda m: m["code"])
    return out


def receipts(app: DuesLedger, code: str) -> list[dict[str, Any]]:
    """Every payment of the member, oldest first (NotFound for an unknown member)."""
    member = app.get_member(code)
    references: list[str] = []
    for branch in dict.fromkeys(b for _, b in member.branches):
        for stored in app.recorder.select_events(register_id(branch)):
            if not stored.topic.endswith(PAYMENT_RECORDED):
                continue
            event: Any = app.mapper.to_domain_event(stored)
            # one payment, or (a statement's chunk) several: [code, reference, ...]
            payments = getattr(event, "payments", None) or [[event.code, event.reference]]
            for payer, reference, *_ in payments:
                if payer == code and reference not in references:
                    references.append(reference)
    out = []
    for reference in references:
        payment = app.get_or_none(payment_id(reference), Payment)
        if payment is None:  # pragma: no cover (a register only names saved payments)
            continue
        out.append(
            {
                "reference": payment.reference,
                "amount": payment.amount,
                "channel": payment.channel,
                "received_on": payment.received_on,
                "received_by": payment.branch_code,
                "months": [
                    {"branch": b, "period": p, "amount": int(a)} for b, p, a in payment.applied
                ],
                "to_credit": payment.to_credit,
                "reversed": payment.reversed_by is not None,
                "reversed_by": payment.reversed_by,
            }
        )
    out.sort(key=lambda r: str(r["received_on"]))  # stable: recorded order within a day
    return out
