"""The import rule: ledger/ knows nothing of the outer layers, HTTP or SQL drivers."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_LEDGER = {
    "api",
    "projections",
    "payment_gateways",
    "fastapi",
    "starlette",
    "psycopg",
    "psycopg_pool",
    "eventsourcing.postgres",
    "sqlite3",
    "eventsourcing.sqlite",
}
ALLOWED_IN_LEDGER = {"ledger", "eventsourcing", "pydantic", "dateutil"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def is_stdlib(name: str) -> bool:
    import sys

    return name.split(".")[0] in sys.stdlib_module_names


def test_ledger_imports_only_inward_layers_and_allowed_libraries() -> None:
    offenders = []
    for path in sorted((ROOT / "ledger").rglob("*.py")):
        for name in imported_modules(path):
            top = name.split(".")[0]
            forbidden = any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_LEDGER)
            if forbidden or not (top in ALLOWED_IN_LEDGER or is_stdlib(name)):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_projections_and_gateways_do_not_import_the_api() -> None:
    offenders = []
    for package in ("projections", "payment_gateways"):
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += [
                f"{path.relative_to(ROOT)} imports {n}"
                for n in imported_modules(path)
                if n == "api" or n.startswith("api.")
            ]
    assert offenders == []


def test_the_rule_catches_an_outer_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from api.settings import load_settings\nimport psycopg\n")
    assert {"api.settings", "psycopg"} <= imported_modules(bad)
