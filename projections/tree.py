"""Read model: the party tree over time, as effective and as known.

Rows: every organisation (`rm_org`) and every parent-child link with the months it
holds (`rm_children`), each stamped with the time it was recorded (and, for a link
that ended, the time its end was recorded). So the tree can be asked for any month
("effective") as the ledger knew it at any time ("known at"): the roll-ups of
`projections.balances` follow it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ledger.organisation import Organisation
from projections.base import ReadModel, collect_handlers, handles
from projections.store import Table, Views

ORG = Table(
    "rm_org",
    [
        ("code", "TEXT"),
        ("id", "TEXT"),
        ("name", "TEXT"),
        ("type", "TEXT"),
        ("created_from", "TEXT"),
        ("ended_from", "TEXT"),
        ("ended_how", "TEXT"),
        ("merged_into", "TEXT"),
        ("recorded_at", "TEXT"),
        ("ended_recorded_at", "TEXT"),
    ],
    ["code"],
)
ORG_IDS = Table("rm_org_ids", [("id", "TEXT"), ("code", "TEXT")], ["id"])
CHILDREN = Table(
    "rm_children",
    [
        ("parent", "TEXT"),
        ("child", "TEXT"),
        ("since", "TEXT"),
        ("recorded_at", "TEXT"),
        ("until", "TEXT"),
        ("until_recorded_at", "TEXT"),
    ],
    ["parent", "child", "since"],
)


class TreeModel(ReadModel):
    name = "tree"
    tables: ClassVar[list[Table]] = [ORG, ORG_IDS, CHILDREN]
    indexes: ClassVar[list[str]] = [
        "CREATE INDEX IF NOT EXISTS rm_children_child ON rm_children (child)"
    ]
    groups: ClassVar[dict[str, int]] = {"rm_children": 1}

    def _code(self, event: Any) -> str:
        row = self.get("rm_org_ids", (str(event.originator_id),))
        assert row is not None, f"organisation {event.originator_id} seen before it was registered"
        return str(row[0])

    @handles(Organisation.Registered)  # type: ignore[attr-defined]
    def _registered(self, e: Any, pos: int, at: str) -> None:
        self.put("rm_org_ids", (str(e.originator_id),), [e.code])
        self.put(
            "rm_org",
            (e.code,),
            [str(e.originator_id), e.name, e.org_type, e.from_period, None, None, None, at, None],
        )

    @handles(Organisation.ChildAttached)  # type: ignore[attr-defined]
    def _attached(self, e: Any, pos: int, at: str) -> None:
        self.put("rm_children", (self._code(e), e.child_code, e.from_period), [at, None, None])

    @handles(Organisation.ChildDetached)  # type: ignore[attr-defined]
    def _detached(self, e: Any, pos: int, at: str) -> None:
        parent = self._code(e)
        self.get("rm_children", (parent, e.child_code, ""))  # loads the parent's links
        for key, row in list(self._rows.get("rm_children", {}).items()):
            if row is not None and key[0] == parent and key[1] == e.child_code and row[1] is None:
                self.put("rm_children", key, [row[0], e.from_period, at])

    @handles(Organisation.Ended)  # type: ignore[attr-defined]
    def _ended(self, e: Any, pos: int, at: str) -> None:
        code = self._code(e)
        row = self.get("rm_org", (code,))
        assert row is not None
        row[4:7] = [e.from_period, e.how, e.merged_into]
        row[8] = at
        self.put("rm_org", (code,), row)


TreeModel.handlers = collect_handlers(TreeModel)


class TreeReader:
    """The tree as effective in a month and as known at a time (None: as known now)."""

    def __init__(self, views: Views):
        self.views = views

    ORG_SQL = (
        "SELECT code, name, type, created_from, ended_from, recorded_at FROM rm_org WHERE code = ?"
    )

    def org(self, code: str) -> dict[str, Any] | None:
        return self.org_of(self.views.query(self.ORG_SQL, [code]))

    @staticmethod
    def org_of(rows: list[Any]) -> dict[str, Any] | None:
        """An organisation from the rows of `ORG_SQL`."""
        if not rows:
            return None
        c, name, typ, created, ended, at = rows[0]
        return {
            "code": c,
            "name": name,
            "type": typ,
            "created_from": created,
            "ended_from": ended,
            "recorded_at": at,
        }

    def links(
        self, root: str, known_at: str | None
    ) -> dict[str, list[tuple[str, str, str | None]]]:
        """Every link ever under `root` (any month): parent -> [(child, since, until)]."""
        out: dict[str, list[tuple[str, str, str | None]]] = {}
        level, seen = [root], {root}
        while level:
            where, params = self.views.in_list("parent", level)
            rows = self.views.query(
                "SELECT parent, child, since, recorded_at, until, until_recorded_at "
                f"FROM rm_children WHERE {where}",
                params,
            )
            nxt: list[str] = []
            for parent, child, since, at, until, until_at in rows:
                if known_at is not None and at > known_at:
                    continue
                if known_at is not None and until_at is not None and until_at > known_at:
                    until = None
                out.setdefault(parent, []).append((child, since, until))
                if child not in seen:
                    seen.add(child)
                    nxt.append(child)
            level = nxt
        return out

    def lifetimes(
        self, codes: list[str], known_at: str | None
    ) -> dict[str, tuple[str, str | None]]:
        out: dict[str, tuple[str, str | None]] = {}
        for i in range(0, len(codes), 30000):
            where, params = self.views.in_list("code", codes[i : i + 30000])
            for code, created, ended, at, ended_at in self.views.query(
                "SELECT code, created_from, ended_from, recorded_at, ended_recorded_at "
                f"FROM rm_org WHERE {where}",
                params,
            ):
                if known_at is not None and at > known_at:
                    continue
                if known_at is not None and ended_at is not None and ended_at > known_at:
                    ended = None
                out[code] = (created, ended)
        return out


def subtree_at(
    root: str,
    period: str,
    links: dict[str, list[tuple[str, str, str | None]]],
    lifetimes: dict[str, tuple[str, str | None]],
) -> list[str]:
    """Organisations active in `period` under `root` (root first), the shape the tree had then;
    the same walk as `ledger.services.base.LedgerBase.subtree`."""
    out: list[str] = []
    seen: set[str] = set()
    level = [root]
    while level:
        nxt: list[str] = []
        for code in level:
            if code in seen or code not in lifetimes:
                continue
            seen.add(code)
            created, ended = lifetimes[code]
            if created <= period and (ended is None or period < ended):
                out.append(code)
            nxt.extend(
                c
                for c, since, until in links.get(code, [])
                if since <= period and (until is None or period < until)
            )
        level = nxt
    return out
