"""difffake.identity.report: the identity section of the scan report, from real ScanResults and
the real face crops of a store entry: verdict banner, table values, escaping, the curve and the
face pictures."""
from __future__ import annotations

import base64
import re
from html import escape as html_escape

import cv2
import numpy as np
import pytest

from difffake.identity.compare import IdentityReference
from difffake.identity.report import LIMITS, VERDICT_TEXT, _frame_crop, curve_png, identity_section
from difffake.scan_result import ScanResult

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def record(tiny_store):
    return tiny_store.load("astro_0.mp4")


@pytest.fixture(scope="module")
def reference(tiny_store):
    rec = tiny_store.load("astro_1.mp4")
    crops = [rec.crops[i] for i in rec.face_positions()[:8]]
    return IdentityReference(["ref.mp4"], [rec], np.zeros((len(crops), 128), np.float32), crops)


def result(record=None, reference=None, **kw) -> ScanResult:
    base = dict(path="s.mp4", video_id="s.mp4", status="ok", score=0.7312, verdict="fake",
                identity_verdict="same", identity_distance=0.41234, identity_band=[0.4, 0.6],
                identity_threshold=0.5, identity_frame_distances=[0.3, 0.45, 0.5],
                identity_frames=[int(f) for f in record.frame_indices[:3]] if record is not None else [0, 5, 10],
                identity_frame_times=[0.0, 0.5, 1.0], identity_nearest_reference=[2, 0, 1])
    base.update(kw)
    return ScanResult(**base, record=record, identity_reference=reference)


def cells(html: str) -> dict[str, str]:
    return dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", html))


def images(html: str, alt: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(rf'alt="{alt}" src="data:image/png;base64,([^"]+)"', html)]


def test_no_reference_no_section():
    assert identity_section(ScanResult(path="a", video_id="a", status="ok")) == ""


@pytest.mark.parametrize("verdict, text, colour", [
    ("same", "SAME PERSON", "#1e8449"), ("different", "NOT THE SAME PERSON", "#c0392b"),
    ("unknown", "CANNOT TELL", "#7f8c8d"), ("odd", "CANNOT TELL", "#7f8c8d")])
def test_the_banner_says_the_verdict_in_its_colour(verdict, text, colour):
    html = identity_section(result(identity_verdict=verdict, identity_frame_distances=[]))
    assert f'<span class="verdict" style="background:{colour}">{text}</span>' in html
    assert VERDICT_TEXT.get(verdict, VERDICT_TEXT["unknown"]) == (text, colour)


def test_the_table_values():
    html = identity_section(result(identity_frame_distances=[]))
    assert cells(html) == {
        "identity distance (trimmed mean over frames)": "0.412",
        "frames compared": "0",
        "thresholds (calibrated on real videos only)": "same below 0.400, not the same above 0.600",
        "measured error rates": "no calibration: no measured error rates",
        "blind fake score, no reference (beside it, not replaced)": "0.731 (fake)"}
    assert f"<p class=\"note\">{html_escape(LIMITS)}</p>" in html
    assert "identity distance curve" not in html   # no frame distances: no curve


def test_missing_values_are_dashes_and_the_reason_comes_second():
    html = identity_section(result(identity_verdict="unknown", identity_distance=None, identity_band=[],
                                   score=None, identity_reason="too few faces", identity_frame_distances=[]))
    c = cells(html)
    assert list(c)[1] == "why" and c["why"] == "too few faces"
    assert c["identity distance (trimmed mean over frames)"] == "–"
    assert c["thresholds (calibrated on real videos only)"] == "none"
    assert c["blind fake score, no reference (beside it, not replaced)"] == "–"


def test_measured_error_rates_are_shares_or_dashes():
    rates = {"n_false_different": 1, "n_same_pairs": 4, "n_unknown_same": 0, "n_false_same": 2,
             "n_different_pairs": 0}
    text = cells(identity_section(result(identity_error_rates=rates, identity_frame_distances=[])))[
        "measured error rates"]
    assert text == ("on real videos: another clip of the same person called &quot;not the same&quot; 1 of 4 (25.0%), "
                    "&quot;cannot tell&quot; 0 of 4 (0.0%); two different people called &quot;same&quot; –")


def test_text_from_the_result_is_escaped():
    html = identity_section(result(identity_reason='<script>alert("x")</script>', identity_frame_distances=[]))
    assert "<script>" not in html
    assert cells(html)["why"] == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def test_the_curve_is_a_png_of_the_frame_distances():
    html = identity_section(result())
    [curve] = images(html, "identity distance curve")
    assert curve.startswith(PNG) and curve == curve_png(result())
    img = cv2.imdecode(np.frombuffer(curve, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[1] > img.shape[0] > 100        # a wide figure (8 x 2.6 in)
    assert cells(html)["frames compared"] == "3"


def test_reference_faces_and_the_closest_and_farthest_frames(record, reference):
    html = identity_section(result(record, reference))
    refs = images(html, "reference face")
    assert len(refs) == 6 and all(r.startswith(PNG) for r in refs)   # 8 reference crops: 6 spread over them
    small = cv2.imdecode(np.frombuffer(refs[0], np.uint8), cv2.IMREAD_COLOR)
    assert max(small.shape[:2]) == 96
    assert len(images(html, "suspect frame")) == len(images(html, "nearest reference face")) == 2
    f = [int(x) for x in record.frame_indices[:3]]
    assert f"closest: 0.00 s (frame {f[0]}) · distance 0.300</div>" in html
    assert f"farthest: 1.00 s (frame {f[2]}) · distance 0.500</div>" in html


def test_a_frame_whose_nearest_face_is_unknown_gets_no_pair(record, reference):
    html = identity_section(result(record, reference, identity_nearest_reference=[99, 0, 1]))
    assert "closest:" not in html and "farthest:" in html          # 99: no such reference crop
    html = identity_section(result(None, reference))                 # no record: reference faces only
    assert len(images(html, "reference face")) == 6 and "Suspect frames" not in html
    assert "Reference faces" not in identity_section(result(record, None))


def test_frame_crop_finds_a_frame_by_its_video_index(record):
    frame = int(record.frame_indices[4])
    assert np.array_equal(_frame_crop(record, frame), record.crops[4])
    assert _frame_crop(record, int(record.frame_indices.max()) + 1000) is None
