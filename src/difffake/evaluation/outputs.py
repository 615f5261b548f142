"""What an evaluation writes: the tables (Markdown + CSV), unscored.csv, videos.csv and ROC plots."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..tables import write_csv, write_csv_lists, write_markdown
from .protocols import COLUMNS

UNSCORED_RULE = ("videos without enough face frames (no_face) or unreadable (error) are excluded "
                 "from AUC/AP/EER, counted in n_no_face / n_error, and listed in unscored.csv")
HEADERS = {"auc": "AUC (true)", "paper_binarised_auc": "paper's binarised AUC (optimistic)",
           "balanced_acc": "balanced acc @ stored threshold", "auc_ci_low": "AUC 95% CI low",
           "auc_ci_high": "AUC 95% CI high", "n_detector_fit": "n in detector's own fit/cal videos"}
FIT_NOTE = ("n_detector_fit: test videos that are among the detector's own fit/calibration videos "
            "(same source file): their scores are optimistic")


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def write_table(rows: list[dict], out_dir, stem: str, title: str, notes=()) -> tuple[Path, Path]:
    """STEM.csv (every column) and STEM.md (the columns holding a value, AUC and n_no_face always)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = write_csv(out_dir / f"{stem}.csv", rows, COLUMNS)
    cols = [c for c in COLUMNS if any(r.get(c) not in (None, "") for r in rows) or c in ("auc", "n_no_face")]
    md_path = write_markdown(out_dir / f"{stem}.md", rows, cols, title=title, notes=notes, headers=HEADERS,
                             fmt=_fmt)
    return md_path, csv_path


def write_unscored(items, statuses_by_variant: dict, out_dir) -> Path:
    rows = []
    for variant, (_, statuses) in statuses_by_variant.items():
        for it, st in zip(items, statuses):
            if st != "ok":
                reason = it.reason or ("fewer face frames than the model needs" if st == "no_face" else "")
                rows.append([variant, it.dataset, it.record.video_id, it.record.label, it.record.method, st,
                             reason])
    return write_csv_lists(Path(out_dir) / "unscored.csv",
                           ["variant", "dataset", "video_id", "label", "method", "status", "reason"], rows)


def write_videos(items, scored: dict, out_dir) -> Path:
    names = list(scored)
    header = (["dataset", "video_id", "label", "method", "compression", "group", "detector_fit_video"]
              + [f"score[{n}]" for n in names] + [f"status[{n}]" for n in names])
    rows = []
    for k, it in enumerate(items):
        r = it.record
        rows.append([it.dataset, r.video_id, r.label, r.method, r.compression or "", r.group or "",
                     int(it.in_detector_fit)]
                    + ["" if not np.isfinite(scored[n][0][k]) else f"{scored[n][0][k]:.6g}" for n in names]
                    + [scored[n][1][k] for n in names])
    return write_csv_lists(Path(out_dir) / "videos.csv", header, rows)


def plot_rocs(subsets, items, scored: dict, out_dir, variant: str) -> list[Path]:
    """One PNG per dataset: a ROC curve per row (subset), for one scorer."""
    from ..third_party import pyplot
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
        path = Path(out_dir) / f"roc_{safe_name(ds)}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def safe_name(name: str) -> str:
    """A file/folder name made of [A-Za-z0-9._-] (runs of anything else become '_')."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)
