"""Draw a payload as a QR image: PNG (Pillow) or SVG (plain text).

Error correction M, quiet zone 4 modules, black on white, as qrcode draws it
(`matrix.symbol` gives the same modules as qrcode's own `make(fit=True)`).
Images carry the payload exactly as given; call `encode` first.
"""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from .matrix import symbol

BORDER = 4  # modules of quiet zone on each side (the QR minimum)
BOX = 10  # pixels per module, qrcode's default

_GREY = bytes.maketrans(b"01", b"\xff\x00")  # light module -> white, dark -> black


def png(payload: str, *, box_size: int = BOX, border: int = BORDER) -> bytes:
    """A 1-bit PNG of the QR for `payload`, `box_size` pixels per module."""
    rows = symbol(payload).rows
    width = len(rows) + 2 * border
    blank, margin = b"\xff" * width * border, b"\xff" * border
    body = b"".join(margin + row.encode("ascii").translate(_GREY) + margin for row in rows)
    image = Image.frombytes("L", (width, width), blank + body + blank)
    image = image.convert("1", dither=Image.Dither.NONE)  # pixels are 0 or 255 already
    side = width * box_size
    out = BytesIO()
    image.resize((side, side), Image.Resampling.NEAREST).save(out, format="PNG")
    return out.getvalue()


def svg(payload: str, *, box_size: int = BOX, border: int = BORDER) -> str:
    """An SVG of the QR for `payload`: one path, one unit per module, scaled by `box_size`."""
    rows = symbol(payload).rows
    width = len(rows) + 2 * border
    runs = []
    for y, row in enumerate(rows, start=border):
        x = 0
        while (x := row.find("1", x)) >= 0:
            end = row.find("0", x)
            end = len(row) if end < 0 else end
            runs.append(f"M{x + border},{y}h{end - x}v1h{x - end}z")
            x = end
    side = width * box_size
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" '
        f'viewBox="0 0 {width} {width}" shape-rendering="crispEdges">'
        f'<rect width="{width}" height="{width}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>\n'
    )
