"""Backbone throughput on this machine: embedding (faces/s) and SAM training (img/s).

Each measurement runs in a fresh child process, so that no malloc state carries
over. Rows compare the cpu preset (Lite0 @ 160) and the paper backbone (B4
AdvProp @ 224, random init: same cost) with default malloc, malloc tuned by the
environment before Python starts, and malloc tuned in the process with mallopt
(what the `difffake` command does), and 1 vs 2 torch threads.

    python benchmarks/bench_backbone.py [--quick] [--out benchmarks/results/backbone.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from difffake.backbone.malloc import MALLOC_ENV as TUNED

MODELS = {"cpu": ("tf_efficientnet_lite0", "lite0-package", 160),
          "paper": ("tf_efficientnet_b4.ap_in1k", "none", 224)}


def child(model: str, task: str, threads: int, batch: int, steps: int, mallopt: bool) -> dict:
    if mallopt:
        from difffake.backbone.malloc import tune_in_process
        assert tune_in_process(), "mallopt tuning did not apply"
    import numpy as np
    import torch
    import torch.nn.functional as F

    from difffake.backbone import Backbone
    from difffake.backbone.sam import SAM, bypass_bn_stats
    from difffake.config import BackboneConfig

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    name, pretrained, size = MODELS[model]
    net = Backbone(BackboneConfig(name=name, pretrained=pretrained, input_size=size))
    rng = np.random.default_rng(0)
    if task == "embed":
        crops = [rng.integers(0, 255, (200, 200, 3), dtype=np.uint8) for _ in range(batch)]
        net.embed_crops(crops, batch_size=batch)                      # warm-up
        t = time.perf_counter()
        for _ in range(steps):
            net.embed_crops(crops, batch_size=batch)                  # includes preprocess
        dt = time.perf_counter() - t
    else:
        net.train()
        opt = SAM(torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9), rho=0.05)
        x = torch.randn(batch, 3, size, size)
        y = torch.arange(batch) % 2

        def step():
            F.cross_entropy(net(x), y).backward()
            opt.first_step()
            opt.zero_grad()
            with bypass_bn_stats(net):
                F.cross_entropy(net(x), y).backward()
            opt.second_step()
            opt.zero_grad()

        step()                                                        # warm-up
        t = time.perf_counter()
        for _ in range(steps):
            step()
        dt = time.perf_counter() - t
    return {"per_s": batch * steps / dt, "seconds_per_batch": dt / steps}


MALLOC_MODES = ("default", "env", "mallopt")


def measure(model, task, threads, malloc, batch, steps) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (*TUNED, "DIFFFAKE_NO_MALLOC_TUNING")}
    if malloc == "env":
        env.update(TUNED)
    cmd = [sys.executable, __file__, "--child", model, task, str(threads), str(batch), str(steps),
           str(int(malloc == "mallopt"))]
    load = os.getloadavg()[0]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return {**json.loads(out.strip().splitlines()[-1]), "load": load}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=6)
    ap.add_argument("--quick", action="store_true", help="cpu model only, fewer steps")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "backbone.md"))
    args = ap.parse_args()
    if args.child:
        model, task, threads, batch, steps, mallopt = args.child
        print(json.dumps(child(model, task, int(threads), int(batch), int(steps), mallopt == "1")))
        return 0

    plan = []   # (model, task, batch, steps)
    for model in (("cpu",) if args.quick else ("cpu", "paper")):
        plan.append((model, "embed", 32, 3))
        plan.append((model, "train", 32 if model == "cpu" else 8, 3 if model == "cpu" else 2))
    rows = []
    for model, task, batch, steps in plan:
        for malloc in MALLOC_MODES:
            for threads in (1, 2):
                r = measure(model, task, threads, malloc, batch, steps)
                rows.append((model, task, batch, malloc, threads, r))
                print(model, task, batch, malloc, threads, r, flush=True)

    name = {m: f"{v[0]} @ {v[2]} px" for m, v in MODELS.items()}
    lines = [
        "# Backbone throughput",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch threads as listed; "
        f"{time.strftime('%Y-%m-%d %H:%M')}. The machine was shared with other jobs: "
        "`load` is the 1-minute load average when the row started (2.0 = both cores busy "
        "before we began). Each row is a fresh process.",
        "",
        "embed = `Backbone.embed_crops` on 200x200 uint8 crops (preprocess included), faces/s; "
        "train = one SAM step (2 forward + 2 backward passes) on random tensors, images/s.",
        "malloc env = `MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736` set before Python starts; "
        "mallopt = the same two parameters set by the process itself before importing torch "
        "(`difffake.backbone.malloc.tune_in_process`, what the `difffake` command does).",
        "",
        "| backbone | task | batch | malloc | threads | per second | s / batch | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, task, batch, malloc, threads, r in rows:
        lines.append(f"| {model}: {name[model]} | {task} | {batch} | {malloc} | "
                     f"{threads} | {r['per_s']:.1f} | {r['seconds_per_batch']:.2f} | {r['load']:.1f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
