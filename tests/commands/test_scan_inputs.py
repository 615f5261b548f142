"""`difffake scan` as a user runs it: the real CLI in a subprocess, with the shipped detector,
on media the tests make. What goes in (folders, links, odd names), what ids come out,
where the report goes, and what is written outside the output paths."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import difffake

SRC = Path(difffake.__file__).resolve().parents[1]   # the source under test, for the subprocess
FRAMES = ["--frames", "4"]                         # small and fast; the warning it prints is expected


def run_cli(args, cwd, home=None, tmpdir=None, timeout=180):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(SRC), "HOME": str(home or cwd)}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    return subprocess.run([sys.executable, "-m", "difffake", *args], cwd=cwd, env=env, capture_output=True, check=False,
                          text=True, timeout=timeout)


def rows(done) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.fixture
def work(synthetic_videos, tmp_path) -> Path:
    """tmp_path/work: real/ and fake/ each holding dfl_Keanu_Reeves_0.mp4 (two different videos)."""
    work = tmp_path / "work"
    for folder, video in (("real", "astro_0.mp4"), ("fake", "astro_1.mp4")):
        (work / folder).mkdir(parents=True)
        shutil.copy(synthetic_videos / video, work / folder / "dfl_Keanu_Reeves_0.mp4")
    return work


def test_two_folders_with_the_same_file_names_are_both_scanned(work):
    done = run_cli(["scan", "real", "fake", "--json", *FRAMES], cwd=work)
    got = rows(done)
    assert [(r["video_id"], r["status"]) for r in got] == [("real/dfl_Keanu_Reeves_0.mp4", "ok"),
                                                            ("fake/dfl_Keanu_Reeves_0.mp4", "ok")], done.stderr
    assert got[0]["score"] != got[1]["score"]            # two videos, not one scanned twice
    assert done.returncode in (0, 1), done.stderr
    assert "duplicate id" not in done.stdout + done.stderr


def test_every_input_gets_one_row_in_input_order(work, synthetic_videos):
    """A missing path in the middle, then a folder with a broken link, a link onto itself, a folder
    link back up (a loop) and a deep sub-folder: one row each, in order, no hang."""
    d = work / "d"
    (d / "sub" / "deeper").mkdir(parents=True)
    shutil.copy(synthetic_videos / "astro_2.mp4", d / "a.mp4")
    shutil.copy(synthetic_videos / "astro_2.mp4", d / "sub" / "deeper" / "b.mp4")
    os.symlink("/nowhere/gone.mp4", d / "broken.mp4")
    os.symlink("self.mp4", d / "self.mp4")
    os.symlink("..", d / "sub" / "up")                    # d/sub/up -> d: would loop forever
    os.mkfifo(d / "pipe.mp4")                             # opening it would wait for a writer
    done = run_cli(["scan", "real/dfl_Keanu_Reeves_0.mp4", "nope.mp4", "d", "--json", *FRAMES], cwd=work,
                   timeout=120)
    got = rows(done)
    assert [r["path"] for r in got] == ["real/dfl_Keanu_Reeves_0.mp4", "nope.mp4", "d/a.mp4", "d/broken.mp4",
                                        "d/pipe.mp4", "d/self.mp4", "d/sub/deeper/b.mp4"], done.stdout + done.stderr
    by_path = {r["path"]: r for r in got}
    assert by_path["nope.mp4"]["error"] == "nope.mp4: no such file or folder"
    assert by_path["d/broken.mp4"]["status"] == "error"
    assert by_path["d/broken.mp4"]["error"] == "d/broken.mp4: broken symbolic link -> /nowhere/gone.mp4"
    assert by_path["d/self.mp4"]["error"] == "d/self.mp4: symbolic link loop -> self.mp4"
    assert by_path["d/pipe.mp4"]["error"] == "d/pipe.mp4: not a regular file (a named pipe)"
    assert [by_path[p]["status"] for p in ("d/a.mp4", "d/sub/deeper/b.mp4")] == ["ok", "ok"]
    assert "d/sub/up: a folder link back to .." in done.stderr   # said, and not walked again
    assert done.returncode in (3, 5)
    text = run_cli(["scan", "nope.mp4", *FRAMES], cwd=work)
    assert "ERROR   nope.mp4: no such file or folder" in text.stdout   # the path once, not twice
    assert text.returncode == 3


def test_a_file_name_starting_with_a_dash(work, synthetic_videos):
    shutil.copy(synthetic_videos / "astro_0.mp4", work / "-clip.mp4")
    for args in (["scan", "-clip.mp4"], ["scan", "real", "-clip.mp4"], ["prepare", "-clip.mp4", "--store", "s"]):
        done = run_cli(args, cwd=work)
        assert done.returncode == 2, done.stderr
        assert f"use `difffake {args[0]} -- -clip.mp4` or ./-clip.mp4" in done.stderr
        assert "the following arguments are required" not in done.stderr
        assert "Traceback" not in done.stderr
    done = run_cli(["scan", "--json", *FRAMES, "--", "-clip.mp4"], cwd=work)
    assert [(r["path"], r["status"]) for r in rows(done)] == [("-clip.mp4", "ok")], done.stderr
    assert done.returncode in (0, 1)
    assert "-- -clip.mp4" in run_cli(["scan", "--help"], cwd=work).stdout   # explained in --help


def test_report_path_is_checked_before_scanning(work):
    (work / "a_file").write_text("x")
    (work / "taken" / "report.html").mkdir(parents=True)
    for report, reason in (("a_file/report.html", "a_file is a file, not a folder"),
                           ("taken", "taken/report.html: is a folder")):
        done = run_cli(["scan", "fake", "--report", report, *FRAMES], cwd=work)
        assert done.returncode == 2, done.stderr
        assert f"difffake: error: --report {report if '/' in report else ''}" in done.stderr
        assert reason in done.stderr
        assert done.stdout == ""                          # nothing was scanned
        assert "Traceback" not in done.stderr
    done = run_cli(["scan", "fake", "--out", "rows.jsonl", *FRAMES], cwd=work)
    assert done.returncode == 2 and "--out is for --ray" in done.stderr
    if importlib.util.find_spec("ray") is not None:   # checked before Ray starts
        done = run_cli(["scan", "fake", "--ray", "--out", "a_file/rows.jsonl"], cwd=work, timeout=60)
        assert done.returncode == 2 and "--out a_file/rows.jsonl: a_file is a file, not a folder" in done.stderr
    done = run_cli(["scan", "fake", "--dry-run", "--actors", "2", *FRAMES], cwd=work)
    assert done.returncode == 2 and "--actors, --dry-run is for --ray" in done.stderr


def test_report_into_a_folder(work):
    (work / "reports").mkdir()
    done = run_cli(["scan", "fake", "--report", "reports", *FRAMES], cwd=work)
    assert done.returncode in (0, 1), done.stderr           # the verdict's code, not 4
    assert "<html" in (work / "reports" / "report.html").read_text()
    assert "report written to reports/report.html" in done.stderr
    done = run_cli(["scan", "fake", "--report", "new/sub/", *FRAMES], cwd=work)   # a trailing /: a folder
    assert done.returncode in (0, 1), done.stderr
    assert (work / "new" / "sub" / "report.html").is_file()


def test_report_writes_nothing_under_home(work, tmp_path):
    """matplotlib's config and font cache, onnxruntime's telemetry id: none under $HOME, none left in TMPDIR."""
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    done = run_cli(["scan", "fake", "--report", str(tmp_path / "out.html"), *FRAMES], cwd=work, home=home,
                   tmpdir=tmp)
    assert done.returncode in (0, 1), done.stderr
    assert (tmp_path / "out.html").is_file()
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    assert sorted(p.name for p in tmp.iterdir()) == []


# -- the listing itself (library level, fast) ---------------------------------------------
def test_ids_take_more_of_the_path_when_folder_names_repeat(tmp_path):
    from difffake.faces.listing import list_inputs

    for parent in ("a", "b"):
        (tmp_path / parent / "clips").mkdir(parents=True)
        (tmp_path / parent / "clips" / "x.mp4").write_bytes(b"1" if parent == "a" else b"2")
    listing = list_inputs([tmp_path / "a" / "clips", tmp_path / "b" / "clips"], ids="path")
    assert [e.video_id for e in listing.entries] == ["a/clips/x.mp4", "b/clips/x.mp4"]
    one = list_inputs([tmp_path / "a" / "clips"], ids="path")           # one folder: ids unchanged
    assert [e.video_id for e in one.entries] == ["x.mp4"]
    twice = list_inputs([tmp_path / "a" / "clips", tmp_path / "a" / "clips" / "x.mp4"], ids="path")
    assert len(twice.entries) == 1 and "scanned once" in twice.notes[0]   # the same file once


def test_store_ids_keep_their_rule(tmp_path):
    """prepare's ids are store keys: a folder's files keep their path inside it, so a store
    grown by later runs keeps its ids; two roots with one name stay a reported problem."""
    from difffake.faces.video import collect_media

    for parent in ("real", "fake"):
        (tmp_path / parent).mkdir()
        (tmp_path / parent / "x.mp4").write_bytes(b"v")
    os.symlink("/nowhere/y.mp4", tmp_path / "real" / "y.mp4")
    jobs, problems = collect_media([tmp_path / "real", tmp_path / "fake"], explicit_id="name")
    assert jobs == [(str(tmp_path / "real" / "x.mp4"), "x.mp4")]
    assert [(p["path"], p["reason"].split(" ->")[0]) for p in problems] == [
        (str(tmp_path / "real" / "y.mp4"), "broken symbolic link"),   # listed, not skipped
        (str(tmp_path / "fake" / "x.mp4"), "duplicate id 'x.mp4' (also " + str(tmp_path / "real" / "x.mp4") + ")"
         + "; ids are paths inside each folder: give this folder its own store, or give its parent folder "
           "instead (ids then start with the folder names)")]


def test_a_deep_tree_is_walked_without_recursion(tmp_path):
    from difffake.faces.video import collect_media

    deep = tmp_path
    for _ in range(1100):                     # deeper than Python's recursion limit
        deep = deep / "d"
        os.mkdir(deep)                        # one level at a time: Path.mkdir(parents=True) recurses
    (deep / "v.mp4").write_bytes(b"v")
    try:
        jobs, problems = collect_media([tmp_path], explicit_id="path")   # was a RecursionError (exit 4)
        assert [vid for _, vid in jobs] == ["/".join(["d"] * 1100 + ["v.mp4"])] and problems == []
    finally:   # removed here, bottom up: pytest's own clean-up (shutil.rmtree) recurses and would fail
        (deep / "v.mp4").unlink()
        while deep != tmp_path:
            os.rmdir(deep)
            deep = deep.parent


def test_ray_scan_ids_follow_the_same_rule(tmp_path):
    from difffake.distributed.inputs import iter_inputs

    for parent in ("real", "fake"):
        (tmp_path / parent).mkdir()
        (tmp_path / parent / "x.mp4").write_bytes(b"v")
    folders = [str(tmp_path / "real"), str(tmp_path / "fake")]
    assert [vid for _, vid, _ in iter_inputs(folders, prefix_folders=True)] == ["real/x.mp4", "fake/x.mp4"]
    assert [vid for _, vid, _ in iter_inputs(folders)] == ["x.mp4", "x.mp4"]   # prepare --ray: store keys


def test_dataset_folders_list_links_by_their_own_name(tmp_path, caplog):
    """evaluate's readers: a file linked in from outside the root keeps its id in the dataset
    (it was a ValueError, exit 4), a folder link is followed, a broken link is named, not skipped unsaid."""
    from difffake.datasets import load_dataset

    outside = tmp_path / "outside"
    (outside / "more").mkdir(parents=True)
    (outside / "x.mp4").write_bytes(b"x")
    (outside / "more" / "z.mp4").write_bytes(b"z")
    ds = tmp_path / "ds"
    (ds / "real").mkdir(parents=True)
    (ds / "fake").mkdir()
    os.symlink(outside / "x.mp4", ds / "real" / "x.mp4")
    os.symlink(outside / "more", ds / "real" / "more")
    (ds / "fake" / "y.mp4").write_bytes(b"y")
    os.symlink("/nowhere/gone.mp4", ds / "fake" / "gone.mp4")
    with caplog.at_level("WARNING", logger="difffake.datasets"):
        records = load_dataset("folder", ds)
    assert [(r.video_id, r.label) for r in records] == [("fake/y.mp4", "fake"), ("real/more/z.mp4", "real"),
                                                        ("real/x.mp4", "real")]
    assert "gone.mp4: broken symbolic link -> /nowhere/gone.mp4; left out of the dataset" in caplog.text


def test_a_report_that_fails_late_keeps_the_verdicts_exit_code(tiny_detector, synthetic_videos, tmp_path,
                                                                monkeypatch, capsys):
    """The disk fills up between the check and the write: the verdicts were printed, their exit
    code stands, and the error names the report and the reason (it was exit 4)."""
    import errno

    from difffake import fileio
    from difffake.cli import main

    detector = tiny_detector.save(tmp_path / "detector")

    def disk_full(path, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(fileio, "atomic_write_text", disk_full)
    report = tmp_path / "r.html"
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(detector), "--json",
                 "--report", str(report)])
    out, err = capsys.readouterr()
    [row] = [json.loads(line) for line in out.splitlines()]
    assert code == (1 if row["verdict"] == "fake" else 0)
    assert f"difffake: error: report not written: {report}: No space left on device" in err
