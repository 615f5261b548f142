"""The ablation table of benchmarks/results/dev_accuracy.md: each detector recipe as rows.

    python benchmarks/ablation.py --store DEV_STORE --labels ../shared/data/dev/labels.csv \
        --detector "NAME=DETECTOR_DIR" [...] --out benchmarks/results/ablation.md

Every detector was made from real videos only (`difffake fit`); nothing here
feeds back into any choice: the pseudo-fake-video column (out of fold, from
the detector's own model card) is what chose, dev only reports. For each
detector and each of its scores (the verdict basis first): pseudo-fake-video
AUC and twin share, dev DeepFaceLive AUC with its class-stratified bootstrap
interval, twin share, FF++ c23 sample AUC and its ordering check, TPR / FPR on
all dev videos at the stored threshold.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from difffake.detector import BASIS_COMPONENT, Detector
from difffake.embeddings import embed_store, frame_fake_prob
from difffake.faces.store import FaceStore
from difffake.metrics import bootstrap_auc_ci, compute_metrics, twin_test

SCORES = ("fused", "differential", "single", "classifier_mean", "classifier_q90")


def read_labels(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def dev_scores(det: Detector, store: FaceStore, rows: list[dict], cache: Path | None) -> dict:
    """{video path: {score name: value}} for every labelled dev video in the store."""
    ids = [r["path"] for r in rows if store.has(r["path"])]
    embs = embed_store(det.backbone, store, ids, cache_dir=cache)
    return {vid: det.scores(e.emb, frame_fake_prob(det.backbone, e.emb)) for vid, e in embs.items()}


def rows_for(name: str, det: Detector, scores: dict, labels: list[dict], seed: int = 0) -> list[dict]:
    val = det.info.get("pseudo_fake_validation", {})
    basis = BASIS_COMPONENT[det.basis]
    names = [basis] + [s for s in SCORES if s != basis and s in det.calibrations]
    lab = {r["path"]: r for r in labels}
    dfl_real = sorted(p for p in scores if p.startswith("real/dfl_"))
    twins = [(p, "fake/" + p[len("real/"):]) for p in dfl_real if "fake/" + p[len("real/"):] in scores]
    ffpp = sorted(p for p in scores if p.startswith("ffpp/"))
    out = []
    for s in names:
        if not all(s in v for v in scores.values()):
            continue
        cal = det.calibrations.get(s)

        def vals(paths):
            return np.array([scores[p][s] for p in paths], np.float64)

        dfl = [p for pair in twins for p in pair]
        y = np.array([lab[p]["label"] == "fake" for p in dfl], np.int64)
        m = compute_metrics(y, vals(dfl))
        lo, hi = bootstrap_auc_ci(y, vals(dfl), seed=seed)
        fy = np.array([lab[p]["label"] == "fake" for p in ffpp], np.int64)
        fv = vals(ffpp)
        fm = compute_metrics(fy, fv)
        every = sorted(scores)
        ay = np.array([lab[p]["label"] == "fake" for p in every], np.int64)
        at = compute_metrics(ay, vals(every), cal.threshold if cal else None)
        out.append({
            "detector": name, "score": s + (" (verdict)" if s == basis else ""),
            "pseudo_auc": val.get(s, {}).get("auc"), "pseudo_twin": val.get(s, {}).get("twin_share"),
            "dfl_auc": m["auc"], "dfl_lo": lo, "dfl_hi": hi, "n_dfl": len(twins),
            "dfl_twin": twin_test(vals([f for _, f in twins]), vals([r for r, _ in twins])),
            "ffpp_auc": fm["auc"], "ffpp_all_above": bool(fv[fy == 1].min() > fv[fy == 0].max()),
            "tpr": at.get("tpr"), "fpr": at.get("fpr"), "n_real": at["n_real"], "n_fake": at["n_fake"]})
    return out


def fmt(v, digits=2) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def table(rows: list[dict]) -> str:
    head = ("| detector | score | pseudo-fake videos AUC / twin share | dev DFL AUC [95% CI] | "
            "dev DFL twin share | FF++ AUC (all fakes above all reals?) | dev TPR / FPR @ stored threshold |")
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        lines.append(f"| {r['detector']} | {r['score']} | {fmt(r['pseudo_auc'])} / {fmt(r['pseudo_twin'])} | "
                     f"{fmt(r['dfl_auc'])} [{fmt(r['dfl_lo'])}, {fmt(r['dfl_hi'])}] | {fmt(r['dfl_twin'])} | "
                     f"{fmt(r['ffpp_auc'])} ({fmt(r['ffpp_all_above'])}) | {fmt(r['tpr'])} / {fmt(r['fpr'])} |")
    return "\n".join(lines) + "\n"


def record_accuracy(folder: Path, rows: list[dict], source: str) -> None:
    """Write the verdict score's dev numbers into the detector's model card (model.json
    info.accuracy): what the report and the web page show beside every verdict. Reporting
    only: model.json is not among the checksummed files and nothing reads it to decide."""
    import json

    from difffake.fileio import atomic_write_text

    verdict = next(r for r in rows if r["score"].endswith("(verdict)"))
    path = folder / "model.json"
    card = json.loads(path.read_text())
    card.setdefault("info", {})["accuracy"] = {
        f"dev DeepFaceLive twins ({verdict['n_dfl']} real / {verdict['n_dfl']} fake)": {
            "AUC": f"{verdict['dfl_auc']:.2f} [{verdict['dfl_lo']:.2f}, {verdict['dfl_hi']:.2f}]",
            "fake above its real twin": f"{verdict['dfl_twin']:.0%}"},
        f"all dev videos ({verdict['n_real']} real / {verdict['n_fake']} fake) at the stored threshold": {
            "true-positive rate": f"{verdict['tpr']:.0%}", "false-positive rate": f"{verdict['fpr']:.0%}"},
        "FF++ c23 samples (3 real / 4 fake)": {"AUC": fmt(verdict["ffpp_auc"])},
        "pseudo-fake videos (real-only validation, out of fold)": {"AUC": fmt(verdict["pseudo_auc"])},
        "source": source}
    atomic_write_text(path, json.dumps(card, indent=2, sort_keys=True))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", required=True, type=Path, help="face store of ../shared/data/dev")
    ap.add_argument("--labels", required=True, type=Path, help="dev/labels.csv")
    ap.add_argument("--detector", action="append", required=True, metavar="NAME=DIR")
    ap.add_argument("--cache", type=Path, default=None, help="embedding cache folder")
    ap.add_argument("--out", type=Path, required=True, help="Markdown table to write")
    ap.add_argument("--record", metavar="NAME",
                    help="write detector NAME's verdict-score numbers into its model.json (model card)")
    args = ap.parse_args(argv)
    labels = read_labels(args.labels)
    store = FaceStore(args.store)
    rows = []
    for spec in args.detector:
        name, _, folder = spec.partition("=")
        det = Detector.load(folder)
        print(f"scoring dev with {name} ({folder})", file=sys.stderr, flush=True)
        mine = rows_for(name, det, dev_scores(det, store, labels, args.cache), labels)
        rows += mine
        if name == args.record:
            record_accuracy(Path(folder), mine, f"benchmarks/ablation.py, {args.out.name}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table(rows))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
