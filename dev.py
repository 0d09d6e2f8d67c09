#!/usr/bin/env python3
"""Bootstrap and run dangphi on a fresh machine with nothing but Python 3.11+.

    python3 dev.py demo        # the main job: the demo on the embedded SQLite default
    python3 dev.py test        # the whole test suite: lint, types, tests on SQLite and PostgreSQL
    python3 dev.py run ARGS    # any dangphi command, e.g. `python3 dev.py run balance --org TW`

It creates `.venv` beside this file, installs the pinned dependencies from
`requirements.lock` (again only when that file changes) and the project itself,
then runs the command inside the virtual environment. Standard library only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".dangphi-installed"


def _run(*args: str | Path, check: bool = True, here: bool = False) -> int:
    """Run a command in the checkout, or (`here`) in the caller's own folder: a user's
    `run statement import file.csv` names a file where they are, and the demo writes its
    database there, as the README says."""
    cwd = None if here else ROOT
    return subprocess.run([str(a) for a in args], cwd=cwd, check=check).returncode


def ensure_venv() -> None:
    """Create .venv and install pinned dependencies unless already current."""
    if not PY.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256(LOCK.read_bytes() + (ROOT / "pyproject.toml").read_bytes())
    digest = wanted.hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    print("dev.py: installing pinned dependencies (requirements.lock)", flush=True)
    _run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", LOCK)
    _run(
        PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", "."
    )
    STAMP.write_text(digest)


def ensure_hledger() -> None:
    """CI must run the journal tests (tests/e2e/test_journal_export.py): install hledger
    from Debian's packages when it is missing. Outside CI those tests skip without it."""
    if not os.environ.get("CI") or shutil.which("hledger"):
        return
    print("dev.py: installing hledger (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "-qq", "update"], check=False, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "hledger"],
        check=False,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def run_tests(extra: list[str]) -> int:
    """Lint, type-check and run pytest; the exit status is the first failure."""
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff check", [BIN / "ruff", "check", "."]),
        ("ruff format --check", [BIN / "ruff", "format", "--check", "."]),
        ("mypy --strict ledger", [BIN / "mypy", "--strict", "ledger"]),
    ]
    for title, cmd in steps:
        print(f"dev.py: {title}", flush=True)
        code = _run(*cmd, check=False)
        if code:
            print(f"dev.py: {title} failed (exit {code})", flush=True)
            return code
    ensure_hledger()
    print("dev.py: pytest (SQLite and PostgreSQL)", flush=True)
    code = _run(PY, "-m", "pytest", "-n", "2", *extra, check=False)
    if code == 5:
        print("dev.py: pytest collected no tests; that is a failure here", flush=True)
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "run", "setup"}:
        print(__doc__)
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "test":
        return run_tests(rest)
    dangphi = BIN / "dangphi"
    if command == "demo":
        return _run(dangphi, "demo", *rest, check=False, here=True)
    return _run(dangphi, *rest, check=False, here=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
