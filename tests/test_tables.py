"""The shared table writer: CSV through the csv module, Markdown with headers, None as empty."""
from __future__ import annotations

import csv

from difffake.tables import (
    csv_text,
    markdown_table,
    write_csv,
    write_csv_lists,
    write_markdown,
)

ROWS = [{"name": "a, b", "auc": 0.91234, "n": 3, "note": None},
        {"name": 'say "x"', "auc": None, "n": 0, "note": "p|q"}]
COLUMNS = ["name", "auc", "n", "note"]


def test_csv_round_trips_through_the_csv_module(tmp_path):
    path = write_csv(tmp_path / "t.csv", ROWS + [{"name": "extra", "ignored": 1}], COLUMNS)
    with path.open(newline="") as fh:
        back = list(csv.DictReader(fh))
    assert back == [{"name": "a, b", "auc": "0.91234", "n": "3", "note": ""},
                    {"name": 'say "x"', "auc": "", "n": "0", "note": "p|q"},
                    {"name": "extra", "auc": "", "n": "", "note": ""}]
    # csv's own quoting and line ends (what csv.DictWriter wrote before the shared writer)
    assert path.read_bytes().startswith(b'name,auc,n,note\r\n"a, b",0.91234,3,\r\n"say ""x""",,0,p|q\r\n')


def test_csv_text_line_end_and_list_rows(tmp_path):
    assert csv_text([{"a": 1, "b": None}], ["a", "b"]) == "a,b\n1,\n"
    path = write_csv_lists(tmp_path / "l.csv", ["x", "y"], [[1, "two, three"], ["", 4]])
    assert path.read_bytes() == b"x,y\r\n1,\"two, three\"\r\n,4\r\n"
    with path.open(newline="") as fh:
        assert list(csv.reader(fh)) == [["x", "y"], ["1", "two, three"], ["", "4"]]


def test_markdown_table_headers_format_and_empty_cells():
    lines = markdown_table(ROWS, ["name", "auc", "note"], headers={"auc": "AUC (true)"},
                           fmt=lambda v: f"{v:.3f}" if isinstance(v, float) else str(v))
    assert lines == ["| name | AUC (true) | note |",
                     "|---|---|---|",
                     "| a, b | 0.912 | – |",
                     '| say "x" | – | p\\|q |']   # a '|' in a cell would split it: escaped


def test_write_markdown_title_and_notes(tmp_path):
    path = write_markdown(tmp_path / "t.md", ROWS[:1], ["name", "n"], title="results", notes=["one", "two"])
    assert path.read_text() == "# results\n\n| name | n |\n|---|---|\n| a, b | 3 |\n\n- one\n- two\n"
