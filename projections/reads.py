"""Queries on the read models: balances with roll-ups, member statements, collection rates.

Rule: every answer is read from the read-model tables, after catching them up with the
event log (so a command's effect is visible to the next query). Two senses of time:

- `as_of` (a date): as *effective* then: the months up to and including that date's
  month;
- `known_at` (a time): as the ledger *knew* it then: only changes recorded by that time
  (the move tables), and the tree as recorded by then.

An organisation, member or time the ledger has no data for is an error (`NotFound`),
never a zero.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

from ledger.errors import InvalidInput, NotFound
from ledger.period import add_months, parse_period
from ledger.register import Register
from projections.balances import FIGURES, BalancesModel, N
from projections.bank import BankLinesModel, BankLinesReader
from projections.base import VIETNAM, ReadModel, ReadModels
from projections.findings import FindingsModel
from projections.statements import StatementsModel
from projections.store import Row
from projections.tree import TreeModel, TreeReader, subtree_at

MODELS: list[type[ReadModel]] = [
    TreeModel,
    BalancesModel,
    StatementsModel,
    FindingsModel,
    BankLinesModel,
]
NAMES = [m.name for m in MODELS]

# The figures `balance` shows for the organisation itself (same names as the core's query):
# every figure but the member counts.
OWN = tuple(f for f in FIGURES if not f.startswith("members"))


def parse_as_of(value: str | date | None) -> str | None:
    """A date (YYYY-MM-DD) -> the last month it covers (YYYY-MM)."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    try:
        return date.fromisoformat(value).strftime("%Y-%m")
    except ValueError:
        raise InvalidInput(
            f"Ngày '{value}' không hợp lệ (dùng YYYY-MM-DD)",
            f"Invalid date '{value}' (use YYYY-MM-DD)",
            field="as_of",
        ) from None


def parse_known_at(value: str | datetime | None) -> str | None:
    """A time (ISO 8601; without a zone, Vietnam time; a bare date means its end) -> UTC text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        ts = value
    else:
        try:
            if len(value) == 10:
                ts = datetime.fromisoformat(value + "T23:59:59.999999")
            else:
                ts = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"Thời điểm '{value}' không hợp lệ (dùng ISO 8601, ví dụ 2026-12-15T10:00:00+07:00)",
                f"Invalid time '{value}' (use ISO 8601, e.g. 2026-12-15T10:00:00+07:00)",
                field="known_at",
            ) from None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=VIETNAM)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _chunks(items: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


SMALL_SUBTREE = 64  # organisations a month, at most, for the lookup-per-organisation query
MEMBER_SQL = "SELECT full_name, branches, ended_from, recorded_at FROM rm_members WHERE code = ?"
LINES_SQL = (
    "SELECT l.branch, l.period, assessed_open, assessed, paid, rule, l.policy_version, income, "
    "exempt, reduction, r.closed FROM rm_lines l JOIN rm_rolls r "
    "ON r.branch = l.branch AND r.period = l.period "
    "WHERE l.member = ? ORDER BY l.period, l.branch"
)
CREDIT_SQL = "SELECT branch, credit, record FROM rm_credit WHERE member = ?"


class Reads:
    """The read side of one ledger."""

    def __init__(self, app: Any, models: ReadModels | None = None):
        self.app = app
        self.models = models or ReadModels(app, MODELS)
        self.views = self.models.views
        self.tree = TreeReader(self.views)
        # (scope, month) -> (log position, codes): a scope's subtree, valid while the log
        # has not moved since it was computed.
        self._subtrees: dict[tuple[str, str], tuple[int, frozenset[str]]] = {}
        self._small_subtree: dict[str, bool] = {}  # org -> its subtree was small last time
        self._bank: ReadModels | None = None

    def catch_up(self, models: ReadModels | None = None) -> int:
        """Catch `models` (default: every read model) up with the log."""
        return (models or self.models).catch_up()

    @property
    def bank(self) -> ReadModels:
        """The bank-lines model alone (the same tables and position as in `models`): what
        `reconcile` needs caught up, reading only bank-line events (a fifth of the log
        after a large import, not the whole of it)."""
        if self._bank is None:
            self._bank = ReadModels(self.app, [BankLinesModel], views=self.views, create=False)
        return self._bank

    def reconcile(self, org_code: str) -> dict[str, Any]:
        """The ledger's `reconcile`, its bank lines read from `rm_bank_lines` (its
        suspense items, statements and remittances from the ledger, as before)."""
        report: dict[str, Any] = self.app.reconcile(org_code, lines=BankLinesReader(self))
        return report

    def close(self) -> None:
        self.models.close()

    # -- balances -----------------------------------------------------------------------
    def _figures(
        self, codes: list[str], period: str | None, known_at: str | None
    ) -> dict[tuple[str, str], list[int]]:
        out: dict[tuple[str, str], list[int]] = {}
        cols = ", ".join(FIGURES)
        sums = ", ".join(f"SUM({f})" for f in FIGURES)
        for chunk in _chunks(codes, 30000):
            where, params = self.views.in_list("org", chunk)
            if period is not None:
                where += " AND period = ?"
                params.append(period)
            if known_at is None:
                sql = f"SELECT org, period, {cols} FROM rm_balance WHERE {where}"
            else:
                sql = (
                    f"SELECT org, period, {sums} FROM rm_balance_moves "
                    f"WHERE {where} AND recorded_at <= ? GROUP BY org, period"
                )
                params.append(known_at)
            for row in self.views.query(sql, params):
                out[(row[0], row[1])] = [int(v or 0) for v in row[2:]]
        return out

    def _read(
        self, *queries: tuple[str, Sequence[Any]], models: ReadModels | None = None
    ) -> list[list[Row]]:
        """The answers to `queries`, read after `models` (default: all) have seen the
        whole log: the log's last notification id is asked in the same round trip, and
        only when it is not the one the models were last caught up to does a catch-up run
        and the queries run again. (Each query reads at or after that id, so the answer
        is never older than the log when the call began.)"""
        models = models or self.models
        top_sql = models.top_sql()
        if top_sql is None:  # the views are elsewhere: ask the log, then read
            self.catch_up(models)
            return self.views.query_many(list(queries))
        top, *rows = self.views.query_many([(top_sql, ()), *queries])
        if int(top[0][0] or 0) != models.seen:
            self.catch_up(models)
            rows = self.views.query_many(list(queries))
        return rows

    def _org(
        self, code: str, known_at: str | None, rows: list[Row] | None = None
    ) -> dict[str, Any]:
        info = self.tree.org(code) if rows is None else self.tree.org_of(rows)
        if info is None or (known_at is not None and info["recorded_at"] > known_at):
            when = f" tại thời điểm {known_at}" if known_at else ""
            when_en = f" as known at {known_at}" if known_at else ""
            raise NotFound(
                f"Không có tổ chức đảng mã '{code}'{when}",
                f"No party organisation with code '{code}'{when_en}",
                field="org",
            )
        return info

    def balance(
        self,
        org_code: str,
        period: str | None = None,
        as_of: str | date | None = None,
        known_at: str | datetime | None = None,
    ) -> dict[str, Any]:
        """The organisation's own figures and its subtree's (the tree as it was each month)."""
        period = parse_period(period) if period else None
        last = parse_as_of(as_of)
        known = parse_known_at(known_at)
        if known is None:  # one round trip: the log's position, the organisation, its sums
            org_own, sub, *months = self._read(*self._sums_queries(org_code, period))
            info = self._org(org_code, known, [r[:6] for r in org_own[:1]])
            own_rows, sub_rows = self._sums_of(
                sub, [r[6:] for r in org_own if r[6]], months[0] if months else []
            )
            # Which of the two equal queries to use next time (only speed depends on it).
            self._small_subtree[org_code] = all(
                count <= SMALL_SUBTREE for _, count in sub_rows.values()
            )
        else:
            self.catch_up()
            info = self._org(org_code, known)
            own_rows, sub_rows = self._sums_walked(org_code, period, known)
        periods = sorted(sub_rows)
        if last is not None:
            periods = [p for p in periods if p <= last]
        if not periods:
            raise NotFound(
                f"Sổ chưa có số liệu của '{org_code}'"
                + (f" tháng {period}" if period else "")
                + (f" đến ngày {as_of}" if as_of else "")
                + (f" tại thời điểm {known_at}" if known_at else ""),
                f"The ledger has no figures for '{org_code}'"
                + (f" in {period}" if period else "")
                + (f" effective by {as_of}" if as_of else "")
                + (f" as known at {known_at}" if known_at else ""),
            )
        own = [0] * N
        subtree = [0] * N
        months: list[dict[str, Any]] = []
        for p in periods:
            row = own_rows.get(p, [0] * N)
            sub, count = sub_rows[p]
            for i in range(N):
                own[i] += row[i]
                subtree[i] += sub[i]
            months.append(
                {
                    "period": p,
                    **dict(zip(FIGURES, row, strict=True)),
                    "subtree": dict(zip(FIGURES, sub, strict=True)),
                    "organisations": count,
                }
            )
        figs = dict(zip(FIGURES, own, strict=True))
        subs = dict(zip(FIGURES, subtree, strict=True))
        return {
            "org": org_code,
            "name": info["name"],
            "type": info["type"],
            "period": period,
            "periods": periods,
            "as_of": str(as_of) if as_of else None,
            "known_at": known,
            **{k: figs[k] for k in OWN},
            "subtree_collected": subs["collected"],
            "retained_available": figs["retained"] - figs["spent"],
            "collection": _rates(subs),
            "subtree": subs,
            "months": months,
        }

    def _sums_walked(
        self, org_code: str, period: str | None, known: str
    ) -> tuple[dict[str, list[int]], dict[str, tuple[list[int], int]]]:
        """As known at a time: the tree as recorded by then, walked here, and the moves
        recorded by then."""
        links = self.tree.links(org_code, known)
        codes = sorted({org_code} | {c for kids in links.values() for c, _, _ in kids})
        lifetimes = self.tree.lifetimes(codes, known)
        figures = self._figures(codes, period, known)
        own = {p: v for (c, p), v in figures.items() if c == org_code}
        subs: dict[str, tuple[list[int], int]] = {}
        for p in sorted({p for _, p in figures}):
            members = subtree_at(org_code, p, links, lifetimes)
            sub = [0] * N
            for c in members:
                for i, v in enumerate(figures.get((c, p), ())):
                    sub[i] += v
            subs[p] = (sub, len(members))
        return own, subs

    def _sums_queries(self, org_code: str, period: str | None) -> list[tuple[str, list[Any]]]:
        """As known now: the subtree of each month and its sums in one recursive query,
        so a province's thousands of codes never travel to the client. The months are
        those with figures anywhere ever under the organisation (as the core's query);
        the walk is `subtree_at`'s: links valid that month, organisations active then.
        Before it the organisation with its own rows; after it the months with figures
        anywhere under it (a month whose subtree has no active organisation: it moved
        away)."""
        only = " AND b.period = ?" if period else ""
        sums = ", ".join(f"COALESCE(SUM(b.{f}), 0)" for f in FIGURES)
        small = self.views.pg and self._small_subtree.get(org_code, False)
        if small:
            # PostgreSQL, a few organisations: an index lookup per organisation and month (OFFSET 0
            # keeps the planner from turning each lookup into a hash of the whole table).
            sql = (
                "WITH RECURSIVE ever(code) AS ("
                " SELECT ? UNION SELECT c.child FROM ever e CROSS JOIN LATERAL"
                " (SELECT child FROM rm_children WHERE parent = e.code OFFSET 0) c),"
                " months(period) AS ("
                " SELECT DISTINCT b.period FROM ever e CROSS JOIN LATERAL (SELECT period FROM"
                f" rm_balance b WHERE b.org = e.code{only} OFFSET 0) b),"
                " sub(code, period) AS ("
                " SELECT ?, period FROM months UNION"
                " SELECT c.child, s.period FROM sub s CROSS JOIN LATERAL"
                " (SELECT child FROM rm_children WHERE parent = s.code AND since <= s.period"
                " AND (until IS NULL OR s.period < until) OFFSET 0) c)"
                f" SELECT s.period, COUNT(o.code), {sums} FROM sub s CROSS JOIN LATERAL"
                " (SELECT code, created_from, ended_from FROM rm_org WHERE code = s.code"
                " OFFSET 0) o LEFT JOIN LATERAL (SELECT * FROM rm_balance"
                " WHERE org = s.code AND period = s.period OFFSET 0) b ON true"
                " WHERE o.created_from <= s.period"
                " AND (o.ended_from IS NULL OR s.period < o.ended_from)"
                " GROUP BY s.period"
            )
        else:
            # Many organisations: the subtree as intervals of months, not one row per
            # organisation and month. `sub` follows each link while its months overlap
            # the parent's (a tree has one path to each organisation in any month, so
            # the intervals of one organisation never overlap); `live` cuts them to the
            # months each organisation existed; the figures are summed over the rows a
            # live interval holds (a hash join on the organisation). A province's year:
            # 4,111 intervals instead of 49,332 organisation-months.
            sql = (
                "WITH RECURSIVE ever(code) AS ("
                " SELECT ? UNION SELECT c.child FROM rm_children c JOIN ever e"
                " ON c.parent = e.code),"
                " sub(code, lo, hi) AS ("
                " SELECT ?, '', CAST(NULL AS TEXT) UNION"
                " SELECT c.child, CASE WHEN c.since > s.lo THEN c.since ELSE s.lo END,"
                " CASE WHEN s.hi IS NULL THEN c.until"
                " WHEN c.until IS NULL OR s.hi < c.until THEN s.hi ELSE c.until END"
                " FROM rm_children c JOIN sub s ON c.parent = s.code"
                " WHERE (s.hi IS NULL OR c.since < s.hi) AND (c.until IS NULL OR s.lo < c.until)"
                " AND (c.until IS NULL OR c.since < c.until)),"
                " live(code, lo, hi) AS ("
                " SELECT s.code, CASE WHEN o.created_from > s.lo THEN o.created_from ELSE s.lo END,"
                " CASE WHEN s.hi IS NULL THEN o.ended_from"
                " WHEN o.ended_from IS NULL OR s.hi < o.ended_from THEN s.hi ELSE o.ended_from END"
                " FROM sub s JOIN rm_org o ON o.code = s.code"
                " WHERE (s.hi IS NULL OR o.created_from < s.hi)"
                " AND (o.ended_from IS NULL OR s.lo < o.ended_from)),"
                " sums AS ("
                f" SELECT b.period, {', '.join(f'SUM(b.{f}) AS {f}' for f in FIGURES)}"
                " FROM rm_balance b JOIN live l ON l.code = b.org AND l.lo <= b.period"
                f" AND (l.hi IS NULL OR b.period < l.hi){only} GROUP BY b.period),"
                # Every month with figures anywhere (by the period index, a step a month),
                # kept when the subtree has figures then or an organisation ever under the
                # root has (it moved away: a month of zeros, as the core's query shows).
                " periods(p) AS (SELECT MIN(period) FROM rm_balance UNION ALL"
                " SELECT (SELECT MIN(period) FROM rm_balance WHERE period > p)"
                " FROM periods WHERE p IS NOT NULL),"
                " months(period) AS (SELECT p FROM periods WHERE p IS NOT NULL"
                f"{only.replace('b.period', 'p')} AND (p IN (SELECT period FROM sums)"
                " OR EXISTS (SELECT 1 FROM rm_balance b WHERE b.period = p"
                " AND b.org IN (SELECT code FROM ever))))"
                " SELECT m.period, (SELECT COUNT(*) FROM live l WHERE l.lo <= m.period"
                " AND (l.hi IS NULL OR m.period < l.hi)),"
                f" {', '.join(f'COALESCE(s.{f}, 0)' for f in FIGURES)}"
                " FROM months m LEFT JOIN sums s ON s.period = m.period"
            )
        in_period = [period] if period else []
        # The organisation and its own rows in one query (no rows: unknown organisation;
        # one row with no period: known, no figures).
        own_sql = (
            "SELECT o.code, o.name, o.type, o.created_from, o.ended_from, o.recorded_at,"
            f" b.period, {', '.join('b.' + f for f in FIGURES)} FROM rm_org o"
            f" LEFT JOIN rm_balance b ON b.org = o.code{only} WHERE o.code = ?"
        )
        if not small:  # the large query answers every month itself
            return [
                (own_sql, [*in_period, org_code]),
                (sql, [org_code, org_code, *in_period, *in_period]),
            ]
        if self.views.pg:
            months_sql = (
                "WITH RECURSIVE ever(code) AS ("
                " SELECT ? UNION SELECT c.child FROM ever e CROSS JOIN LATERAL"
                " (SELECT child FROM rm_children WHERE parent = e.code OFFSET 0) c)"
                " SELECT DISTINCT b.period FROM ever e CROSS JOIN LATERAL (SELECT period FROM"
                f" rm_balance b WHERE b.org = e.code{only} OFFSET 0) b"
            )
        else:
            months_sql = (
                "WITH RECURSIVE ever(code) AS ("
                " SELECT ? UNION SELECT c.child FROM rm_children c JOIN ever e"
                " ON c.parent = e.code)"
                f" SELECT DISTINCT b.period FROM rm_balance b JOIN ever e ON b.org = e.code{only}"
            )
        return [
            (own_sql, [*in_period, org_code]),
            (sql, [org_code, *in_period, org_code]),
            (months_sql, [org_code, *in_period]),
        ]

    @staticmethod
    def _sums_of(
        sub_rows: list[Row], own_rows: list[Row], month_rows: list[Row]
    ) -> tuple[dict[str, list[int]], dict[str, tuple[list[int], int]]]:
        subs = {str(r[0]): ([int(v) for v in r[2:]], int(r[1])) for r in sub_rows}
        own = {str(r[0]): [int(v) for v in r[1:]] for r in own_rows}
        for (p,) in month_rows:
            subs.setdefault(str(p), ([0] * N, 0))
        return own, subs

    def collection(
        self, org_code: str, period: str, known_at: str | datetime | None = None
    ) -> dict[str, Any]:
        """Members paid / due and amount collected / assessed, for the subtree in `period`."""
        b = self.balance(org_code, period=period, known_at=known_at)
        return {"org": org_code, "period": b["period"], **b["collection"]}

    # -- scopes (who may see what) ----------------------------------------------------
    def subtree(self, root: str, period: str) -> list[str]:
        """Codes of the organisations under `root` (itself included) in `period`, as the
        tree is now known; empty if `root` is unknown."""
        self.catch_up()
        if self.tree.org(root) is None:
            return []
        links = self.tree.links(root, None)
        codes = sorted({root} | {c for kids in links.values() for c, _, _ in kids})
        return subtree_at(root, period, links, self.tree.lifetimes(codes, None))

    def covers(self, scope: str, org_code: str, period: str) -> bool:
        """Whether `org_code` is `scope` or under it in `period`. The subtree is kept until
        the log moves (every request asks this; the tree rarely changes)."""
        self.catch_up()
        position = self.models.seen
        found = self._subtrees.get((scope, period))
        if found is None or found[0] != position:
            if len(self._subtrees) > 10_000:
                self._subtrees.clear()
            found = (position, frozenset(self.subtree(scope, period)))
            self._subtrees[(scope, period)] = found
        return org_code in found[1]

    def member_branch(self, code: str, period: str) -> str | None:
        """The member's branch in `period` (None: unknown member, or not a member then)."""
        self.catch_up()
        rows = self.views.query(
            "SELECT branches, ended_from FROM rm_members WHERE code = ?", [code]
        )
        if not rows:
            return None
        current = None
        for since, branch in json.loads(rows[0][0]):
            if since <= period:
                current = branch
        ended = rows[0][1]
        if ended is not None and period >= ended:
            return None
        return current

    # -- member statements -------------------------------------------------------------
    def member_statement(
        self,
        code: str,
        as_of: str | date | None = None,
        known_at: str | datetime | None = None,
    ) -> dict[str, Any]:
        last = parse_as_of(as_of)
        known = parse_known_at(known_at)
        lines: list[Row] | None = None
        credit_rows: list[Row] = []
        if known is None:  # one round trip: the log's position, the member, lines, credit
            rows, lines, credit_rows = self._read(
                (MEMBER_SQL, [code]), (LINES_SQL, [code]), (CREDIT_SQL, [code])
            )
        else:
            self.catch_up()
            rows = self.views.query(MEMBER_SQL, [code])
        if not rows or (known is not None and rows[0][3] > known):
            raise NotFound(
                f"Không có đảng viên mã '{code}'"
                + (f" tại thời điểm {known_at}" if known_at else ""),
                f"No member with code '{code}'" + (f" as known at {known_at}" if known_at else ""),
                field="member",
            )
        full_name, branches_json, ended_from, _ = rows[0]
        if known is not None:
            branches_json, ended_from = self.views.query(
                "SELECT branches, ended_from FROM rm_member_history "
                "WHERE code = ? AND recorded_at <= ? ORDER BY position DESC LIMIT 1",
                [code, known],
            )[0]
        history: list[list[str]] = json.loads(branches_json)

        def branch_at(p: str) -> str | None:
            current = None
            for since, b in history:
                if since <= p:
                    current = b
            if ended_from is not None and p >= ended_from:
                return None
            return current

        if lines is None:
            lines = self.views.query(LINES_SQL, [code])
        known_sums: dict[tuple[str, str], tuple[int, int]] | None = None
        if known is not None:
            known_sums = {
                (b, p): (int(a), int(pd))
                for b, p, a, pd in self.views.query(
                    "SELECT branch, period, SUM(assessed), SUM(paid) FROM rm_line_moves "
                    "WHERE member = ? AND recorded_at <= ? GROUP BY branch, period",
                    [code, known],
                )
            }
        months: list[dict[str, Any]] = []
        for (
            b,
            p,
            assessed_open,
            assessed,
            paid,
            rule,
            version,
            income,
            exempt,
            red,
            closed,
        ) in lines:
            if branch_at(p) != b or (last is not None and p > last):
                continue
            if known_sums is not None:
                if (b, p) not in known_sums:
                    continue
                assessed, paid = known_sums[(b, p)]
            assessed, paid = int(assessed), int(paid)
            months.append(
                {
                    "period": p,
                    "branch": b,
                    "assessed": assessed,
                    "assessed_at_opening": int(assessed_open),
                    "arrears": max(assessed - int(assessed_open), 0),
                    "paid": paid,
                    "outstanding": max(assessed - paid, 0),
                    "rule": rule,
                    "policy_version": version,
                    "income": income,
                    "exempt": exempt,
                    "reduction_percent": int(red or 0),
                    "closed": bool(closed),
                }
            )
        if last is not None and not months and lines:  # never shown as zeros (docs/cli.md)
            raise NotFound(
                f"Sổ chưa có tháng nào của '{code}' đến ngày {as_of}",
                f"The ledger has no month of '{code}' effective by {as_of}",
                field="as_of",
            )
        if known is None:
            credits = credit_rows
        else:
            records: dict[str, str] = {}
            for b, r in self.views.query(
                "SELECT branch, record FROM rm_record_history "
                "WHERE member = ? AND recorded_at <= ? ORDER BY position",
                [code, known],
            ):
                records[b] = r
            credits = [
                (b, int(c), records.get(b))
                for b, c in self.views.query(
                    "SELECT branch, SUM(credit) FROM rm_credit_moves "
                    "WHERE member = ? AND recorded_at <= ? GROUP BY branch",
                    [code, known],
                )
            ]
        credit = sum(int(c) for _, c, _ in credits)
        if last is not None:
            credit += self._credit_paid_after(code, last, known, branch_at)
        current = history[-1][1]
        record = next((json.loads(r) for b, _, r in credits if b == current and r), None)
        return {
            "member": code,
            "full_name": full_name,
            "branch": current,
            "months": months,
            "assessed": sum(m["assessed"] for m in months),
            "paid": sum(m["paid"] for m in months),
            "outstanding": sum(m["outstanding"] for m in months),
            "credit": credit,
            "paid_through": self._paid_through(months, credit, record, code, ended_from),
            "unpaid_months_by_year": _unpaid_by_year(months),
            "ended_from": ended_from,
            "as_of": str(as_of) if as_of else None,
            "known_at": known,
        }

    def _credit_paid_after(
        self, code: str, last: str, known: str | None, branch_at: Callable[[str], str | None]
    ) -> int:
        """What the member's credit has paid of the months after `last` (as known at
        `known`): money the member held as credit as effective by `last`. Before, a
        statement as of a date left it out of both its months and its credit (a helper's
        cross-view check). No more than a month still holds, as `Roll.credit_parts` counts."""
        sql = "SELECT branch, period, SUM(paid), SUM(credit) FROM rm_line_moves "
        sql += "WHERE member = ? AND period > ?"
        params: list[Any] = [code, last]
        if known is not None:
            sql += " AND recorded_at <= ?"
            params.append(known)
        rows = self.views.query(sql + " GROUP BY branch, period", params)
        return sum(max(min(int(c), int(pd)), 0) for b, p, pd, c in rows if branch_at(p) == b)

    def _paid_through(
        self,
        months: list[dict[str, Any]],
        credit: int,
        record: dict[str, Any] | None,
        code: str,
        ended_from: str | None = None,
    ) -> str | None:
        """The last month paid in full with every month before it; credit carries it
        forward at what the member's facts (kept by the read model) would be assessed."""
        through: str | None = None
        for m in months:
            if m["outstanding"]:
                return through
            through = m["period"]
        if through is None or record is None or not credit:
            return through
        book = self.app.policy().book
        holder = SimpleNamespace(members={code: record})
        for _ in range(120):  # at most ten years ahead
            nxt = add_months(through, 1)
            if ended_from is not None and nxt >= ended_from:
                break  # no months after the member left the party list
            facts = Register.facts_at(holder, code, nxt)  # type: ignore[arg-type]
            due = book.assess(facts, nxt).amount
            if due == 0 or due > credit:
                break
            credit -= due
            through = nxt
        return through


def _rates(fig: dict[str, int]) -> dict[str, Any]:
    due, paid = fig["members_due"], fig["members_paid"]
    assessed, collected = fig["assessed"], fig["collected"]
    return {
        "members": fig["members"],
        "members_exempt": fig["members_exempt"],
        "members_due": due,
        "members_paid": paid,
        "members_rate": _ratio(paid, due),
        "assessed": assessed,
        "collected": collected,
        "amount_rate": _ratio(collected, assessed),
    }


def _ratio(part: int, whole: int) -> str | None:
    """A rate as decimal text with four places (no float), or None when nothing was due."""
    if not whole:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def _unpaid_by_year(months: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for m in months:
        if m["outstanding"]:
            out[m["period"][:4]] = out.get(m["period"][:4], 0) + 1
    return out
