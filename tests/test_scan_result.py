"""scan_result.ScanResult: one file's outcome, as `scan --json` writes it (attachments never in it)."""
import dataclasses
import json

import numpy as np

from difffake.scan_result import ATTACHMENTS, ScanResult


def _full():
    return ScanResult(path="clips/a.mp4", video_id="a.mp4", status="ok", score=np.float32(1.5),
                      p_value_real=np.float64(0.01), verdict="fake", threshold=1.25, n_frames=np.int64(4),
                      n_faces=4, n_pairs=2, pair_scores=np.array([1.0, 2.0]), pairs=[(0, 1), (1, 3)],
                      frame_indices=np.array([0, 10, 20, 30]), has_face=np.array([True, True, True, True]),
                      timings={"faces": np.float64(0.25)}, evidence_level="normal", pairs_expected=2,
                      record=object(), identity_reference=object(), evidence=object())


def test_defaults_describe_a_file_not_yet_scored():
    r = ScanResult(path="x.mp4", video_id="x.mp4", status="error", error="cannot decode")
    assert (r.score, r.verdict, r.basis, r.segments, r.n_pairs) == (None, "unknown", "differential", 1, 0)
    assert r.pair_scores == [] and r.components == [] and r.identity_error_rates == {}
    assert r.record is None and r.evidence_level is None
    other = ScanResult(path="y.mp4", video_id="y.mp4", status="error")
    assert other.pair_scores is not r.pair_scores                       # no shared mutable default


def test_to_dict_is_plain_json_without_the_attachments():
    r = _full()
    d = r.to_dict()
    fields = {f.name for f in dataclasses.fields(ScanResult)}
    assert set(d) == fields - set(ATTACHMENTS)
    assert ATTACHMENTS == ("record", "identity_reference", "evidence")
    assert d["score"] == 1.5 and type(d["score"]) is float and d["n_frames"] == 4 and type(d["n_frames"]) is int
    assert d["pair_scores"] == [1.0, 2.0] and d["pairs"] == [[0, 1], [1, 3]]
    assert d["frame_indices"] == [0, 10, 20, 30] and d["has_face"] == [True] * 4
    assert d["timings"] == {"faces": 0.25} and d["verdict"] == "fake"
    assert json.loads(json.dumps(d)) == d


def test_to_dict_leaves_the_result_and_its_attachments_alone():
    r = _full()
    record = r.record
    r.to_dict()
    assert r.record is record and r.evidence is not None
    assert isinstance(r.pair_scores, np.ndarray)


def test_attachments_take_no_part_in_equality_or_repr():
    a, b = _full(), _full()
    a.pair_scores = b.pair_scores = [1.0, 2.0]
    a.frame_indices = b.frame_indices = [0]
    a.has_face = b.has_face = [True]
    assert a.record is not b.record and a == b
    assert "record=" not in repr(a) and "evidence=" not in repr(a) and "video_id='a.mp4'" in repr(a)
    b.score = 2.0
    assert a != b


def test_a_json_line_reads_back_into_an_equal_result():
    d = _full().to_dict()
    again = ScanResult(**json.loads(json.dumps(d)))
    assert again.to_dict() == d
