"""Queries: an organisation's balance for a month, a member's statement, the event log.

Rule: figures are computed from the aggregates that own them (rolls,
remittances, registers), never stored twice. `balance` answers for the
organisation itself and `subtree_collected` for everything under it in the
shape the tree had that month. A code the ledger does not know is an error,
never a zero. (Read models replace these reads for large subtrees.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.errors import NotFound
from ledger.ids import org_id, register_id, remittance_id, roll_id
from ledger.organisation import MEMBER_TYPES, Organisation
from ledger.period import Period, add_months, parse_period
from ledger.register import Register
from ledger.remittance import Remittance
from ledger.roll import Roll
from ledger.services.base import LedgerBase

BALANCE_FIELDS = (
    "assessed",
    "collected",
    "outstanding",
    "retained",
    "payable_to_parent",
    "remitted_to_parent",
    "received_from_children",
    "in_transit",
    "subtree_collected",
)


class Queries(LedgerBase):
    def balance(self, org_code: str, period: Period | None = None) -> dict[str, Any]:
        period = parse_period(period) if period else None
        org = self.get_org(org_code)
        periods = [period] if period else self.periods_of(org_code)
        totals = dict.fromkeys(BALANCE_FIELDS, 0)
        for p in periods:
            for key, value in self._balance_for(org_code, org.org_type, p).items():
                totals[key] += value
        spent = sum(org.spending.values())
        return {
            "org": org_code,
            "name": org.name,
            "type": org.org_type,
            "period": period,
            "periods": periods,
            **totals,
            "spent": spent,
            "retained_available": totals["retained"] - spent,
        }

    def _balance_for(self, code: str, org_type: str, period: Period) -> dict[str, int]:
        out = dict.fromkeys(BALANCE_FIELDS, 0)
        org = self.get_org(code)
        if org_type in MEMBER_TYPES:
            roll = self.get_or_none(roll_id(code, period), Roll)
            if roll is not None:
                out["assessed"], out["collected"] = roll.assessed, roll.collected
                out["outstanding"] = roll.outstanding
                out["retained"], out["payable_to_parent"] = roll.retained, roll.payable
        received = self.load_many(
            [remittance_id(c, period) for c in org.children_at(period)], Remittance
        )
        for r in received.values():
            if r.parent_code == code:
                in_transit = r.in_transit
                out["received_from_children"] += r.remitted - in_transit
                out["in_transit"] += in_transit
                out["retained"] += r.parent_retained
                out["payable_to_parent"] += r.parent_payable
        own = self.get_or_none(remittance_id(code, period), Remittance)
        out["remitted_to_parent"] = own.remitted if own else 0
        branches = self.branches(period, code)
        rolls = self.load_many([roll_id(b.code, period) for b in branches], Roll)
        out["subtree_collected"] = sum(r.collected for r in rolls.values())
        return out

    def periods_of(self, org_code: str) -> list[Period]:
        """Every month opened by a branch that was ever under `org_code`.

        Not just the tree as it is now: a committee whose branches moved away
        keeps what it retained from them in earlier months.
        """
        seen: set[str] = set()
        level = [org_code]
        while level:
            orgs = self.load_many([org_id(c) for c in level if c not in seen], Organisation)
            seen.update(level)
            level = [c for o in orgs.values() for c, _, _ in o.children if c not in seen]
        registers = self.load_many([register_id(c) for c in sorted(seen)], Register)
        return sorted({p for r in registers.values() for p in r.opened})

    def retained_available(self, org_code: str) -> int:
        return int(self.balance(org_code)["retained_available"])

    def member_statement(self, code: str) -> dict[str, Any]:
        member = self.get_member(code)
        branch_codes = list(dict.fromkeys(b for _, b in member.branches))
        registers = self.load_many([register_id(b) for b in branch_codes], Register)
        keys = sorted(
            (p, b)
            for b in branch_codes
            for p in (registers[register_id(b)].opened if register_id(b) in registers else [])
            if member.branch_at(p) == b
        )
        rolls = self.load_many([roll_id(b, p) for p, b in keys], Roll)
        months: list[dict[str, Any]] = []
        for p, b in keys:
            roll = rolls.get(roll_id(b, p))
            row = roll.lines.get(code) if roll else None
            if roll is None or row is None:
                continue
            assessed, paid = int(row["assessed"]), int(row["paid"])
            months.append(
                {
                    "period": p,
                    "branch": b,
                    "assessed": assessed,
                    "paid": paid,
                    "outstanding": max(assessed - paid, 0),
                    "rule": row["rule"],
                    "policy_version": roll.policy_version,
                    "income": row["income"],
                    "exempt": row["exempt"],
                    "reduction_percent": row["reduction"],
                    "closed": roll.closed,
                }
            )
        register = registers.get(register_id(member.branch_code))
        credit = sum(
            int(r.members[code]["credit"]) for r in registers.values() if code in r.members
        )
        return {
            "member": code,
            "full_name": member.full_name,
            "branch": member.branch_code,
            "months": months,
            "assessed": sum(m["assessed"] for m in months),
            "paid": sum(m["paid"] for m in months),
            "outstanding": sum(m["outstanding"] for m in months),
            "credit": credit,
            "paid_through": self._paid_through(months, credit, register, code, member.ended_from),
            "unpaid_months_by_year": _unpaid_by_year(months),
            "ended_from": member.ended_from,
        }

    def _paid_through(
        self,
        months: list[dict[str, Any]],
        credit: int,
        register: Register | None,
        code: str,
        ended_from: str | None = None,
    ) -> Period | None:
        """The last month paid in full with every month before it; credit carries it forward."""
        through: Period | None = None
        for m in months:
            if m["outstanding"]:
                return through
            through = m["period"]
        if through is None or register is None or code not in register.members or not credit:
            return through
        book = self.policy().book
        for _ in range(120):  # at most ten years ahead
            nxt = add_months(through, 1)
            if ended_from is not None and nxt >= ended_from:
                break  # no months after the member left the party list
            due = book.assess(register.facts_at(code, nxt), nxt).amount
            if due == 0 or due > credit:
                break
            credit -= due
            through = nxt
        return through

    # -- the event log ---------------------------------------------------------
    def iter_events(self, batch: int = 1000) -> Iterator[DomainEventProtocol[Any]]:
        """Every stored event in recorded order (for audits and invariant checks)."""
        start = 1
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=batch)
            if not notifications:
                return
            for n in notifications:
                yield self.mapper.to_domain_event(n)
            start = notifications[-1].id + 1

    def postings(self) -> Iterator[tuple[DomainEventProtocol[Any], list[Any]]]:
        for e in self.iter_events():
            lines = getattr(e, "postings", None)
            if lines:
                yield e, lines

    def account_balances(self) -> dict[str, int]:
        """Debit-positive balance of every account over the whole log."""
        out: dict[str, int] = {}
        for _, lines in self.postings():
            for account, side, amount in lines:
                out[account] = out.get(account, 0) + (amount if side == "D" else -amount)
        return out


def _unpaid_by_year(months: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in months:
        if m["outstanding"]:
            out[m["period"][:4]] = out.get(m["period"][:4], 0) + 1
    return out


def require_known(value: object, vi: str, en: str) -> None:
    if value is None:
        raise NotFound(vi, en)
