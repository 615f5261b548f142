"""`difffake scan`: text, JSON lines, exit codes, HTML report, reference view."""
import json
import re

import pytest

from difffake.cli import main
from difffake.commands.scan import exit_code
from difffake.detector import Detector, ScanResult


@pytest.fixture(scope="module")
def saved_detector(tiny_detector, tmp_path_factory):
    return tiny_detector.save(tmp_path_factory.mktemp("detector"))


def _result(status="ok", verdict="real"):
    return ScanResult(path="x", video_id="x", status=status, verdict=verdict)


@pytest.mark.parametrize("results, code", [
    ([_result()], 0),
    ([_result(verdict="fake"), _result()], 1),
    ([_result(), _result(status="error")], 3),
    ([_result(status="too_few_faces")], 3),
    ([_result(verdict="fake"), _result(status="no_face")], 5),
    ([_result(verdict="unknown")], 3),   # a model without calibration gives no verdict
])
def test_exit_code_says_flagged_or_failed(results, code):
    assert exit_code(results) == code


def test_library_api_scans_a_video(saved_detector, synthetic_videos):
    det = Detector.load(saved_detector)
    res = det.scan(synthetic_videos / "astro_0.mp4")
    assert res.status == "ok" and res.verdict in ("real", "fake")
    assert res.n_pairs == len(res.pair_scores) > 0
    assert res.score == pytest.approx(sum(res.pair_scores) / len(res.pair_scores))
    assert (res.verdict == "fake") == (res.score >= res.threshold)
    assert 0 < res.p_value_real <= 1


def test_json_lines_one_per_file_and_bad_file_does_not_stop_batch(saved_detector, synthetic_videos,
                                                                 tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    code = main(["scan", str(bad), str(synthetic_videos / "astro_0.mp4"), str(synthetic_videos / "astro_1.mp4"),
                 "--detector", str(saved_detector), "--json"])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [r["status"] for r in lines] == ["error", "ok", "ok"]
    assert "broken.mp4" in lines[0]["error"]
    # one file failed: 3, or 5 when a scored video was judged fake (the tiny detector's
    # untrained backbone decides which; the printed verdicts say which it must be)
    assert code == (5 if any(r["verdict"] == "fake" for r in lines[1:]) else 3)
    assert all(isinstance(r["score"], float) for r in lines[1:])


def test_text_output_and_missing_input(saved_detector, synthetic_videos, tmp_path, capsys):
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), str(tmp_path / "nope.mp4"),
                 "--detector", str(saved_detector)])
    out = capsys.readouterr().out
    verdict = re.search(r"(REAL|FAKE)\s+differential score=[+-]\d", out)
    assert verdict
    assert "nope.mp4: no such file or folder" in out
    assert code == (5 if verdict.group(1) == "FAKE" else 3)   # one input missing, the other scored


def test_html_report_is_self_contained(saved_detector, synthetic_videos, tmp_path, capsys):
    report = tmp_path / "out" / "report.html"
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector),
                 "--report", str(report)])
    assert code == (1 if capsys.readouterr().out.startswith("FAKE") else 0)
    page = report.read_text()
    assert "<html" in page and "difffake scan report" in page
    assert page.count("data:image/png;base64,") >= 3   # timeline + at least one pair of crops
    assert not re.search(r'src="(?!data:)', page)       # nothing fetched from elsewhere
    assert re.search(r">(REAL|FAKE)<", page)
    assert "Most anomalous pairs" in page


def test_reference_adds_a_second_view(saved_detector, synthetic_videos, capsys, tmp_path):
    report = tmp_path / "ref.html"
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector), "--json",
                 "--reference", str(synthetic_videos / "astro_1.mp4"), "--report", str(report)])
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert line["status"] == "ok"
    assert code == (1 if line["verdict"] == "fake" else 0)
    assert isinstance(line["reference_score"], float)
    assert len(line["reference_pair_scores"]) == line["n_faces"]
    assert "score against the reference" in report.read_text()


def test_reference_without_face_is_a_clear_error(saved_detector, synthetic_videos, tmp_path, capsys):
    import cv2
    import numpy as np
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 90, np.uint8))
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector),
                 "--reference", str(blank)])
    assert code == 3
    err = capsys.readouterr().err
    assert "blank.png: no face found" in err
    assert err.count("error:") == 1


def test_package_exposes_detector_lazily():
    import subprocess
    import sys
    code = ("import sys, difffake; assert 'torch' not in sys.modules; "
            "d = difffake.Detector; assert d.__name__ == 'Detector'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scan_with_reference_embeds_each_frame_once(tiny_detector, synthetic_videos, monkeypatch):
    from difffake.workflows.scan import scan_files
    calls = []
    real_preprocess = type(tiny_detector.backbone).preprocess   # every network pass preprocesses its crops

    def counting(self, crops, *a, **k):
        calls.append(len(crops))
        return real_preprocess(self, crops, *a, **k)

    monkeypatch.setattr(type(tiny_detector.backbone), "preprocess", counting)
    from difffake.faces.pipeline import extract_faces
    ref = tiny_detector.embed_record(extract_faces(synthetic_videos / "astro_1.mp4", tiny_detector.face_cfg,
                                                   tiny_detector.face_detector()))
    calls.clear()
    [res] = list(scan_files(tiny_detector, [(str(synthetic_videos / "astro_0.mp4"), "a")], ref))
    assert res.status == "ok" and res.reference_score is not None
    assert sum(calls) == res.n_faces   # every face frame through the network exactly once


def test_unexpected_failure_is_an_error_line_not_a_stopped_batch(tiny_detector, synthetic_videos, monkeypatch):
    from difffake import scanning
    from difffake.workflows.scan import scan_files

    real_scan_video = scanning.scan_video

    def flaky(detector, path, *a, **k):
        if path.endswith("astro_0.mp4"):
            raise RuntimeError("boom")
        return real_scan_video(detector, path, *a, **k)

    monkeypatch.setattr(scanning, "scan_video", flaky)
    jobs = [(str(synthetic_videos / f"astro_{k}.mp4"), f"v{k}") for k in range(2)]
    first, second = scan_files(tiny_detector, jobs)
    assert first.status == "error" and "RuntimeError: boom" in first.error and "astro_0.mp4" in first.error
    assert second.status == "ok"


def test_cli_maps_failures_to_documented_codes(tmp_path, monkeypatch, capsys):
    from difffake.commands import scan as scan_cmd
    # a folder that is not a detector: the user's input, exit 2 naming the file
    assert main(["scan", str(tmp_path), "--detector", str(tmp_path)]) == 2
    assert "model.json" in capsys.readouterr().err

    def crash(args):
        raise RuntimeError("bug")
    monkeypatch.setattr(scan_cmd, "run", crash)
    assert main(["scan", "x.mp4"]) == 4   # a bug is never exit 1 ("judged fake")


def test_frames_below_two_is_a_usage_error(saved_detector, synthetic_videos, capsys):
    assert main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector),
                 "--frames", "1"]) == 2
