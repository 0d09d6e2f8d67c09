"""Benchmark: VietQR encode, decode and PNG rendering, ours beside PyPI packages.

    .venv/bin/python bench/vietqr.py [--payloads N] [--png N] [--rounds R] [--seconds S]

Builds N distinct payment requests (default 2,000: BINs from the bank list,
accounts of 6-19 digits, amounts, ASCII memos) and times, in the same process:

- encode: ours `encode(...)`; vietnam-qr-pay `QRPay.init_viet_qr(...).build()`
  (byte-identical output, checked); vietqr-emvco `VietQRGenerator.generate`
  (adds tags 52 and 59, so slightly more text).
- decode: ours `decode(...)` (strict, typed result); vietnam-qr-pay `QRPay(payload)`
  (CRC check and parse); vietqr-emvco `VietQRParser.parse` + `verify_checksum`.
- PNG: ours `png(...)`; the common way (what vietnam-qr-pay's examples and vnqr do):
  qrcode `QRCode(error_correction=M).make(fit=True)`, `make_image()`, save as PNG.

Each figure is the median of R rounds (default 3) of at least S seconds each
(default 1.0) of wall-clock time, with the range beside it and, since the
machine may be shared, the rate per second of this process's CPU time and the
load average before and after. Before timing, the outputs are
checked (our payloads decode back; theirs equal ours; sample PNGs scan back with
zxing-cpp); a failed check or a figure of ours below its target exits non-zero.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qrcode
import zxingcpp
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage
from vietnam_qr_pay import QRPay  # type: ignore[import-untyped]
from vietqr_emvco import VietQRGenerator, VietQRParser  # type: ignore[import-untyped]

from payment_gateways.vietqr import banks, decode, encode, png

TARGETS = {"encode": 100_000, "decode": 100_000, "png": 300}
SEED = 2026
WORDS = ["dang phi", "thang", "quy", "chi bo", "nop", "ho", "DP", "T3", "2026", "ung ho"]


@dataclass(frozen=True)
class Request:
    bin: str
    account: str
    amount: int
    memo: str


def requests(count: int) -> list[Request]:
    rnd = random.Random(SEED)
    bins = sorted(banks())
    out = []
    for _ in range(count):
        memo = " ".join(rnd.choices(WORDS, k=rnd.randint(1, 3)))
        code = "".join(rnd.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=6))
        out.append(
            Request(
                bin=rnd.choice(bins),
                account="".join(rnd.choices("0123456789", k=rnd.randint(6, 19))),
                amount=rnd.randint(1, 5_000) * 1_000,
                memo=f"DP{code} {memo}"[:25].rstrip(),
            )
        )
    return out


@dataclass(frozen=True)
class Rate:
    median: float  # operations per wall-clock second
    low: float
    high: float
    cpu: float  # median operations per second of this process's CPU time


def rate(work: Callable[[], int], rounds: int, seconds: float) -> Rate:
    """Throughput of `work`, which returns how many operations it did."""
    work()  # warm caches (qrcode layouts, bank list)
    wall, cpu = [], []
    for _ in range(rounds):
        done, start, start_cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - start) < seconds:
            done += work()
        wall.append(done / elapsed)
        cpu.append(done / max(time.process_time() - start_cpu, 1e-9))
    return Rate(statistics.median(wall), min(wall), max(wall), statistics.median(cpu))


def machine() -> str:
    model = "unknown CPU"
    mem_kb = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return (
        f"nproc {os.cpu_count()}, {model}, RAM {mem_kb / 1024**2:.1f} GiB, "
        f"Python {platform.python_version()}, {load()}"
    )


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min)"


def qrcode_png(payload: str) -> bytes:
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    out = io.BytesIO()
    qr.make_image(image_factory=PilImage).save(out, format="PNG")  # the default factory
    return out.getvalue()


def check(reqs: Sequence[Request], payloads: Sequence[str], png_sample: Sequence[str]) -> None:
    for req, payload in zip(reqs, payloads, strict=True):
        qr = decode(payload)
        assert (qr.bin, qr.account, qr.amount, qr.purpose) == (
            req.bin,
            req.account,
            req.amount,
            req.memo,
        ), payload
        theirs = QRPay.init_viet_qr(
            bank_bin=req.bin, bank_number=req.account, amount=str(req.amount), purpose=req.memo
        ).build()
        assert theirs == payload, (theirs, payload)
        assert QRPay(payload).is_valid and VietQRParser.verify_checksum(payload)
    for payload in png_sample[:20]:
        for image in (png(payload), qrcode_png(payload)):
            scanned = [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)))]
            assert scanned == [payload], scanned


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payloads", type=int, default=2_000)
    parser.add_argument("--png", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args(argv)

    reqs = requests(args.payloads)
    payloads = [encode(r.bin, r.account, amount=r.amount, purpose=r.memo) for r in reqs]
    png_payloads = payloads[: args.png]
    check(reqs, payloads, png_payloads)

    def ours_encode() -> int:
        for r in reqs:
            encode(r.bin, r.account, amount=r.amount, purpose=r.memo)
        return len(reqs)

    def qrpay_encode() -> int:
        for r in reqs:
            QRPay.init_viet_qr(
                bank_bin=r.bin, bank_number=r.account, amount=str(r.amount), purpose=r.memo
            ).build()
        return len(reqs)

    def emvco_encode() -> int:
        for r in reqs:
            VietQRGenerator(r.bin, r.account).generate(amount=r.amount, memo=r.memo)
        return len(reqs)

    def ours_decode() -> int:
        for p in payloads:
            decode(p)
        return len(payloads)

    def qrpay_decode() -> int:
        for p in payloads:
            QRPay(p)
        return len(payloads)

    def emvco_decode() -> int:
        for p in payloads:
            VietQRParser.parse(p)
            VietQRParser.verify_checksum(p)
        return len(payloads)

    def ours_png() -> int:
        for p in png_payloads:
            png(p)
        return len(png_payloads)

    def qrcode_pil_png() -> int:
        for p in png_payloads[:50]:
            qrcode_png(p)
        return min(50, len(png_payloads))

    print(f"VietQR benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    print(
        "packages: "
        + ", ".join(
            f"{name}=={version(name)}"
            for name in ("qrcode", "pillow", "vietnam-qr-pay", "vietqr-emvco", "zxing-cpp")
        )
    )
    print(
        f"{len(reqs)} distinct payloads ({min(map(len, payloads))}-{max(map(len, payloads))} "
        f"chars), PNG on {len(png_payloads)}; median of {args.rounds} rounds of "
        f">= {args.seconds:g} s; checks passed"
    )
    contests = {
        "encode": (ours_encode, [("vietnam-qr-pay", qrpay_encode), ("vietqr-emvco", emvco_encode)]),
        "decode": (ours_decode, [("vietnam-qr-pay", qrpay_decode), ("vietqr-emvco", emvco_decode)]),
        "png": (ours_png, [("qrcode PIL (make_image)", qrcode_pil_png)]),
    }
    failed = False
    print(f"{'work':7} {'who':24} {'ops/s':>8} {'range (wall)':>17} {'ops/CPU-s':>10}  ours/theirs")
    for work, (ours, others) in contests.items():
        mine = rate(ours, args.rounds, args.seconds)
        verdict = "meets" if mine.median >= TARGETS[work] else "BELOW"
        failed |= mine.median < TARGETS[work]
        print(
            f"{work:7} {'ours':24} {mine.median:>8,.0f} {mine.low:>8,.0f}-{mine.high:<8,.0f}"
            f" {mine.cpu:>10,.0f}  target {TARGETS[work]:,}/s: {verdict}"
        )
        for name, theirs in others:
            them = rate(theirs, args.rounds, args.seconds)
            print(
                f"{'':7} {name:24} {them.median:>8,.0f} {them.low:>8,.0f}-{them.high:<8,.0f}"
                f" {them.cpu:>10,.0f}  {mine.median / them.median:>10.1f}x"
            )
    print(f"after: {load()}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
