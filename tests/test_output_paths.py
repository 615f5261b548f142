"""output_paths.output_file: the file an option will write, checked before any work; writes nothing."""
import os
from pathlib import Path

import pytest

from difffake.errors import UsageError
from difffake.output_paths import output_file


def _listing(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_new_file_in_an_existing_folder_is_returned_as_given(tmp_path):
    assert output_file(tmp_path / "report.html", "--report", "report.html") == tmp_path / "report.html"
    assert output_file(str(tmp_path / "r.html"), "--report", "report.html") == tmp_path / "r.html"
    assert _listing(tmp_path) == []                              # the probe file was removed


def test_an_existing_folder_gets_the_default_name_inside(tmp_path):
    (tmp_path / "out").mkdir()
    assert output_file(tmp_path / "out", "--out", "results.jsonl") == tmp_path / "out" / "results.jsonl"
    assert _listing(tmp_path) == ["out"]


def test_a_trailing_slash_means_a_folder_still_to_be_made(tmp_path):
    target = output_file(f"{tmp_path}/new/sub/", "--report", "report.html")
    assert target == tmp_path / "new" / "sub" / "report.html"
    assert _listing(tmp_path) == []                              # nothing made yet


def test_missing_parent_folders_are_fine_when_the_nearest_existing_one_is_writable(tmp_path):
    assert output_file(tmp_path / "a" / "b" / "c.html", "--report", "x") == tmp_path / "a" / "b" / "c.html"
    assert _listing(tmp_path) == []


def test_an_existing_file_is_checked_without_truncating_it(tmp_path):
    old = tmp_path / "report.html"
    old.write_text("previous report")
    assert output_file(old, "--report", "report.html") == old
    assert old.read_text() == "previous report"


def test_home_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert output_file("~/scan.html", "--report", "report.html") == tmp_path / "scan.html"


def test_the_default_name_being_a_folder_is_refused(tmp_path):
    (tmp_path / "out" / "report.html").mkdir(parents=True)
    with pytest.raises(UsageError) as info:
        output_file(tmp_path / "out", "--report", "report.html")
    assert str(info.value) == f"--report {tmp_path / 'out' / 'report.html'}: is a folder; give a file name"


def test_a_file_in_the_way_of_a_folder_is_named(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    target = tmp_path / "notes.txt" / "deeper" / "r.html"
    with pytest.raises(UsageError) as info:
        output_file(target, "--out", "results.jsonl")
    assert str(info.value) == f"--out {target}: {tmp_path / 'notes.txt'} is a file, not a folder"


def _read_only(tmp_path, kind):
    """A file or folder this process cannot write (root ignores mode bits: /sys then)."""
    if os.geteuid() != 0:
        path = tmp_path / ("locked.html" if kind == "file" else "locked")
        if kind == "file":
            path.write_text("x")
            path.chmod(0o444)
        else:
            path.mkdir()
            path.chmod(0o555)
        return path
    path = Path("/sys/kernel/notes" if kind == "file" else "/sys")
    if not path.exists():
        pytest.skip(f"running as root and {path} is missing")
    return path


def test_a_file_that_cannot_be_written_is_refused_with_the_reason(tmp_path):
    path = _read_only(tmp_path, "file")
    with pytest.raises(UsageError) as info:
        output_file(path, "--report", "report.html")
    assert str(info.value) == f"--report {path}: cannot be written (Permission denied)"


def test_a_folder_that_cannot_be_written_in_is_refused_with_the_reason(tmp_path):
    folder = _read_only(tmp_path, "folder")
    target = folder / "new" / "r.html"
    with pytest.raises(UsageError) as info:
        output_file(target, "--report", "report.html")
    assert str(info.value) == f"--report {target}: cannot write in {folder} (Permission denied)"
