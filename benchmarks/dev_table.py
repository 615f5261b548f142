"""Dev-set accuracy table (Markdown) from two `difffake evaluate --variants` runs.

Reads OUT/detector/variants.csv and OUT/floor/variants.csv written by
benchmarks/eval_dev.sh and prints, per variant, the DeepFaceLive twin pairs and
the FF++ samples as separate rows beside the floor (same pipeline, ImageNet
backbone without pseudo-fake training).

    python benchmarks/dev_table.py runs/eval > benchmarks/results/dev_accuracy.md
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROWS = [("DeepFaceLive pairs", "DeepFaceLive twin pairs"), ("average (4 methods)", "FF++ c23 samples (FF++ reader, 4 methods)")]


def read(path: Path) -> dict:
    return {(r["method"], r["variant"]): r for r in csv.DictReader(path.open())}


def fmt(v: str, digits: int = 2) -> str:
    return "–" if v in ("", None) else f"{float(v):.{digits}f}"


def main(out: str) -> None:
    det, floor = read(Path(out) / "detector" / "variants.csv"), read(Path(out) / "floor" / "variants.csv")
    variants = list(dict.fromkeys(v for (_, v) in det if v != "detector"))
    print("| set | variant | real / fake | AUC trained [95% CI] | AUC floor | twin share trained / floor "
          "| paper's binarised AUC (optimistic) | balanced acc @ stored threshold |")
    print("|---|---|---|---|---|---|---|---|")
    for method, label in ROWS:
        for v in variants:
            r, f = det.get((method, v)), floor.get((method, v))
            if r is None:
                continue
            ci = f" [{fmt(r['auc_ci_low'])}, {fmt(r['auc_ci_high'])}]" if r.get("auc_ci_low") else ""
            print(f"| {label} | {v} | {r['n_real']} / {r['n_fake']} | {fmt(r['auc'])}{ci} | "
                  f"{fmt(f['auc']) if f else '–'} | {fmt(r['twin_share'])} / {fmt(f['twin_share']) if f else '–'} | "
                  f"{fmt(r['paper_binarised_auc'])} | {fmt(r['balanced_acc'])} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/eval")
