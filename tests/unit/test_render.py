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
