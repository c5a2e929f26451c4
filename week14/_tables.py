"""Plain-text tables for the library's reports (``print(report)`` in a notebook)."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                 align: str | None = None, total: Sequence[str] | None = None) -> str:
    """A plain-text table: the headers, a rule, the rows, and optionally a rule and a
    ``total`` row.

    Every column is as wide as its widest cell, columns two spaces apart, each aligned
    as ``align`` says, one letter per column: "l" left, "r" right (default: all right).
    Rules are dashes, as wide as the widest line; trailing spaces are dropped. Every row
    has one cell per header.
    """
    align = align or "r" * len(headers)
    body = [*rows, *([total] if total is not None else [])]
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *body, strict=True)]
    lines = [
        "  ".join(str(cell).ljust(width) if side == "l" else str(cell).rjust(width)
                  for cell, width, side in zip(row, widths, align, strict=True)).rstrip()
        for row in (headers, *body)
    ]
    rule = "-" * max(map(len, lines))
    if total is not None:
        lines.insert(-1, rule)
    lines.insert(1, rule)
    return "\n".join(lines)
