"""How the CLI prints a message in two languages (api/cli/render.py)."""

from __future__ import annotations

from io import StringIO

from rich.console import Console

from api.cli.render import say

VI = "Lưu ý: chi bộ chưa mở sổ tháng 2027-01; số tiền chưa gồm (các) tháng này, sẽ phải nộp"
EN = "Note: the branch has not opened 2027-01 yet; the amount leaves them out"


def said(terminal: bool) -> str:
    buffer = StringIO()
    console = Console(file=buffer, width=80, force_terminal=terminal, color_system=None)
    say(console, VI, EN)
    return buffer.getvalue()


def test_on_a_terminal_a_long_message_wraps_between_words_at_its_width() -> None:
    lines = said(terminal=True).splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert " ".join(line.strip() for line in lines) == f"{VI} / {EN}"


def test_into_a_file_or_pipe_a_message_stays_one_line_to_grep() -> None:
    assert said(terminal=False) == f"{VI} / {EN}\n"


def test_only_a_refund_lists_a_memo_code_below_the_suspense_table() -> None:
    # a spending's resolution carries its voucher as `reference`: it was listed as "refund,
    # put UNC-0007 in the transfer's memo", asking the treasurer to pay it out again
    from api.cli.suspense import _rows

    def item(n: int, resolution: dict[str, object]) -> dict[str, object]:
        return {
            "id": f"B1/20261215-{n}",
            "value_date": "2026-12-15",
            "amount": 30_000,
            "direction": "out" if resolution["how"] == "spending" else "in",
            "narrative": "UNC-0007",
            "resolution": resolution,
        }

    _, codes = _rows(
        [
            item(1, {"how": "spending", "reference": "UNC-0007"}),
            item(2, {"how": "refund", "reference": "DPSE3KT66Z"}),
        ]
    )
    assert codes == [("B1/20261215-2", "DPSE3KT66Z")]
