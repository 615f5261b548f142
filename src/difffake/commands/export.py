"""`difffake export`: write a detector's backbone as ONNX, so scans need no torch."""
from __future__ import annotations

from pathlib import Path

from ..errors import EXIT_OK

NAME = "export"
HELP = "add backbone.onnx to a detector folder (scanning then runs on ONNX Runtime, without torch)"


def add_arguments(p) -> None:
    p.add_argument("detector", type=Path, help="detector folder made by `difffake fit`")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")


def run(args) -> int:
    from ..detector_export import export_detector

    record = export_detector(args.detector, opset=args.opset)
    d = record["parity_vs_torch"]
    print(f"wrote {args.detector / record['file']} (opset {record['opset']}); vs torch on "
          f"{d['n_crops']} crops: embeddings max |diff| {d['embedding_max_abs_diff']:.2e}, "
          f"P(fake) max |diff| {d['probability_max_abs_diff']:.2e}")
    return EXIT_OK
