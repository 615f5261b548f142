"""The evaluate use case: every protocol on each dataset -> tables, ROC plots, per-video CSVs.

See difffake.evaluation.protocols for what the rows mean.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..evaluation.outputs import (
    FIT_NOTE,
    UNSCORED_RULE,
    plot_rocs,
    safe_name,
    write_table,
    write_unscored,
    write_videos,
)
from ..evaluation.protocols import dataset_name, protocol_subsets
from ..evaluation.scoring import detector_scorers, evaluate_scorers
from ..evaluation.variants import fit_embeddings, variant_folds, variant_scorers
from ..evaluation.videos import load_items, mark_detector_fit
from .prepare_records import prepare_faces


def evaluate(detector, datasets: list[tuple[str, Path, dict]], out_dir, store_base=None,
             variants: list | None = None, fit_embs=None, cal_embs=None, cal_probs=None,
             cache_dir=None, seed: int = 0, n_boot: int = 1000, subsets: list | None = None,
             face_cache=None) -> dict:
    """Run every protocol on each dataset; write tables, ROC plots, per-video CSVs.

    `variants` (AnomalyConfig or 'classifier') are refitted on `fit_embs`,
    calibrated on `cal_embs` and scored from the same cached embeddings; without
    `fit_embs`, those of the detector's own fit/calibration videos (model.json).
    `subsets`: extra rows, [(name, regex on video id)], applied to every dataset.
    `face_cache`: a content-keyed face cache folder (faces/content_cache.py), or None.
    """
    from ..datasets import load_dataset

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_base = Path(store_base) if store_base else out_dir / "stores"
    summary = {"datasets": [], "tables": [], "rule": UNSCORED_RULE}
    all_rows = []
    scorers = detector_scorers(detector)
    if variants and fit_embs is None:   # the detector's own fit/calibration videos, from model.json
        fit_embs, cal_embs, cal_probs = fit_embeddings(detector, cache_dir)
    if variants:
        scorers.update(variant_scorers(variants, fit_embs or [], cal_embs or [], cal_probs,
                                       detector.anomaly.cfg.target_fpr, variant_folds(detector.info)))
    for kind, root, options in datasets:
        name = dataset_name(kind, root, options)
        records = load_dataset(kind, root, **options)
        store, errors = prepare_faces(records, store_base / safe_name(name), detector.face_cfg,
                                      face_cache=face_cache)
        items = load_items(detector, records, store, errors, name, cache_dir)
        n_fit = mark_detector_fit(items, detector.info, name)
        ds_subsets = protocol_subsets(items, kind, subsets)
        rows, scored = evaluate_scorers(items, ds_subsets, scorers, seed, n_boot, desc=name)
        ds_dir = out_dir / safe_name(name)
        ds_dir.mkdir(exist_ok=True)
        write_videos(items, scored, ds_dir)
        write_unscored(items, scored, ds_dir)
        plot_rocs(ds_subsets, items, scored, ds_dir, "detector")
        notes = [UNSCORED_RULE, f"{len(records)} videos read from {root} ({kind})",
                 ("balanced acc / FPR / TPR at the stored threshold (set on real calibration videos "
                  "- held out, or out-of-fold with crossfit - never on test labels)")]
        notes += [FIT_NOTE] if n_fit else []
        write_table(rows, ds_dir, "table", f"{name}", notes)
        all_rows += rows
        summary["datasets"].append({"name": name, "kind": kind, "root": str(root), "videos": len(records),
                                    "errors": len(errors), "detector_fit_videos": n_fit})
    any_fit = any(d["detector_fit_videos"] for d in summary["datasets"])
    top_notes = [UNSCORED_RULE] + ([FIT_NOTE] if any_fit else [])
    write_table([r for r in all_rows if r["variant"] == "detector"], out_dir, "results",
                "difffake evaluation", top_notes)
    if variants:
        write_table(all_rows, out_dir, "variants", "variants (same embeddings)", top_notes)
    summary["rows"] = all_rows
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary
