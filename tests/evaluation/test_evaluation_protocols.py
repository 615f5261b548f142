"""Protocol rows from made-up videos with known scores: every number checked exactly."""
from __future__ import annotations

from pathlib import Path

import pytest

from difffake.datasets import VideoRecord
from difffake.evaluation.protocols import VideoItem, protocol_subsets
from difffake.evaluation.scoring import evaluate_scorers


def item(vid, label, method, group=None, compression=None, status="ok"):
    rec = VideoRecord(Path("/x") / vid, vid, label, method, "made-up", compression=compression, group=group)
    return VideoItem(rec, "made-up", status=status)


def scorer_of(scores: dict):
    def score(it):
        return scores[it.record.video_id], "ok"
    return score


def rows_by_method(rows, variant):
    return {r["method"]: r for r in rows if r["variant"] == variant}


def test_generic_protocol_rows_counts_auc_twins_and_threshold():
    items = [item(f"real/r{k}.mp4", "real", "real", f"g{k}") for k in range(4)]
    items += [item("fake/a0.mp4", "fake", "A", "g0"), item("fake/a1.mp4", "fake", "A", "g1"),
              item("fake/b0.mp4", "fake", "B", "g2"), item("fake/b1.mp4", "fake", "B", "g3"),
              item("fake/b2.mp4", "fake", "B", "g9"),                  # no real of its group: no twin
              item("fake/a_blank.mp4", "fake", "A", "g0", status="no_face"),
              item("fake/b_broken.mp4", "fake", "B", "g2", status="error")]
    scores = {"real/r0.mp4": 0.1, "real/r1.mp4": 0.2, "real/r2.mp4": 0.3, "real/r3.mp4": 0.4,
              "fake/a0.mp4": 0.6, "fake/a1.mp4": 0.7, "fake/b0.mp4": 0.8, "fake/b1.mp4": 0.9, "fake/b2.mp4": 0.5}
    subsets = protocol_subsets(items, "csv")
    assert [(s.protocol, s.method) for s in subsets] == [("cross-dataset", "all"), ("per-method", "A"),
                                                         ("per-method", "B")]
    scorers = {"detector": (scorer_of(scores), 0.45),
               "reversed": (scorer_of({k: -v for k, v in scores.items()}), None)}
    rows, scored = evaluate_scorers(items, subsets, scorers, n_boot=100)
    det = rows_by_method(rows, "detector")
    assert (det["all"]["n_real"], det["all"]["n_fake"], det["all"]["n_no_face"], det["all"]["n_error"]) == (4, 5, 1, 1)
    # a method's reals are those of its fakes' groups
    assert (det["A"]["n_real"], det["A"]["n_fake"], det["A"]["n_no_face"], det["A"]["n_error"]) == (2, 2, 1, 0)
    assert (det["B"]["n_real"], det["B"]["n_fake"], det["B"]["n_no_face"], det["B"]["n_error"]) == (2, 3, 0, 1)
    for r in det.values():   # every fake above every real
        assert r["auc"] == 1.0 and r["ap"] == 1.0 and r["eer"] == 0.0
        assert (r["auc_ci_low"], r["auc_ci_high"]) == (1.0, 1.0)
        assert (r["balanced_acc"], r["fpr_at_threshold"], r["tpr_at_threshold"]) == (1.0, 0.0, 1.0)
        assert r["twin_share"] == 1.0
    assert (det["all"]["n_twins"], det["A"]["n_twins"], det["B"]["n_twins"]) == (4, 2, 2)
    rev = rows_by_method(rows, "reversed")
    assert all(r["auc"] == 0.0 and r["twin_share"] == 0.0 and r["balanced_acc"] is None for r in rev.values())
    s, st = scored["detector"]
    assert st.count("ok") == 9 and st[-2:] == ["no_face", "error"]
    assert s[4] == 0.6 and s[-1] != s[-1]   # NaN where not scored: no made-up score


def test_ffpp_rows_pair_each_method_with_its_originals_and_average_them():
    yt = [item(f"original_sequences/youtube/c23/videos/00{k}.mp4", "real", "real", compression="c23")
          for k in range(4)]
    actors = [item(f"original_sequences/actors/c23/videos/0{k}.mp4", "real", "real", compression="c23")
              for k in range(2)]
    fakes = [item("manipulated_sequences/Deepfakes/c23/videos/000_001.mp4", "fake", "Deepfakes", compression="c23"),
             item("manipulated_sequences/Face2Face/c23/videos/000_001.mp4", "fake", "Face2Face", compression="c23"),
             item("manipulated_sequences/DeepFakeDetection/c23/videos/x.mp4", "fake", "DeepFakeDetection",
                  compression="c23")]
    items = yt + actors + fakes
    scores = {it.record.video_id: v for it, v in zip(items, [0.1, 0.2, 0.3, 0.4, 0.5, 0.9, 0.8, 0.25, 0.7])}
    subsets = protocol_subsets(items, "ffpp")
    rows, _ = evaluate_scorers(items, subsets, {"detector": (scorer_of(scores), None)}, n_boot=50)
    by = rows_by_method(rows, "detector")
    assert by["Deepfakes"]["protocol"] == "cross-manipulation" and by["Deepfakes"]["auc"] == 1.0
    assert by["Face2Face"]["auc"] == 0.5                    # 0.25 beats 2 of the 4 youtube originals
    assert (by["Deepfakes"]["n_real"], by["Deepfakes"]["n_fake"]) == (4, 1)
    # DeepFakeDetection against the actors' originals (0.5, 0.9): 0.7 beats one of them
    dfd = by["DeepFakeDetection"]
    assert (dfd["protocol"], dfd["n_real"], dfd["n_fake"], dfd["auc"]) == ("cross-dataset", 2, 1, 0.5)
    avg = by["average (2 methods)"]                          # the standard methods only
    assert avg["auc"] == pytest.approx(0.75, abs=1e-15) and (avg["n_real"], avg["n_fake"]) == (4, 2)
    assert avg["compression"] == "c23"
