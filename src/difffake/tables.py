"""One writer for result tables: rows (dicts) -> CSV (the csv module) and a Markdown table.

Every table the package writes (evaluation results, training metrics) goes
through here, so quoting, empty cells and headers follow one rule:
None is an empty CSV cell and "–" in Markdown.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

EMPTY_MARKDOWN = "–"


def _cell(value) -> str:
    return "" if value is None else value


def csv_text(rows, columns, lineterminator: str = "\n") -> str:
    """The CSV text of `rows` (dicts) with a header of `columns`; keys not in `columns` are ignored."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator=lineterminator)
    w.writeheader()
    for row in rows:
        w.writerow({c: _cell(row.get(c)) for c in columns})
    return buf.getvalue()


def write_csv(path, rows, columns, lineterminator: str = "\r\n") -> Path:
    """Write `rows` to `path` as CSV (csv's default line ends, as csv.DictWriter writes them)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        fh.write(csv_text(rows, columns, lineterminator))
    return path


def write_csv_lists(path, header, rows) -> Path:
    """Write a header and rows given as lists (for tables whose columns are built per run)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _escape(text: str) -> str:
    # a '|' inside a cell would end it; Markdown renderers accept the backslash escape
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows, columns, headers: dict | None = None, fmt=str) -> list[str]:
    """Lines of a Markdown table: header row, separator, one line per row.

    `headers`: display names by column (default the column name); `fmt(value)`
    renders a non-None cell (None is always "–").
    """
    headers = headers or {}
    def render(v):
        return EMPTY_MARKDOWN if v is None else _escape(fmt(v))
    lines = [f"| {' | '.join(_escape(str(headers.get(c, c))) for c in columns)} |",
             f"|{'---|' * len(columns)}"]
    lines += [f"| {' | '.join(render(row.get(c)) for c in columns)} |" for row in rows]
    return lines


def write_markdown(path, rows, columns, title: str | None = None, notes=(), headers: dict | None = None,
                   fmt=str) -> Path:
    """A Markdown file: '# title', the table, then the notes as a bullet list."""
    lines = ([f"# {title}", ""] if title is not None else []) + markdown_table(rows, columns, headers, fmt)
    lines += [""] + [f"- {n}" for n in notes]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path
