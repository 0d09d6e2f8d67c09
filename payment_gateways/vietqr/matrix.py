"""The QR symbol for a payload, as qrcode draws it, about ten times faster.

qrcode (`QRCode(error_correction=M).make(fit=True)`) chooses the mask by
placing the data eight times in pure Python and scoring each result with
`qrcode.util.lost_point`: about 8 ms a symbol. Here qrcode still supplies the
segments, version, codewords and function patterns; what changes is that each
version's layout is worked out once, the data bits are placed with one
precomputed permutation, and the eight candidates are scored with the same
penalty rules evaluated on whole-symbol integers with bit operations (rows are
packed with one empty separator bit between them, so runs cannot wrap). The
result is the same matrix, module for module; a test compares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from qrcode import QRCode, util
from qrcode.constants import ERROR_CORRECT_M

_FINDER_LIKE = ("10111010000", "00001011101")  # penalty rule 3, left to right


@dataclass(frozen=True, slots=True)
class Symbol:
    """A QR symbol without quiet zone: `rows[r][c]` is "1" for a dark module."""

    version: int
    rows: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Layout:
    n: int
    stride: int
    data_cells: int
    rows: Callable[[str], Iterable[str]]  # source bits in packed row-major order
    cols: Callable[[str], Iterable[str]]  # the same, column-major
    masks: tuple[tuple[int, int], ...]  # (row-major, column-major) flips per mask
    fixed_test: tuple[int, int]  # function modules as qrcode scores them (format light)
    fixed: tuple[int, ...]  # function modules with format information, per mask
    valid: int  # every real module (separators clear)
    block: int  # top-left modules of a 2x2 block


def symbol(payload: str) -> Symbol:
    """The symbol qrcode would draw for `payload` at error correction level M."""
    qr = QRCode(error_correction=ERROR_CORRECT_M)
    qr.add_data(payload)
    version = qr.best_fit()
    codewords = util.create_data(version, ERROR_CORRECT_M, qr.data_list)
    lay = _layout(version)
    bits = "".join(map(_BYTE_BITS.__getitem__, codewords))
    source = bits[: lay.data_cells].ljust(lay.data_cells + 1, "0")
    data = int("".join(lay.rows(source)), 2)
    data_t = int("".join(lay.cols(source)), 2)
    best, best_score = 0, -1
    for mask, (flip, flip_t) in enumerate(lay.masks):
        score = _penalty(data ^ flip | lay.fixed_test[0], data_t ^ flip_t | lay.fixed_test[1], lay)
        if best_score < 0 or score < best_score:
            best, best_score = mask, score
    final = data ^ lay.masks[best][0] | lay.fixed[best]
    packed = format(final, f"0{lay.n * lay.stride}b")
    rows = tuple(packed[r * lay.stride : r * lay.stride + lay.n] for r in range(lay.n))
    return Symbol(version, rows)


_BYTE_BITS = [format(b, "08b") for b in range(256)]


def _runs(a: int) -> int:
    """Rule 1 for the set bits of `a`: each run of length L >= 5 costs L - 2."""
    t = a & (a >> 1) & (a >> 2) & (a >> 3) & (a >> 4)
    return t.bit_count() + 2 * (t & ~(t >> 1)).bit_count()


def _finder_like(dark: int, light: int) -> int:
    """Rule 3: how many windows read 1011101 with four light modules beside."""
    shifted = {"1": [dark >> k for k in range(11)], "0": [light >> k for k in range(11)]}
    count = 0
    for pattern in _FINDER_LIKE:
        hits = -1
        for i, colour in enumerate(pattern):
            hits &= shifted[colour][10 - i]
        count += hits.bit_count()
    return count


def _penalty(x: int, xt: int, lay: _Layout) -> int:
    """qrcode.util.lost_point of the candidate, from its row- and column-major packings."""
    z, zt = x ^ lay.valid, xt ^ lay.valid
    score = _runs(x) + _runs(z) + _runs(xt) + _runs(zt)
    eq_h, eq_v = ~(x ^ (x << 1)), ~(x ^ (x << lay.stride))
    score += 3 * (eq_h & eq_v & (eq_v << 1) & lay.block).bit_count()
    score += 40 * (_finder_like(x, z) + _finder_like(xt, zt))
    percent = float(x.bit_count()) / (lay.n**2)
    return score + int(abs(percent * 100 - 50) / 5) * 10


@cache
def _layout(version: int) -> _Layout:
    qr = QRCode(version=version, error_correction=ERROR_CORRECT_M)
    n = qr.modules_count = version * 4 + 17
    qr.modules = [[None] * n for _ in range(n)]
    for row, col in ((0, 0), (n - 7, 0), (0, n - 7)):
        qr.setup_position_probe_pattern(row, col)
    qr.setup_position_adjust_pattern()
    qr.setup_timing_pattern()
    _format(qr, version, test=True, mask=0)
    test = [row[:] for row in qr.modules]
    order = {cell: k for k, cell in enumerate(_data_order(test))}
    stride, data_cells = n + 1, len(order)

    def pack(cells: set[tuple[int, int]], transposed: bool = False) -> int:
        at = [(c, r) if transposed else (r, c) for r, c in cells]
        return sum(1 << (n * stride - 1 - (r * stride + c)) for r, c in at)

    def lit(modules: list[list[bool | None]]) -> set[tuple[int, int]]:
        return {(r, c) for r in range(n) for c in range(n) if modules[r][c]}

    masks = []
    fixed = []
    for mask in range(8):
        flips = {cell for cell in order if util.mask_func(mask)(*cell)}
        masks.append((pack(flips), pack(flips, transposed=True)))
        _format(qr, version, test=False, mask=mask)
        fixed.append(pack(lit(qr.modules)))
    every = {(r, c) for r in range(n) for c in range(n)}
    sentinel = data_cells
    rows = [order.get((p // stride, p % stride), sentinel) for p in range(n * stride)]
    cols = [order.get((p % stride, p // stride), sentinel) for p in range(n * stride)]
    return _Layout(
        n=n,
        stride=stride,
        data_cells=data_cells,
        rows=itemgetter(*rows),
        cols=itemgetter(*cols),
        masks=tuple(masks),
        fixed_test=(pack(lit(test)), pack(lit(test), transposed=True)),
        fixed=tuple(fixed),
        valid=pack(every),
        block=pack({(r, c) for r in range(n - 1) for c in range(n - 1)}),
    )


def _format(qr: QRCode[Any], version: int, *, test: bool, mask: int) -> None:
    qr.setup_type_info(test, mask)
    if version >= 7:
        qr.setup_type_number(test)


def _data_order(modules: list[list[bool | None]]) -> list[tuple[int, int]]:
    """The data modules in the order qrcode's map_data fills them."""
    n = len(modules)
    order = []
    row, step = n - 1, -1
    for right in range(n - 1, 0, -2):
        col = right - 1 if right <= 6 else right
        while True:
            for c in (col, col - 1):
                if modules[row][c] is None:
                    order.append((row, c))
            row += step
            if row < 0 or row >= n:
                row -= step
                step = -step
                break
    return order
