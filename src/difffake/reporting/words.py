"""What a report says in words: settings, the model card and each score component.

No JSON literals (null, "dlib-hog") and no build-machine paths reach the page:
every value is turned into a phrase here.
"""
from __future__ import annotations

import math
from pathlib import Path

FACE_DETECTORS = {"dlib-hog": "dlib HOG face detector with 68 landmarks (CPU)"}
POLICIES = {"track": "one face followed across frames (pairs never mix two people)",
            "largest": "the largest face in each frame (the paper's rule)"}
PAIRINGS = {"paper": "each frame paired with one of {n} random partner frames (the paper's scheme)",
            "all": "every pair of face frames", "consecutive": "each frame with the next one"}
COMBINES = {"sq": "squared difference of the two embeddings, (a - b)²",
            "abs": "absolute difference |a - b|", "sub": "signed difference a - b",
            "cube": "cubed difference (a - b)³", "single": "single frames (no pairs: a baseline)"}
REDUCES = {"mean": "mean of the pair scores", "median": "median of the pair scores",
           "trimmed": "trimmed mean of the pair scores"}
DENSITIES = {"gmm": "Gaussian mixture", "knn": "k-nearest-neighbour distance",
             "ocsvm": "one-class SVM"}


def detector_name(detector) -> str:
    """"the built-in detector" or the folder's own name: never a full build path."""
    from ..detector import DEFAULT_DIR
    path = getattr(detector, "path", None)
    if path is None:
        return "a detector held in memory (not saved)"
    if Path(path).resolve() == DEFAULT_DIR.resolve():
        return "the built-in detector shipped with difffake"
    return f"detector folder “{Path(path).name}”"


def settings_in_words(detector, reference_name: str | None = None) -> list[tuple[str, str]]:
    fc, ac = detector.face_cfg, detector.anomaly.cfg
    density = DENSITIES.get(ac.density, ac.density)
    if ac.density == "gmm":
        density += f", {ac.gmm_components} components"
    if ac.pca_dims:
        density += f", after PCA to {ac.pca_dims} dimensions"
    rows = [
        ("frames per video", f"{fc.num_frames} evenly spaced frames"),
        ("face finding", f"{FACE_DETECTORS.get(fc.detector, fc.detector)}; "
                         f"{POLICIES.get(fc.policy, fc.policy)}; crop {fc.crop_scale:g}× the face box"),
        ("frame pairs", PAIRINGS.get(ac.pairing, ac.pairing).format(n=ac.num_partners)
         + f", at most {ac.max_pairs} pairs"),
        ("pair feature", COMBINES.get(ac.combine, ac.combine)),
        ("model of natural change", f"{density}, fitted on real videos only"),
        ("video score", f"{REDUCES.get(ac.video_reduce, ac.video_reduce)}; each pair score is the "
                        "negative log-likelihood of its change (higher = less natural)"),
        ("reference", f"compared with “{reference_name}”" if reference_name else "none given"),
    ]
    return rows


def _phrase(value) -> str:
    """A JSON-ish value as words: numbers rounded, booleans as yes/no, None as 'not recorded'."""
    if value is None:
        return "not recorded"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "not recorded" if not math.isfinite(value) else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_phrase(v) for v in value) if value else "none"
    return str(value)


def flatten(d, prefix: str = "") -> list[tuple[str, str]]:
    """Nested dict -> (label, phrase) rows, labels joined with ' · ' and underscores as spaces."""
    rows = []
    for k, v in (d or {}).items():
        label = (prefix + " · " if prefix else "") + str(k).replace("_", " ")
        if isinstance(v, dict):
            rows.extend(flatten(v, label))
        else:
            rows.append((label, _phrase(v)))
    return rows


def model_card(detector) -> dict:
    """Accuracy as the model card records it (never a number from elsewhere), and how it was made."""
    info = dict(getattr(detector, "info", {}) or {})
    accuracy = info.get("accuracy") or info.get("measured_accuracy")
    card = {"name": detector_name(detector),
            "accuracy_rows": flatten(accuracy) if isinstance(accuracy, dict) else
                             ([("measured accuracy", _phrase(accuracy))] if accuracy else []),
            "rows": []}
    bb = detector.backbone.cfg
    card["rows"].append(("backbone", f"{bb.name} at {bb.input_size} px"))
    train = info.get("backbone_training") or {}
    if train:
        auc = train.get("best_val_auc")
        card["rows"].append(("backbone training",
                             f"{train.get('epochs', '?')} epochs ({train.get('preset', '?')} preset) on "
                             f"{train.get('train_faces', '?')} faces of {train.get('train_videos', '?')} real videos"
                             + (f"; validation AUC real vs self-made pseudo-fakes {auc:.3f} "
                                "(not deepfakes)" if isinstance(auc, float) else "")))
    cal = detector.calibration
    if cal is not None:
        card["rows"].append(("calibration",
                             f"{cal.n} real videos held out from fitting; threshold at a target "
                             f"false-positive rate of {cal.target_fpr:.0%} (achieved {cal.achieved_fpr:.1%})"))
    else:
        card["rows"].append(("calibration", "none: this detector gives scores but no verdict"))
    if info.get("note"):
        card["rows"].append(("note", str(info["note"]).replace("../shared/data/", "")))
    return card


def components_of(result, calibration=None) -> list[dict]:
    """The scan's score components: the lead's `components` when present, else built from the fields."""
    comps = [dict(c) for c in (getattr(result, "components", None) or [])]
    if not comps and result.status == "ok":
        comps.append({"name": "differential", "label": "differential score (change between frames)",
                      "score": result.score, "p_value_real": result.p_value_real,
                      "threshold": result.threshold})
        if result.classifier_score is not None:
            comps.append({"name": "classifier", "label": "frame classifier (mean fake probability)",
                          "score": result.classifier_score, "p_value_real": None, "threshold": None})
    basis = getattr(result, "basis", None) or "differential"
    n = calibration.n if calibration is not None else None
    for c in comps:
        c["is_basis"] = c.get("name") == basis
        p = c.get("p_value_real")
        c["reals_as_high"] = (round(p * (n + 1) - 1) if p is not None and n else None)
        c["n_cal"] = n
        if c.get("threshold") is None:
            c["decides"] = "no threshold: shown for information, not used for the verdict"
        elif c.get("score") is None:
            c["decides"] = "no score"
        else:
            c["decides"] = "above threshold" if c["score"] >= c["threshold"] else "below threshold"
    return comps


def basis_sentence(result) -> str:
    basis = getattr(result, "basis", None) or "differential"
    names = {"differential": "the differential score (how naturally the face changes between frames)",
             "classifier": "the frame classifier's score",
             "fused": "the fused score (the components combined)"}
    return f"The verdict is based on {names.get(basis, basis)}."
