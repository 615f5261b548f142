"""The jinja2 report: what an analyst reads (basis, accuracy, components, seconds, evidence, words)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from difffake.reporting import figures, words
from difffake.reporting.render import render_report
from difffake.scanning import scan_video


@pytest.fixture(scope="module")
def scanned(tiny_detector, synthetic_videos):
    return scan_video(tiny_detector, synthetic_videos / "astro_0.mp4", "astro_0.mp4",
                      keep_record=True, with_evidence=True)


def test_report_states_basis_components_evidence_and_seconds(tiny_detector, scanned):
    import hashlib
    page = render_report([scanned], tiny_detector)
    assert "The verdict is based on the differential score" in page
    assert f"threshold {scanned.threshold:.3f}" in page
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", page.split('id="components"')[1].split("</table>")[0], re.DOTALL)
    assert any("differential score" in r for r in rows) and any("frame classifier" in r for r in rows)
    n = tiny_detector.calibration.n
    assert re.search(rf"p\(real\) = {scanned.p_value_real:.3f}: \d+ of {n} real videos", page)
    assert hashlib.sha256(open(scanned.path, "rb").read()).hexdigest() in page
    assert "320 × 256 pixels" in page and "10.000 frames/s" in page
    assert re.search(r"\d+\.\d\d s &amp; \d+\.\d\d s \(\d+\.\d\d s apart\)", page)  # pairs in seconds
    assert page.count("data:image/png;base64,") >= 2 + 3   # timeline, calibration, one pair's 3 views
    assert not re.search(r'src="(?!data:)', page)


def test_accuracy_comes_from_the_model_card_or_is_said_to_be_missing(tiny_detector, scanned):
    page = render_report([scanned], tiny_detector)
    assert "Accuracy not recorded in the model card" in page
    tiny_detector.info["accuracy"] = {"dev_twin_pairs": {"auc": 0.452, "n_real": 25}}
    try:
        page = render_report([scanned], tiny_detector)
    finally:
        del tiny_detector.info["accuracy"]
    assert "dev twin pairs · auc</th><td>0.452" in page and "not recorded in the model card" not in page


def test_settings_are_words_without_json_literals_or_paths(tiny_detector, scanned):
    page = render_report([scanned], tiny_detector)
    settings = " ".join(re.findall(r"<td>(.*?)</td>", page.split("<h3>Settings</h3>")[1], re.DOTALL))
    for literal in ("null", "None", "dlib-hog", '"', "&#34;", "true", "runs/", "/tmp"):
        assert literal not in settings, literal
    assert "dlib HOG face detector" in settings and "evenly spaced frames" in settings
    text = dict(words.settings_in_words(tiny_detector))
    assert text["reference"] == "none given"


def test_names_are_escaped_and_identity_slot_is_filled(tiny_detector, scanned):
    import copy
    r = copy.copy(scanned)
    r.video_id = "<script>alert(1)</script>.mp4"
    page = render_report([r], tiny_detector, identity_html='<p class="who">identity fragment</p>')
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert '<section class="identity"><p class="who">identity fragment</p>' in page


def test_generic_components_from_the_result_are_rendered(tiny_detector, scanned):
    import copy
    r = copy.copy(scanned)
    r.basis = "fused"
    r.components = [{"name": "fused", "label": "fused score", "score": 0.7, "p_value_real": 0.02,
                     "threshold": 0.6},
                    {"name": "classifier", "label": "frame classifier", "score": 0.4,
                     "p_value_real": 0.3, "threshold": None}]
    page = render_report([r], tiny_detector)
    assert "fused score <strong>(verdict basis)</strong>" in page
    assert "above threshold" in page and "no threshold: shown for information" in page
    assert "The verdict is based on the fused score" in page


def test_difference_view_removes_head_motion(astronaut_face):
    crop = astronaut_face.crops[0]
    lm = astronaut_face.landmarks[0].astype(np.float32)
    shift = np.float32([[1, 0, 6], [0, 1, 4]])
    moved = __import__("cv2").warpAffine(crop, shift, crop.shape[1::-1], borderMode=1)
    aligned = figures.difference_view(crop, lm, moved, lm + np.float32([6, 4]))
    unaligned = figures.difference_view(crop, lm, moved, lm)   # identity: the motion stays
    assert aligned.mean() < 0.6 * unaligned.mean()
