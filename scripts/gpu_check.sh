#!/usr/bin/env bash
# Device check for a lent CUDA machine: the paper preset (B4 AdvProp @ 224,
# bf16 + channels_last, SAM, DataLoader workers) and the cpu preset train a few
# epochs on a small carried face store, then the GPU throughput table.
# Usage (on the GPU machine, repo root): bash scripts/gpu_check.sh STORE OUTDIR
set -uo pipefail
store=${1:?face store}; out=${2:?output folder}
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$out"
python3 -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, torch.cuda.get_device_name())"
# Weights cannot be downloaded there: --pretrained none (same cost, same code path).
python3 -m difffake train --store "$store" --out "$out/paper_run" --preset paper --pretrained none \
    --epochs 3 --steps-per-epoch 40 --device cuda 2>&1 | grep -v "it/s\]" | tail -12
python3 -m difffake train --store "$store" --out "$out/cpu_run" --preset cpu --pretrained none \
    --epochs 2 --steps-per-epoch 40 --device cuda --workers 4 2>&1 | grep -v "it/s\]" | tail -6
python3 benchmarks/bench_gpu.py --out "$out/backbone_gpu.md"
cp "$out/paper_run/metrics.csv" "$out/paper_metrics.csv"; cp "$out/cpu_run/metrics.csv" "$out/cpu_metrics.csv"
cp "$out/paper_run/backbone.json" "$out/paper_backbone.json"
rm -rf "$out/paper_run" "$out/cpu_run"
