"""Benchmark: the HTTP API serving member statements and branch balances, under load.

    .venv/bin/python -m bench.api --schema NAME [--db URL] [--workers W] [--duration S]
                                  [--connections C] [--sample K] [--naive-duration S]

The history is one `bench.projections` builds and keeps, e.g. (about 2 minutes):

    .venv/bin/python -m bench.projections --members 20000 --branches 500 --months 3 \\
        --first-period 2026-09 --keep-schema bench_api --setup-only

What runs:
  1. the read models are caught up once (timed, not the figure);
  2. `dangphi --db URL serve --workers W --no-access-log` starts in its own process
     group on a free loopback port, exactly as an operator starts it;
  3. K members (default 1,000) and K branches are picked at random; each member gets a
     `member` token for its own code, each branch a `treasurer` token for itself;
  4. before any load, 20 answers of each kind are checked against `Reads` directly (the
     same figures, or the run fails);
  5. `wrk` (a C load generator, its own process, one thread) runs for S seconds
     (default 20) with C connections (default 16) per endpoint, each request the next
     (path, token) pair of the sample: `GET /api/v1/members/{code}/statement` and then
     `GET /api/v1/orgs/{branch}/balance?period=P` (the last month). The figures are
     wrk's requests per second and its latency percentiles; any non-2xx answer fails
     the run;
  6. the naive way in the same run: the same two paths served by a plain FastAPI app
     (in this file) that answers from the ledger's aggregates (`DuesLedger.
     member_statement`, `DuesLedger.balance`), one process, the same wrk settings for
     a shorter time (default 10 s).

Targets (issue 6): each endpoint at least 1,000 requests/s with p99 under 50 ms on the
2-core machine against PostgreSQL. Needs `wrk` (Debian: `apt-get install wrk`).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__" and not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from api.bootstrap import build_ledger
from api.http.auth import issue_token
from api.settings import load_settings
from bench.month_open import conninfo, fail, machine, with_schema
from projections.reads import Reads

DEFAULT_DB = "postgresql://root@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parents[1]
JWT_KEY = "bench-api-signing-key-0123456789abcdef-0123"
TARGET_RPS = 1_000
TARGET_P99_MS = 50.0
SEED = 2026

LUA = """
local pairs_ = {%s}
local i = 0
request = function()
  i = i %% #pairs_ + 1
  local p = pairs_[i]
  return wrk.format("GET", p[1], {["Authorization"] = "Bearer " .. p[2]})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if proc.poll() is not None:
            fail(f"the server exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(base + "/openapi.json", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    fail(f"the server at {base} was not ready after {seconds:.0f} s")


def get_json(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    return subprocess.Popen(
        cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(text: str) -> dict[str, float]:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    if rps is None or total is None:
        fail(f"cannot read wrk's output:\n{text}")
    assert rps is not None and total is not None
    out = {"rps": float(rps.group(1)), "requests": float(total.group(1))}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
        out[f"p{pct}"] = float(value) * UNITS[unit]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors:.*", text)
    out["socket_errors"] = 1.0 if errors else 0.0
    return out


def run_wrk(
    base: str, pairs: list[tuple[str, str]], seconds: int, connections: int
) -> dict[str, float]:
    body = ",".join(f'{{"{p}","{t}"}}' for p, t in pairs)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(LUA % body)
        script = fh.name
    try:
        done = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                script,
                base,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(script)
    return parse_wrk(done.stdout)


def show(label: str, r: dict[str, float]) -> str:
    return (
        f"{label:<34} {r['rps']:>8,.0f} req/s  p50 {r.get('p50', 0):6.1f} ms  "
        f"p90 {r.get('p90', 0):6.1f} ms  p99 {r.get('p99', 0):6.1f} ms  "
        f"({r['requests']:,.0f} requests, non-2xx {r['non2xx']:.0f})"
    )


# --- the naive way: answers from the ledger's aggregates ------------------------------


def naive_app() -> Any:
    """The same two paths, answered from the event-sourced aggregates on every request."""
    import threading

    from fastapi import FastAPI

    ledger = build_ledger(load_settings(os.environ["DANGPHI_DATABASE_URL"]))
    lock = threading.Lock()
    app = FastAPI()

    @app.get("/openapi.json")
    def ready() -> dict[str, str]:
        return {"ok": "ready"}

    @app.get("/api/v1/members/{code}/statement")
    def statement(code: str) -> dict[str, Any]:
        with lock:
            return ledger.member_statement(code)

    @app.get("/api/v1/orgs/{code}/balance")
    def balance(code: str, period: str) -> dict[str, Any]:
        with lock:
            return ledger.balance(code, period)

    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--schema", required=True, help="a history kept by bench.projections")
    p.add_argument("--db", default=os.environ.get("DANGPHI_BENCH_DB", DEFAULT_DB))
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--duration", type=int, default=20, help="seconds of load per endpoint")
    p.add_argument("--naive-duration", type=int, default=10, help="0: skip the naive way")
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--sample", type=int, default=1_000)
    args = p.parse_args(argv)
    if shutil.which("wrk") is None:
        p.error("wrk is not installed (Debian: apt-get install wrk)")
    url = with_schema(args.db, args.schema)
    print(f"date     {datetime.now(UTC).isoformat(timespec='seconds')}")
    print(f"machine  {machine()}")
    with psycopg.connect(conninfo(args.db), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    print(f"database PostgreSQL {version[0] if version else '?'}, schema {args.schema}")
    print(f"command  {' '.join([os.path.basename(sys.executable), *sys.argv])}", flush=True)
    print(f"load     {os.getloadavg()[0]:.2f} (1-minute load average before the run)")

    ledger = build_ledger(load_settings(url))
    reads = Reads(ledger)
    try:
        t0 = time.perf_counter()
        seen = reads.catch_up()
        print(
            f"setup    read models caught up: {seen:,} events in {time.perf_counter() - t0:.1f} s"
        )
        period = ledger.current_period()
        members = [
            str(r[0]) for r in reads.views.query("SELECT code FROM rm_members ORDER BY code", [])
        ]
        branches = sorted(
            {
                str(r[0])
                for r in reads.views.query(
                    "SELECT DISTINCT org FROM rm_balance WHERE period = ? AND members > 0",
                    [period],
                )
            }
        )
        if not members or not branches:
            fail(f"schema {args.schema} holds no members or no balances for {period}")
        rng = random.Random(SEED)
        chosen_members = rng.sample(members, min(args.sample, len(members)))
        chosen_branches = [rng.choice(branches) for _ in range(args.sample)]
        now = datetime.now(UTC)
        until = now + timedelta(hours=2)
        statement_pairs = [
            (
                f"/api/v1/members/{m}/statement",
                issue_token(JWT_KEY, role="member", scope="P01", member=m, expires_at=until),
            )
            for m in chosen_members
        ]
        balance_pairs = [
            (
                f"/api/v1/orgs/{b}/balance?period={period}",
                issue_token(JWT_KEY, role="treasurer", scope=b, expires_at=until),
            )
            for b in chosen_branches
        ]
        print(
            f"sample   {len(statement_pairs):,} members (of {len(members):,}), "
            f"{len(set(chosen_branches)):,} branches (of {len(branches):,}), month {period}; "
            f"{args.workers} workers, wrk 1 thread, {args.connections} connections, "
            f"{args.duration} s per endpoint",
            flush=True,
        )
        expected = {
            "statement": {m: reads.member_statement(m) for m in chosen_members[:20]},
            "balance": {b: reads.balance(b, period=period) for b in chosen_branches[:20]},
        }
    finally:
        reads.close()
        ledger.close()

    env = os.environ | {"DANGPHI_JWT_KEY": JWT_KEY, "DANGPHI_DATABASE_URL": url}
    env.pop("DANGPHI_ENV", None)
    results: dict[str, dict[str, float]] = {}
    logs = Path(tempfile.mkdtemp(prefix="bench-api-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(
        [
            str(ROOT / ".venv" / "bin" / "dangphi"),
            "--db",
            url,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--no-access-log",
        ],
        env,
        logs / "serve.log",
    )
    try:
        wait_ready(base, server)
        for m, want in expected["statement"].items():
            token = dict(statement_pairs)[f"/api/v1/members/{m}/statement"]
            got = get_json(f"{base}/api/v1/members/{m}/statement", token)
            if got["months"] != json.loads(json.dumps(want["months"], default=str)):
                fail(f"the API's statement of {m} differs from the read model's")
        for b, want in expected["balance"].items():
            token = issue_token(JWT_KEY, role="treasurer", scope=b, expires_at=until)
            got = get_json(f"{base}/api/v1/orgs/{b}/balance?period={period}", token)
            if got != json.loads(json.dumps(want, default=str)):
                fail(f"the API's balance of {b} differs from the read model's")
        print("checked  20 statements and 20 balances equal the read models", flush=True)
        run_wrk(base, statement_pairs[:50], 3, args.connections)  # warm-up, not counted
        results["statement"] = run_wrk(base, statement_pairs, args.duration, args.connections)
        print(show("API member statement", results["statement"]), flush=True)
        results["balance"] = run_wrk(base, balance_pairs, args.duration, args.connections)
        print(show("API branch balance", results["balance"]), flush=True)
    finally:
        stop(server)

    if args.naive_duration:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        naive = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.api:naive_app",
                "--factory",
                "--port",
                str(port),
                "--no-access-log",
            ],
            env,
            logs / "naive.log",
        )
        try:
            wait_ready(base, naive)
            for kind, pairs in (("statement", statement_pairs), ("balance", balance_pairs)):
                r = run_wrk(base, pairs, args.naive_duration, args.connections)
                results[f"naive {kind}"] = r
                print(show(f"naive (aggregates) {kind}", r), flush=True)
        finally:
            stop(naive)

    ok = True
    for kind in ("statement", "balance"):
        r = results[kind]
        if r["non2xx"] or r["socket_errors"]:
            print(f"FAIL     {kind}: {r['non2xx']:.0f} non-2xx answers or socket errors")
            ok = False
        meets = r["rps"] >= TARGET_RPS and r.get("p99", 1e9) < TARGET_P99_MS
        naive_r = results.get(f"naive {kind}")
        ratio = f", ×{r['rps'] / naive_r['rps']:,.1f} the naive way" if naive_r else ""
        print(
            f"target   {kind}: {r['rps']:,.0f} req/s (≥ {TARGET_RPS:,}), p99 "
            f"{r.get('p99', 0):.1f} ms (< {TARGET_P99_MS:.0f}): "
            f"{'met' if meets else 'NOT met'}{ratio}"
        )
    print(f"logs     {logs}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
