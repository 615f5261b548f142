"""Evaluation protocols: dataset specs, the rows (subsets) each protocol reports, and their metrics.

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

Twins, averages and every row's numbers are made here; the videos come from
evaluation.videos and the scores from evaluation.scoring.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

STANDARD_FFPP = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
COLUMNS = ["dataset", "protocol", "method", "compression", "variant", "n_real", "n_fake", "n_no_face",
           "n_error", "auc", "auc_ci_low", "auc_ci_high", "ap", "eer", "balanced_acc", "fpr_at_threshold",
           "tpr_at_threshold", "paper_binarised_auc", "twin_share", "n_twins", "n_detector_fit"]


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

def parse_dataset_spec(spec: str) -> tuple[str, Path, dict]:
    """'KIND[,opt=value...]:ROOT' -> (kind, root, options); KIND 'auto' guesses the layout.

    Example: ffpp,compression=c40,split=test:/data/ffpp
    """
    from ..datasets import detect_layout

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
    from ..datasets.options import check_options
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


# ----------------------------------------------------------------- rows
def subset_row(sub: Subset, items, scores, statuses, threshold: float | None, variant: str,
               seed: int = 0, n_boot: int = 1000) -> dict:
    from ..metrics import bootstrap_auc_ci, compute_metrics, twin_test

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
