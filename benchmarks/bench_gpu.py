"""Backbone throughput on a CUDA GPU: embedding (faces/s) and SAM training (img/s).

The same two backbones as bench_backbone.py (cpu preset Lite0 @ 160, paper
B4 AdvProp @ 224, random init: same cost), with what train.py does on CUDA:
bf16 autocast and channels_last. Synthetic tensors, so this measures the
model, not the data pipeline (the train runs in gpu_check.sh measure both).

    python benchmarks/bench_gpu.py --out benchmarks/results/backbone_gpu.md
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from difffake.backbone import Backbone
from difffake.backbone.sam import SAM, bypass_bn_stats
from difffake.config import BackboneConfig

MODELS = {"cpu preset (Lite0 @ 160)": ("tf_efficientnet_lite0", 160),
          "paper (B4 AdvProp @ 224)": ("tf_efficientnet_b4.ap_in1k", 224)}


def timed(fn, steps: int) -> float:
    fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / steps


def measure(name: str, size: int, batch: int, steps: int) -> dict:
    dev = torch.device("cuda")
    net = Backbone(BackboneConfig(name=name, pretrained="none", input_size=size)).to(dev)
    net = net.to(memory_format=torch.channels_last)
    x = torch.randn(batch, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last)
    y = torch.arange(batch, device=dev) % 2
    net.eval()

    @torch.inference_mode()
    def embed():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            net.embed(x)

    t_embed = timed(embed, steps)
    net.train()
    opt = SAM(torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9), rho=0.05)

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(net(x).float(), y)
        loss.backward()
        opt.first_step()
        opt.zero_grad()
        with bypass_bn_stats(net), torch.autocast("cuda", dtype=torch.bfloat16):
            F.cross_entropy(net(x).float(), y).backward()
        opt.second_step()
        opt.zero_grad()

    t_train = timed(step, steps)
    return {"embed": batch / t_embed, "train": batch / t_train,
            "mem_gb": torch.cuda.max_memory_allocated() / 2**30}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "backbone_gpu.md"))
    args = ap.parse_args()
    rows = []
    for label, (name, size) in MODELS.items():
        torch.cuda.reset_peak_memory_stats()
        r = measure(name, size, args.batch, args.steps)
        rows.append(f"| {label} | {args.batch} | {r['embed']:.0f} | {r['train']:.0f} | {r['mem_gb']:.1f} |")
        print(rows[-1], flush=True)
    text = "\n".join([
        "# Backbone throughput on a GPU",
        "",
        f"`python benchmarks/bench_gpu.py`; {torch.cuda.get_device_name()}, torch {torch.__version__}, "
        "bf16 autocast + channels_last, SAM = two forward/backward passes per step, synthetic input.",
        "",
        "| backbone | batch | embedding (faces/s) | SAM training (img/s) | peak GPU memory (GB) |",
        "|---|---|---|---|---|",
        *rows, ""])
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
