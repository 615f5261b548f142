"""Fit a detector: density model on real pairs + calibration -> a detector folder (`difffake fit`).

The real pool is every video of the given face stores (or those in `ids_file`)
MINUS the videos the backbone trained on: a density fitted on its own training
videos measures "seen before", not "real" (FINDINGS). By default the training
ids are read from the backbone's run folder (train_ids.txt, else split.json
"train"); `exclude_ids` overrides. The pool is then split by person / source
group (difffake.splits; --groups FILE says who is who) for calibration:
- crossfit (default): K folds of whole groups; each video gets an out-of-fold
  score from a model fitted on the other folds; the final density is fitted on
  the WHOLE pool and calibrated on those out-of-fold scores (n_cal = pool size).
  With ~50 unseen reals a 30% hold-out leaves ~15 calibration videos (p-values
  in steps of 1/16) and takes 30% of the density's data (difffake.anomaly.crossfit).
- holdout: fit videos and HELD-OUT calibration videos (anomaly/holdout.py).

    import difffake
    result = difffake.fit("runs/r1", ["stores/real"], "detectors/d1", fusion=False)
    result.detector.scan("clip.mp4")
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import AnomalyConfig, FaceConfig, section_from_dict
from ..errors import FileError, UsageError, require_module

if TYPE_CHECKING:   # annotations only: importing the detector loads torch
    from ..detector import Detector

log = logging.getLogger("difffake.fit")
Say = Callable[[str], None]


@dataclass
class FitRequest:
    """What to fit. backbone: a training run folder or a folder with backbone.safetensors +
    backbone.json; stores: face stores of REAL videos; out: the detector folder to write.
    The other fields are `difffake fit`'s options (see `difffake fit --help`)."""
    backbone: str | Path
    stores: list
    out: str | Path
    anomaly: AnomalyConfig = field(default_factory=AnomalyConfig)
    ids_file: str | Path | None = None           # use only these store ids
    exclude_ids: str | Path | None = None        # ids the backbone trained on (default: from its run folder)
    exclude_training: bool = True                # False: fit even on the backbone's training videos
    split_by: str = "group"                      # "group" | "video"
    groups: str | Path | None = None             # a CSV of path,group lines: who is who (difffake.splits)
    calibration: str | None = None              # "crossfit" | "holdout"; None: crossfit, or holdout with cal_ids_file
    folds: int = 5
    cal_ids_file: str | Path | None = None
    fusion: bool = True                          # crossfit only: pseudo-fake twins, fused verdict
    basis: str | None = None                     # "fused" | "differential" | "classifier"
    degraded: bool = True                        # re-captured copies of each real and its twin
    pseudo_seed: int = 0
    other_identity_twins: float = 0.0            # share of twins made from another person's face
    allow_small_calibration: bool = False
    note: str = ""
    cache: str | Path | None = None              # embedding cache folder (default: <store>/embeddings)
    argv: list | None = None                     # the command line, recorded in model.json


@dataclass
class CalibrationSummary:
    method: str                  # "crossfit" | "holdout"
    n: int                       # calibration real videos
    threshold: float
    target_fpr: float
    achieved_fpr: float
    warnings: dict = field(default_factory=dict)   # score name -> why its calibration is too small


@dataclass
class FitResult:
    detector: Detector           # saved in `folder`
    folder: Path
    files: list                  # every file written (model.json and the checksummed ones)
    calibration: CalibrationSummary
    pseudo_fake_validation: dict | None   # {score: {auc, twin_share, n}} of a fused fit, else None
    info: dict                   # model.json "info"


def fit(backbone, stores, out, *, anomaly: AnomalyConfig | None = None, say: Say | None = None,
        **options) -> FitResult:
    """`difffake.fit(...)`: fit and save a detector; `options` are FitRequest's fields."""
    stores = [stores] if isinstance(stores, (str, Path)) else list(stores)
    return fit_detector(FitRequest(backbone, stores, out, anomaly or AnomalyConfig(), **options), say)


def fit_detector(req: FitRequest, say: Say | None = None) -> FitResult:
    """Build the pool, fit and calibrate, save the detector folder; messages go to `say`
    (default: this module's logger, INFO)."""
    from ..faces.store import FaceStore

    say = say or log.info
    cfg = req.anomaly
    req = _with_grouping(req)
    require_module("`difffake fit`", "torch")   # a base install: say which extra, before anything else
    # The user's inputs are checked before torch loads (~3 s): a bad store or option fails at once.
    stores = [FaceStore(s) for s in req.stores]
    face_cfg = _face_config(stores)
    method = req.calibration or ("holdout" if req.cal_ids_file else "crossfit")
    if method == "crossfit" and req.cal_ids_file:
        raise UsageError("--cal-ids-file needs --calibration holdout (crossfit calibrates on every pool video)")

    from ..detector import Detector
    from ..embeddings import backbone_fingerprint
    from ..pool import embed_pool, pool_entries, store_paths

    bdir, backbone = load_fit_backbone(req.backbone, say)
    fingerprint = backbone_fingerprint(backbone)
    pool, excluded = build_pool(stores, req, bdir, cfg, say)
    # Embedded once (after the split, so split errors come first) and shared by every fold.
    embed = lambda: embed_pool(backbone, pool, req.cache, fingerprint)
    from .fit_methods import fit_crossfit, fit_fused, fit_holdout
    extra = {}
    if method == "crossfit" and req.fusion:
        model, calibration, fit_info, extra = fit_fused(cfg, pool, embed, backbone, req, say)
    elif method == "crossfit":
        model, calibration, fit_info = fit_crossfit(cfg, pool, embed, req.folds, req.split_by, say)
    else:
        model, calibration, fit_info = fit_holdout(cfg, pool, embed, req, say)
    from ..anomaly.calibration_check import check_calibration_size
    for name, cal in (extra.get("calibrations") or {"differential": calibration}).items():
        problem = check_calibration_size(cal)
        if problem and not req.allow_small_calibration:
            raise UsageError(f"{name} score: {problem}; add real videos or pass --allow-small-calibration")
        if problem:
            say(f"WARNING: {name} score: {problem}")
            fit_info.setdefault("calibration_warnings", {})[name] = problem
    info = {
        "made_by": "difffake fit" if req.argv is not None else "difffake.fit (Python)",
        "argv": list(req.argv or []), "note": req.note, "backbone_dir": str(bdir),
        "backbone_fingerprint": fingerprint, "backbone_training": getattr(backbone, "info", {}),
        "stores": store_paths(stores), "pool": pool_entries(pool, stores), **excluded, **fit_info,
    }
    det = Detector(backbone, model, calibration, face_cfg, info, single=extra.get("single"),
                   fusion=extra.get("fusion"), calibrations=extra.get("calibrations"),
                   basis=req.basis)
    folder = det.save(req.out)
    d = model.info["density"]
    say(f"fitted {cfg.density} on {model.info['n_samples']} {cfg.combine} samples from "
        f"{model.info['n_videos']} videos ({model.info['n_videos_skipped']} skipped: < {model.min_faces} faces)"
        + (f"; PCA {d['pca_dims']} dims keep {d['pca_explained_variance']:.1%} of the variance"
           if "pca_dims" in d else ""))
    what = "out-of-fold scores of the pool's" if method == "crossfit" else "held-out"
    say(f"calibration: {calibration.n} {what} real videos, threshold {calibration.threshold:.4g} "
        f"(target FPR {calibration.target_fpr:.0%}, achieved {calibration.achieved_fpr:.1%})")
    validation = fit_info.get("pseudo_fake_validation")
    for name, v in (validation or {}).items():
        say(f"pseudo-fake videos vs real pool (out-of-fold): {name:16s} AUC {v['auc']:.3f}  "
            f"twin share {v['twin_share']:.2f}  ({v['n']} pairs)")
    for kind, table in fit_info.get("pseudo_fake_validation_by_kind", {}).items():
        v = table.get("fused") or table.get("differential") or {}
        if v:
            say(f"  {kind} twins only: {'fused' if 'fused' in table else 'differential'} AUC "
                f"{v['auc']:.3f}  twin share {v['twin_share']:.2f}  ({v['n']} pairs)")
    say(f"verdict basis: {det.basis}")
    say(f"detector written to {req.out}")
    from ..detector import MODEL_JSON
    card = json.loads((folder / MODEL_JSON).read_text())
    files = [folder / MODEL_JSON] + [folder / name for name in sorted(card["checksums"])]
    summary = CalibrationSummary(method, calibration.n, calibration.threshold, calibration.target_fpr,
                                 calibration.achieved_fpr, dict(fit_info.get("calibration_warnings", {})))
    return FitResult(det, folder, files, summary, validation, info)


def build_pool(stores, req: FitRequest, bdir: Path, cfg: AnomalyConfig, say: Say) -> tuple[dict, dict]:
    """(pool {key: (store, id)}: the stores' videos minus the backbone's training videos and
    those with too few face frames; the info entries saying what was excluded)."""
    from ..pool import pool_key

    wanted = set(read_id_list(req.ids_file)) if req.ids_file else None
    exclude_list, exclude_src = ([], "") if not req.exclude_training else training_ids(bdir, req.exclude_ids)
    exclude, exclude_names = set(exclude_list), {Path(v).name for v in exclude_list}
    if not exclude_src and req.exclude_training:
        say(f"warning: no train_ids.txt / split.json in {bdir} and no --exclude-ids: cannot tell which "
            f"videos the backbone trained on; fitting on all of them")

    pool: dict[str, tuple] = {}   # key -> (store, id); key = id, prefixed when stores share ids
    n_excluded, by_name = 0, []
    for k, store in enumerate(stores):
        for vid in store.ids():
            if wanted is not None and vid not in wanted:
                continue
            if is_excluded(vid, exclude, exclude_names):
                n_excluded += 1
                if vid not in exclude:
                    by_name.append(vid)
                continue
            pool[pool_key(k, vid, pool)] = (store, vid)
    if by_name:   # a name match may be another video with the same file name: make it visible
        say(f"{len(by_name)} pool videos excluded only because their FILE NAME matches a training id "
            f"(not their id): {', '.join(by_name[:5])}{' ...' if len(by_name) > 5 else ''}")
    say(f"real pool: {len(pool) + n_excluded} videos in {len(stores)} store(s); {n_excluded} excluded as "
        f"backbone training videos ({exclude_src or 'none given'}; the backbone's validation videos stay: "
        f"they only chose its checkpoint); {len(pool)} left")
    # Photos and faceless clips give no pairs: drop them before the split so they
    # cannot fill the calibration share (reads only has_face, not the crops).
    need = 1 if cfg.combine == "single" else 2
    few = [k for k, (store, vid) in pool.items() if store.load(vid, with_crops=False).num_faces < need]
    for k in few:
        del pool[k]
    if few:
        say(f"{len(few)} pool entries have < {need} face frames (photos, faceless clips) and are not used")
    if len(pool) < 2:
        raise UsageError(f"{list(req.stores)}: only {len(pool)} real videos left after exclusion; need >= 2")
    return pool, {"excluded_training_ids": n_excluded, "excluded_by_name_only": by_name,
                  "exclude_source": exclude_src}


def load_fit_backbone(path, say: Say):
    """(folder, Backbone): its exported backbone, else the best checkpoint of an unfinished run."""
    from ..backbone.model import Backbone
    from ..backbone.run_checkpoint import (
        describe,
        find_checkpoint,
        load_checkpoint_backbone,
    )

    path = Path(path)
    if (path / "backbone.json").is_file():
        return path, Backbone.load(path)
    resume = f"`difffake train --store STORE --out {path} --resume`"
    found = find_checkpoint(path)
    if found is None:
        raise FileError(path, f"no backbone.json here, and no checkpoint of an unfinished training run "
                              f"(last.json, checkpoints/): pass a training run folder, a folder with "
                              f"backbone.safetensors + backbone.json, or finish an interrupted run with {resume}")
    say(f"{path}: no backbone.json here (training unfinished); using {describe(*found)}; "
        f"{resume} finishes the run")
    return path, load_checkpoint_backbone(path, *found)


def read_id_list(path) -> list[str]:
    """Ids from a text file (one per line, # comments) or a split.json ('train' list)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise FileError(path, f"cannot read id list ({exc.strerror or exc})") from exc
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise FileError(path, f"not valid JSON ({exc})") from None
        if not isinstance(data, dict) or "train" not in data:
            raise FileError(path, "expected a JSON object with a 'train' id list")
        return [str(v) for v in data["train"]]
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def training_ids(backbone_dir: Path, explicit=None) -> tuple[list[str], str]:
    """(ids the backbone trained on, where they came from)."""
    if explicit:
        return read_id_list(explicit), str(explicit)
    for candidate in (backbone_dir / "train_ids.txt", backbone_dir / "split.json"):
        if candidate.is_file():
            return read_id_list(candidate), str(candidate)
    return [], ""


def is_excluded(video_id: str, exclude: set, exclude_names: set) -> bool:
    # Exact id first; the file name as a fallback because the trainer's store may
    # have had another root (e.g. "videos/x.mp4" vs "x.mp4").
    return video_id in exclude or Path(video_id).name in exclude_names


def _face_config(stores) -> FaceConfig:
    names = {f.name for f in dataclasses.fields(FaceConfig)}
    settings = [{k: v for k, v in s.settings.items() if k in names} for s in stores]
    for s, other in zip(stores[1:], settings[1:]):
        diff = {k for k in names if other.get(k) != settings[0].get(k)}
        if diff - {"num_frames"}:
            log.warning("%s: face settings differ from the first store in %s", s.root, sorted(diff))
    return section_from_dict(FaceConfig, settings[0], f"{stores[0].root} settings")


def _with_grouping(req: FitRequest) -> FitRequest:
    """--split-by and --groups as one grouping (difffake.splits), carried in split_by."""
    from ..splits import GroupsFileError, grouping

    try:
        return dataclasses.replace(req, split_by=grouping(req.split_by, req.groups))
    except (GroupsFileError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
