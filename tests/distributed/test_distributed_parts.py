"""The Ray runner's parts that need no cluster: streamed inputs, the result log
and its resume rules, progress lines (the cluster tests are in test_distributed.py)."""
from __future__ import annotations

import io
import logging

import pytest

from difffake.distributed.inputs import count_inputs, iter_inputs
from difffake.distributed.progress import Progress
from difffake.distributed.results import ResultLog, read_rows
from difffake.errors import FileError


def test_inputs_stream_folders_lists_and_problems(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.mp4", "d/a.jpg", "d/sub/c.mov", "d/notes.txt"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "list.txt").write_text("d/a.jpg\n\n# comment\n/abs/x.mp4\tmy-id\n")
    got = list(iter_inputs([str(tmp_path / "d"), f"@{tmp_path / 'list.txt'}", str(tmp_path / "gone.mp4"),
                            f"@{tmp_path / 'nolist.txt'}"]))
    assert [(vid, problem is None) for _, vid, problem in got] == [
        ("a.jpg", True), ("b.mp4", True), ("sub/c.mov", True),          # folder: sorted, relative ids
        ("d/a.jpg", True), ("my-id", True),                              # list: path as written, or TAB id
        (str(tmp_path / "gone.mp4"), False), (f"@{tmp_path / 'nolist.txt'}", False)]
    assert got[3][0] == str(tmp_path / "d/a.jpg")                        # relative to the list's folder
    assert "input list unreadable" in got[-1][2]
    assert count_inputs([f"@{tmp_path / 'list.txt'}"]) == 2
    assert not hasattr(iter_inputs([]), "__len__")                       # a generator, never a list


def test_result_log_resumes_and_repairs_a_torn_line(tmp_path):
    out = tmp_path / "rows.jsonl"
    log = ResultLog(out)
    log.write({"id": "a", "path": "a", "status": "ok", "reason": None})
    log.write({"id": "b", "path": "b", "status": "error", "reason": "bad"})
    log.close()
    with out.open("a") as fh:
        fh.write('{"id": "c", "pa')          # a run killed mid-write
    again = ResultLog(out)
    assert again.done == {"a", "b"}
    again.write({"id": "c", "path": "c", "status": "no_face", "reason": "none"})
    again.close()
    assert [r["id"] for r in read_rows(out)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="status"):
        ResultLog(tmp_path / "x.jsonl").write({"id": "z", "status": "maybe"})
    out.write_text('{"id": "a"}\nnot json\n{"id": "b"}\n')
    with pytest.raises(FileError, match="rows.jsonl: line 2 is not a result row"):
        ResultLog(out)


def test_progress_logs_lines_when_piped_and_draws_a_bar_on_a_tty(caplog):
    with caplog.at_level(logging.INFO, logger="difffake.distributed"):
        piped = Progress(4, "ray scan", every=0.0, stream=io.StringIO())
        piped.skip()
        piped.update("ok")
        piped.update("error")
        piped.close()
    assert "ray scan: 2/4 done (1 already written), 0 failed" in caplog.text
    assert "3/4 done (1 already written), 1 failed" in caplog.text and "videos/min, ETA" in caplog.text

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    bar = Progress(3, "ray scan", stream=tty)
    bar.update("ok")
    bar.update("error")
    bar.close()
    assert "2/3" in tty.getvalue() and "failed 1" in tty.getvalue()


def test_scan_worker_keeps_every_engine_to_its_threads():
    """Each actor reserves num_cpus=1; its ONNX Runtime pool must not take the other cores."""
    import cv2
    import torch

    from difffake.distributed.actors import ScanWorker
    from difffake.faces import pipeline

    before = cv2.getNumThreads(), torch.get_num_threads(), pipeline.READ_AHEAD   # set process-wide
    try:
        worker = ScanWorker(None, frames=4, threads=1)
        assert worker.detector.backbone.session.get_session_options().intra_op_num_threads == 1
        assert cv2.getNumThreads() == 1
        assert pipeline.READ_AHEAD is False   # no decode thread beside the actor's one core
    finally:
        cv2.setNumThreads(before[0])
        torch.set_num_threads(before[1])
        pipeline.READ_AHEAD = before[2]
