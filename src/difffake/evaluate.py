"""The paper's evaluation protocols -> tables (Markdown + CSV) and ROC plots.

Protocols (video-level, fake = positive, higher score = more fake):
- FF++ cross-manipulation: each method's fakes vs the originals of the same
  compression (DeepFakeDetection vs the 'actors' originals), one row per
  method and the average over the standard four; cross-quality = the same
  rows per compression (c23 / c40) when several are evaluated.
- Any other dataset (Celeb-DF v2, DeeperForensics, ForgeryNet, DFDC, folder,
  CSV): all fakes vs all reals, plus one row per fake method when there are
  several; a method's reals are those sharing a group with its fakes when any
  do (e.g. dev DeepFaceLive twins), else all reals.

Videos that cannot be scored (no face, too few face frames, unreadable) are
EXCLUDED FROM AUC/AP/EER but counted in each row (n_no_face, n_error) and
listed in unscored.csv: no score is made up for them.

Balanced accuracy is at the detector's stored threshold (set on held-out real
videos); "paper's binarised AUC (optimistic)" is the number the DiffFake code
reports, binarised at a threshold chosen on the test labels themselves.
The twin share (fake scores above its own real, same group) is reported
wherever such pairs exist.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .anomaly.calibrate import Calibration, calibrate
from .anomaly.crossfit import crossfit
from .anomaly.densities import density_class
from .anomaly.model import AnomalyModel
from .config import AnomalyConfig

log = logging.getLogger("difffake.evaluate")

STANDARD_FFPP = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
UNSCORED_RULE = ("videos without enough face frames (no_face) or unreadable (error) are excluded "
                 "from AUC/AP/EER, counted in n_no_face / n_error, and listed in unscored.csv")
COLUMNS = ["dataset", "protocol", "method", "compression", "variant", "n_real", "n_fake", "n_no_face",
           "n_error", "auc", "auc_ci_low", "auc_ci_high", "ap", "eer", "balanced_acc", "fpr_at_threshold",
           "tpr_at_threshold", "paper_binarised_auc", "twin_share", "n_twins", "n_detector_fit"]
HEADERS = {"auc": "AUC (true)", "paper_binarised_auc": "paper's binarised AUC (optimistic)",
           "balanced_acc": "balanced acc @ stored threshold", "auc_ci_low": "AUC 95% CI low",
           "auc_ci_high": "AUC 95% CI high", "n_detector_fit": "n in detector's own fit/cal videos"}
FIT_NOTE = ("n_detector_fit: test videos that are among the detector's own fit/calibration videos "
            "(same source file): their scores are optimistic")


@dataclass
class VideoItem:
    """One evaluated video: its record, embeddings (face frames only) and status."""
    record: object                       # datasets.VideoRecord
    dataset: str
    status: str = "ok"                   # 'ok' | 'no_face' | 'error' (before scoring)
    reason: str = ""
    emb: np.ndarray | None = None
    fake_prob: np.ndarray | None = None  # backbone head, per face frame
    in_detector_fit: bool = False        # the same file is one of the detector's fit/cal videos

    @property
    def label(self) -> int:
        return int(self.record.label == "fake")


@dataclass
class Subset:
    dataset: str
    protocol: str
    method: str
    compression: str
    real: list = field(default_factory=list)   # indices into the items list
    fake: list = field(default_factory=list)
    average_key: str | None = None              # rows sharing a key are averaged


# ------------------------------------------------------------------ datasets
def parse_dataset_spec(spec: str) -> tuple[str, Path, dict]:
    """'KIND[,opt=value...]:ROOT' -> (kind, root, options); KIND 'auto' guesses the layout.

    Example: ffpp,compression=c40,split=test:/data/ffpp
    """
    from .datasets import detect_layout

    head, sep, root = spec.partition(":")
    if not sep or not root:
        raise ValueError(f"dataset spec {spec!r}: expected KIND:ROOT (e.g. ffpp:/data/FF++)")
    kind, *opts = head.split(",")
    options = {}
    for opt in opts:
        key, eq, value = opt.partition("=")
        if not eq:
            raise ValueError(f"dataset spec {spec!r}: option {opt!r} is not key=value")
        options[key.strip()] = value.strip()
    root = Path(root).expanduser()
    if kind == "auto":
        kind = detect_layout(root)
        if kind is None:
            raise ValueError(f"{root}: cannot guess the dataset layout; name it (ffpp:, celebdf:, csv: ...)")
    from .datasets.options import check_options
    return kind.lower(), root, check_options(kind.lower(), options)


def dataset_name(kind: str, root: Path, options: dict) -> str:
    """Name of a dataset's face store and report folder: KIND-FOLDER[-options]-HASH.

    The hash of the resolved root keeps two roots with the same folder name
    (/a/dev, /b/dev) apart: they would otherwise share one store and folder.
    """
    if kind == "ffpp":   # the reader's default compression, named so c23 and c40 runs never mix
        options = {"compression": "c23", **options}
    extra = "".join(f"-{v}" for k, v in sorted(options.items()) if k in ("compression", "split"))
    root = Path(root)
    base = root.parent.name if root.suffix.lower() == ".csv" else root.name   # dev/labels.csv -> dev
    digest = hashlib.sha256(str(root.expanduser().resolve()).encode()).hexdigest()[:6]
    return f"{kind}-{base}{extra}-{digest}"


def prepare_faces(records, store_dir, face_cfg, face_detector=None, face_cache=None):
    """FaceStore holding every record + {video_id: 'path: reason'} of the files that failed.

    `difffake prepare`'s loop: resumable, an entry made from another file is
    redone, failures (any exception) are retried each run and kept in failures.json.
    `face_cache`: a ContentCache folder; a video whose content (and face settings)
    it holds is copied from it instead of extracted, and new extractions are added.
    """
    from .commands.prepare import Job, prepare_jobs
    from .faces.store import FaceStore

    cache = None
    if face_cache is not None:
        from .faces.content_cache import ContentCache
        from .faces.pipeline import store_settings
        cache = ContentCache(face_cache, store_settings(face_cfg))
        store = FaceStore(store_dir, store_settings(face_cfg))
        copied = sum(cache.fill(store, r.video_id, r.path) for r in records if not store.has(r.video_id))
        if copied:
            log.info("faces of %d videos copied from the face cache %s", copied, face_cache)
    jobs = [Job(str(r.path), r.video_id) for r in records]
    summary = prepare_jobs(jobs, store_dir, face_cfg, detector=face_detector,
                           desc=f"faces {Path(store_dir).name}")
    errors = {f["id"]: f"{f['path']}: {f['reason']}" for f in summary["failures"]}
    if cache is not None:
        for r in records:
            if r.video_id not in errors:
                cache.put(store, r.video_id, r.path)
        cache.close()
    return FaceStore(store_dir), errors


def load_items(detector, records, store, errors: dict, name: str, cache_dir=None) -> list[VideoItem]:
    """Embeddings of every record (cached per store + backbone), with statuses."""
    from .embeddings import embed_store, frame_fake_prob

    ok_ids = [r.video_id for r in records if r.video_id not in errors and store.has(r.video_id)]
    embs = embed_store(detector.backbone, store, ok_ids, cache_dir=cache_dir)
    items = []
    for rec in records:
        item = VideoItem(rec, name)
        if rec.video_id in embs:
            item.emb = embs[rec.video_id].emb
            item.fake_prob = frame_fake_prob(detector.backbone, item.emb)
        else:
            item.status, item.reason = "error", errors.get(rec.video_id, "face extraction missing")
        items.append(item)
    return items


def mark_detector_fit(items: list[VideoItem], info: dict, name: str) -> int:
    """Flag (and warn about) test videos whose file is one of the detector's fit/calibration videos."""
    from .pool import pool_sources

    sources = pool_sources(info)
    hits = []
    for it in items:
        it.in_detector_fit = bool(sources) and str(Path(it.record.path).resolve()) in sources
        if it.in_detector_fit:
            hits.append(it.record.video_id)
    if hits:
        log.warning("%s: %d test video(s) are the detector's own fit/calibration videos (optimistic scores; "
                    "column n_detector_fit): %s%s", name, len(hits), ", ".join(hits[:5]),
                    " ..." if len(hits) > 5 else "")
    return len(hits)


# ----------------------------------------------------------------- protocols
def protocol_subsets(items: list[VideoItem], kind: str, extra: list | None = None) -> list[Subset]:
    """Rows of the protocol for `kind`, then one row per extra (name, regex on video id):
    the fakes and reals whose id matches (e.g. 'DeepFaceLive pairs' = 'dfl_')."""
    by_ds: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        by_ds.setdefault(it.dataset, []).append(i)
    out: list[Subset] = []
    for ds, idx in by_ds.items():
        out += _ffpp_subsets(items, ds, idx) if kind == "ffpp" else _generic_subsets(items, ds, idx)
        for name, pattern in extra or []:
            hit = [i for i in idx if re.search(pattern, items[i].record.video_id)]
            comp = ",".join(sorted({items[i].record.compression or "" for i in hit} - {""}))
            if hit:
                out.append(Subset(ds, "subset", name, comp, [i for i in hit if items[i].label == 0],
                                  [i for i in hit if items[i].label == 1]))
    return out


def _ffpp_subsets(items, ds, idx) -> list[Subset]:
    out = []
    comps = sorted({items[i].record.compression or "" for i in idx})
    for comp in comps:
        here = [i for i in idx if (items[i].record.compression or "") == comp]
        youtube = [i for i in here if items[i].label == 0 and "/actors/" not in items[i].record.video_id]
        actors = [i for i in here if items[i].label == 0 and "/actors/" in items[i].record.video_id]
        methods = sorted({items[i].record.method for i in here if items[i].label == 1})
        for m in methods:
            fakes = [i for i in here if items[i].label == 1 and items[i].record.method == m]
            reals = actors if m == "DeepFakeDetection" else youtube
            proto = "cross-manipulation" if m in STANDARD_FFPP else "cross-dataset"
            out.append(Subset(ds, proto, m, comp, reals, fakes,
                              average_key=f"{ds}|{comp}" if m in STANDARD_FFPP else None))
    return out


def _generic_subsets(items, ds, idx) -> list[Subset]:
    reals = [i for i in idx if items[i].label == 0]
    fakes = [i for i in idx if items[i].label == 1]
    comp = ",".join(sorted({items[i].record.compression or "" for i in idx} - {""}))
    out = [Subset(ds, "cross-dataset", "all", comp, reals, fakes)]
    methods = sorted({items[i].record.method for i in fakes})
    if len(methods) > 1:
        for m in methods:
            mf = [i for i in fakes if items[i].record.method == m]
            groups = {items[i].record.group for i in mf} - {None}
            linked = [i for i in reals if items[i].record.group in groups]
            out.append(Subset(ds, "per-method", m, comp, linked or reals, mf))
    return out


# ------------------------------------------------------------------- scoring
def score_items(items: list[VideoItem], scorer) -> tuple[np.ndarray, list[str]]:
    """(scores, statuses): scorer(item) -> (score, status); NaN where status != 'ok'."""
    scores, statuses = np.full(len(items), np.nan), []
    for k, it in enumerate(items):
        if it.status != "ok":
            statuses.append(it.status)
            continue
        s, st = scorer(it)
        statuses.append(st)
        if st == "ok":
            scores[k] = s
    return scores, statuses


def anomaly_scorer(model: AnomalyModel):
    def score(item: VideoItem):
        vs = model.score_video(item.emb)
        return vs.score, ("ok" if vs.status == "ok" else "no_face")
    return score


def detector_scorers(detector) -> dict:
    """{row name: (scorer, stored threshold)}: 'detector' is the verdict's basis score; a fused
    detector adds a row per component (scores computed once per video, then shared)."""
    from .detector import BASIS_COMPONENT

    cache: dict = {}

    def scores_of(item):
        if id(item) not in cache:
            cache[id(item)] = detector.scores(item.emb, item.fake_prob)
        return cache[id(item)]

    def scorer_for(name):
        def score(item: VideoItem):
            v = scores_of(item).get(name, float("nan"))
            return v, ("ok" if np.isfinite(v) else "no_face")
        return score

    basis = BASIS_COMPONENT[detector.basis]
    cal = detector.calibrations.get(basis)
    out = {"detector": (scorer_for(basis), cal.threshold if cal else None)}
    if detector.fusion is not None:
        for name in ("fused", "differential", "single", "classifier_mean", "classifier_q90"):
            if name != basis and name in detector.calibrations:
                out[f"detector:{name}"] = (scorer_for(name), detector.calibrations[name].threshold)
    return out


def classifier_scorer(item: VideoItem):
    """The backbone's own mean per-frame fake probability (SBI-style baseline)."""
    if item.fake_prob is None or len(item.fake_prob) == 0:
        return float("nan"), "no_face"
    return float(np.mean(item.fake_prob)), "ok"


def subset_row(sub: Subset, items, scores, statuses, threshold: float | None, variant: str,
               seed: int = 0, n_boot: int = 1000) -> dict:
    from .metrics import bootstrap_auc_ci, compute_metrics, twin_test

    idx = sub.real + sub.fake
    ok = [i for i in idx if statuses[i] == "ok"]
    row = {"dataset": sub.dataset, "protocol": sub.protocol, "method": sub.method,
           "compression": sub.compression, "variant": variant,
           "n_real": sum(1 for i in sub.real if statuses[i] == "ok"),
           "n_fake": sum(1 for i in sub.fake if statuses[i] == "ok"),
           "n_no_face": sum(1 for i in idx if statuses[i] == "no_face"),
           "n_error": sum(1 for i in idx if statuses[i] == "error"),
           "n_detector_fit": sum(items[i].in_detector_fit for i in idx) or None}   # None: no column
    if ok:
        labels = np.array([items[i].label for i in ok])
        s = scores[ok]
        m = compute_metrics(labels, s, threshold=threshold)
        row.update({k: m.get(k) for k in ("auc", "ap", "eer", "balanced_acc", "paper_binarised_auc")})
        row["fpr_at_threshold"], row["tpr_at_threshold"] = m.get("fpr"), m.get("tpr")
        if row["n_real"] and row["n_fake"]:
            row["auc_ci_low"], row["auc_ci_high"] = bootstrap_auc_ci(labels, s, n=n_boot, seed=seed)
    twins = _twins(sub, items, statuses)
    row["n_twins"] = len(twins)
    if twins:
        row["twin_share"] = twin_test([scores[f] for f, _ in twins], [scores[r] for _, r in twins])
    return {c: row.get(c) for c in COLUMNS}


def _twins(sub: Subset, items, statuses) -> list[tuple[int, int]]:
    """(fake, real) index pairs sharing a group, one real per group, both scored."""
    real_by_group: dict = {}
    for i in sub.real:
        g = items[i].record.group
        if g is not None and statuses[i] == "ok":
            real_by_group.setdefault(g, []).append(i)
    return [(f, real_by_group[items[f].record.group][0]) for f in sub.fake
            if statuses[f] == "ok" and len(real_by_group.get(items[f].record.group, [])) == 1]


def average_rows(rows: list[dict], subsets: list[Subset], statuses: list[str],
                 items_in_fit: list[bool] | None = None) -> list[dict]:
    """One 'average' row per average_key: the mean of the per-method metrics.

    `rows` are one scorer's rows, in `subsets` order. Methods without an AUC
    (a class missing) are left out of the mean and the count says so.
    """
    out = []
    items_in_fit = items_in_fit or [False] * len(statuses)
    for key in sorted({s.average_key for s in subsets if s.average_key}):
        pairs = [(r, s) for r, s in zip(rows, subsets) if s.average_key == key and r["auc"] is not None]
        if not pairs:
            continue
        members = [r for r, _ in pairs]
        videos = sorted({i for _, s in pairs for i in s.real + s.fake})   # originals counted once
        avg = {c: None for c in COLUMNS}
        avg.update(dataset=members[0]["dataset"], protocol="cross-manipulation",
                   method=f"average ({len(members)} methods)", compression=members[0]["compression"],
                   variant=members[0]["variant"],
                   n_real=max(r["n_real"] for r in members), n_fake=sum(r["n_fake"] for r in members),
                   n_no_face=sum(statuses[i] == "no_face" for i in videos),
                   n_error=sum(statuses[i] == "error" for i in videos),
                   n_twins=sum(r["n_twins"] or 0 for r in members),
                   n_detector_fit=sum(items_in_fit[i] for i in videos) or None)
        for c in ("auc", "ap", "eer", "balanced_acc", "paper_binarised_auc", "fpr_at_threshold",
                  "tpr_at_threshold", "twin_share"):
            vals = [r[c] for r in members if r[c] is not None]
            avg[c] = float(np.mean(vals)) if vals else None
        out.append(avg)
    return out


def evaluate_scorers(items: list[VideoItem], subsets: list[Subset], scorers: dict,
                     seed: int = 0, n_boot: int = 1000) -> tuple[list[dict], dict]:
    """Rows for every (scorer, subset) + averages; scorers: name -> (scorer fn, threshold or None).

    Returns (rows, {name: (scores, statuses)}).
    """
    rows, scored = [], {}
    for name, (fn, threshold) in scorers.items():
        scores, statuses = score_items(items, fn)
        scored[name] = (scores, statuses)
        mine = [subset_row(s, items, scores, statuses, threshold, name, seed, n_boot) for s in subsets]
        rows += mine + average_rows(mine, subsets, statuses, [it.in_detector_fit for it in items])
    return rows, scored


# ------------------------------------------------------------------ variants
def parse_variant(text: str, base: AnomalyConfig) -> AnomalyConfig | str:
    """'combine:density[:pcaN|nopca][:full|diag|tied|spherical][:kN][:mean|median|trimmed]'
    -> AnomalyConfig; 'classifier' -> the backbone's own score."""
    if text.strip() == "classifier":
        return "classifier"
    parts = [p.strip() for p in text.split(":") if p.strip()]
    if len(parts) < 2:
        raise ValueError(f"variant {text!r}: expected combine:density[:options]")
    over = {"combine": parts[0], "density": parts[1]}
    for p in parts[2:]:
        if p == "nopca":
            over["pca_dims"] = None
        elif re.fullmatch(r"pca\d+", p):
            over["pca_dims"] = int(p[3:])
        elif (option := density_class(parts[1]).variant_option(p)) is not None:   # the density's own
            over.update(option)
        elif p in ("mean", "median", "trimmed"):
            over["video_reduce"] = p
        elif p in ("paper", "all", "consecutive"):
            over["pairing"] = p
        else:
            raise ValueError(f"variant {text!r}: unknown option {p!r}")
    return dataclasses.replace(base, **over)


def variant_name(cfg: AnomalyConfig) -> str:
    name = f"{cfg.combine}:{cfg.density}:" + (f"pca{cfg.pca_dims}" if cfg.pca_dims else "nopca")
    name += density_class(cfg.density).variant_suffix(cfg)
    # pairing and reduction change the scores too: named when not the default, so
    # sq:gmm:mean / sq:gmm:median / sq:gmm:all get distinct rows
    default = AnomalyConfig()
    if cfg.pairing != default.pairing:
        name += f":{cfg.pairing}"
    if cfg.video_reduce != default.video_reduce:
        name += f":{cfg.video_reduce}"
    return name


def scorer_name(variant) -> str:
    return "classifier (backbone mean P(fake))" if variant == "classifier" else variant_name(variant)


def check_variant_names(variants: list) -> None:
    """Raise ValueError when two variants get one name (their rows would overwrite each other)."""
    seen: dict[str, object] = {}
    for v in variants:
        name = scorer_name(v)
        if name in seen:
            raise ValueError(f"variants {seen[name]!r} and {v!r} are both named {name!r}: "
                             f"give each variant once")
        seen[name] = v


def fit_variant(cfg: AnomalyConfig, fit_embs: list, cal_embs: list,
                folds=None) -> tuple[AnomalyModel, Calibration | None]:
    """Fit a variant on the fit reals and calibrate it on the held-out reals (never test labels).

    With `folds` (one per fit video: a crossfit detector's), the variant is
    cross-fitted like the detector: final model on all fit reals, calibration
    on their out-of-fold scores; cal_embs are then unused (the same videos).
    """
    if folds is not None:
        cf = crossfit(cfg, fit_embs, folds)
        return cf.model, cf.calibration
    model = AnomalyModel(cfg).fit(fit_embs)
    cal = None
    if cal_embs:
        s = model.score_videos(cal_embs)
        if np.isfinite(s).any():
            cal = calibrate(s, cfg.target_fpr)
    return model, cal


def variant_folds(info: dict) -> list | None:
    """Fold per info['fit_ids'] entry for a crossfit detector's model.json info, else None
    (fit_embeddings returns the fit embeddings in that order)."""
    if info.get("calibration_method") != "crossfit":
        return None
    return [int(info["fold_of"][v]) for v in info["fit_ids"]]


def variant_scorers(variants: list, fit_embs: list, cal_embs: list, cal_probs: list | None = None,
                    target_fpr: float = 0.05, folds=None) -> dict:
    """{name: (scorer, threshold)} for AnomalyConfigs and 'classifier'."""
    check_variant_names(variants)
    out = {}
    for v in variants:
        if v == "classifier":
            thr = None
            if cal_probs:
                vals = [float(np.mean(p)) for p in cal_probs if p is not None and len(p)]
                if vals:
                    thr = calibrate(vals, target_fpr).threshold
            out[scorer_name(v)] = (classifier_scorer, thr)
            continue
        model, cal = fit_variant(v, fit_embs, cal_embs, folds)
        out[scorer_name(v)] = (anomaly_scorer(model), cal.threshold if cal else None)
    return out


# ------------------------------------------------------------------- outputs
def _fmt(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def write_table(rows: list[dict], out_dir, stem: str, title: str, notes=()) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.md"
    with csv_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in COLUMNS})
    cols = [c for c in COLUMNS if any(r.get(c) not in (None, "") for r in rows) or c in ("auc", "n_no_face")]
    lines = [f"# {title}", ""]
    lines += [f"| {' | '.join(HEADERS.get(c, c) for c in cols)} |", f"|{'---|' * len(cols)}"]
    lines += [f"| {' | '.join(_fmt(r.get(c)) for c in cols)} |" for r in rows]
    lines += [""] + [f"- {n}" for n in notes]
    md_path.write_text("\n".join(lines) + "\n")
    return md_path, csv_path


def write_unscored(items, statuses_by_variant: dict, out_dir) -> Path:
    path = Path(out_dir) / "unscored.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["variant", "dataset", "video_id", "label", "method", "status", "reason"])
        for variant, (_, statuses) in statuses_by_variant.items():
            for it, st in zip(items, statuses):
                if st != "ok":
                    reason = it.reason or ("fewer face frames than the model needs"
                                           if st == "no_face" else "")
                    w.writerow([variant, it.dataset, it.record.video_id, it.record.label,
                                it.record.method, st, reason])
    return path


def write_videos(items, scored: dict, out_dir) -> Path:
    path = Path(out_dir) / "videos.csv"
    names = list(scored)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["dataset", "video_id", "label", "method", "compression", "group", "detector_fit_video"]
                   + [f"score[{n}]" for n in names] + [f"status[{n}]" for n in names])
        for k, it in enumerate(items):
            r = it.record
            w.writerow([it.dataset, r.video_id, r.label, r.method, r.compression or "", r.group or "",
                        int(it.in_detector_fit)]
                       + ["" if not np.isfinite(scored[n][0][k]) else f"{scored[n][0][k]:.6g}" for n in names]
                       + [scored[n][1][k] for n in names])
    return path


def plot_rocs(subsets, items, scored: dict, out_dir, variant: str) -> list[Path]:
    """One PNG per dataset: a ROC curve per row (subset), for one scorer."""
    from .third_party import pyplot
    plt = pyplot()
    from sklearn.metrics import roc_auc_score, roc_curve

    scores, statuses = scored[variant]
    paths = []
    for ds in sorted({s.dataset for s in subsets}):
        fig, ax = plt.subplots(figsize=(5, 5))
        drawn = 0
        for sub in (s for s in subsets if s.dataset == ds):
            ok = [i for i in sub.real + sub.fake if statuses[i] == "ok"]
            labels = np.array([items[i].label for i in ok])
            if len(set(labels.tolist())) < 2:
                continue
            fpr, tpr, _ = roc_curve(labels, scores[ok])
            auc = roc_auc_score(labels, scores[ok])
            ax.plot(fpr, tpr, label=f"{sub.method} {sub.compression} (AUC {auc:.3f}, "
                                    f"{int((labels == 0).sum())}/{int(labels.sum())})")
            drawn += 1
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.set(xlabel="false-positive rate (real flagged)", ylabel="true-positive rate (fake caught)",
               title=f"{ds} — {variant}")
        if drawn:
            ax.legend(fontsize=7, loc="lower right")
        path = Path(out_dir) / f"roc_{_safe(ds)}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


# ---------------------------------------------------------------- top level
def evaluate(detector, datasets: list[tuple[str, Path, dict]], out_dir, store_base=None,
             variants: list | None = None, fit_embs=None, cal_embs=None, cal_probs=None,
             cache_dir=None, seed: int = 0, n_boot: int = 1000, subsets: list | None = None,
             face_cache=None) -> dict:
    """Run every protocol on each dataset; write tables, ROC plots, per-video CSVs.

    `variants` (AnomalyConfig or 'classifier') are refitted on `fit_embs`,
    calibrated on `cal_embs` and scored from the same cached embeddings.
    `subsets`: extra rows, [(name, regex on video id)], applied to every dataset.
    `face_cache`: a content-keyed face cache folder (faces/content_cache.py), or None.
    """
    from .datasets import load_dataset

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_base = Path(store_base) if store_base else out_dir / "stores"
    summary = {"datasets": [], "tables": [], "rule": UNSCORED_RULE}
    all_rows = []
    scorers = detector_scorers(detector)
    if variants:
        scorers.update(variant_scorers(variants, fit_embs or [], cal_embs or [], cal_probs,
                                       detector.anomaly.cfg.target_fpr, variant_folds(detector.info)))
    for kind, root, options in datasets:
        name = dataset_name(kind, root, options)
        records = load_dataset(kind, root, **options)
        store, errors = prepare_faces(records, store_base / _safe(name), detector.face_cfg,
                                      face_cache=face_cache)
        items = load_items(detector, records, store, errors, name, cache_dir)
        n_fit = mark_detector_fit(items, detector.info, name)
        ds_subsets = protocol_subsets(items, kind, subsets)
        rows, scored = evaluate_scorers(items, ds_subsets, scorers, seed, n_boot)
        ds_dir = out_dir / _safe(name)
        ds_dir.mkdir(exist_ok=True)
        write_videos(items, scored, ds_dir)
        write_unscored(items, scored, ds_dir)
        plot_rocs(ds_subsets, items, scored, ds_dir, "detector")
        notes = [UNSCORED_RULE, f"{len(records)} videos read from {root} ({kind})",
                 "balanced acc / FPR / TPR at the stored threshold (set on real calibration videos "
                 "- held out, or out-of-fold with crossfit - never on test labels)"]
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

