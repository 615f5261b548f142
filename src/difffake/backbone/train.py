"""Train the backbone on real faces vs self-blended pseudo-fakes (SBI-style).

Each step sees B/2 real crops and their B/2 pseudo-fakes; cross-entropy;
SAM over SGD; constant LR, then linear decay over the last quarter (torch's
ConstantLR + LinearLR, its state saved for resume); one validation AUC per
epoch on held-out videos with fixed pseudo-fakes; the best K epochs kept;
`last` refreshed every `save_every_steps` for resume.

Run folder:
    config.json        resolved Config
    split.json         train / validation video ids
    metrics.csv        one row per epoch
    last.safetensors   model + optimizer tensors; last.json: counters, history
    checkpoints/epoch_XXX.safetensors   the best K by validation AUC
    backbone.safetensors + backbone.json   the best epoch, exported
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch.utils.data import DataLoader

from ..config import Config
from ..errors import SettingsMismatch
from ..progress import bar as progress_bar
from ..tables import csv_text
from .checkpoints import (
    load_model_state,
    load_training_state,
    save_model_state,
    save_training_state,
)
from .export import atomic_write_text
from .interrupt import TrainingInterrupted, ignore_stop_signals
from .model import Backbone, fake_prob
from .sam import SAM, bypass_bn_stats

log = logging.getLogger(__name__)

VAL_SEED_OFFSET = 7919     # validation pseudo-fakes: a fixed seed, apart from training's
METRIC_FIELDS = ["epoch", "step", "lr", "train_loss", "train_acc", "val_loss", "val_auc", "val_acc",
                 "seconds", "train_img_per_s"]


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda asked for, but CUDA is not available")
    return torch.device(device)


def lr_schedule(optimizer: torch.optim.Optimizer, total: int, decay_start: float):
    """Constant, then linear decay to 0 from int(decay_start * total) to total, as a torch scheduler.

    Step it once after each optimizer step: step s then runs at
    base_lr * min(1, (total - s) / (total - start)), 0 from `total` on.
    """
    from torch.optim.lr_scheduler import ConstantLR, LinearLR, SequentialLR

    start = int(decay_start * total)
    if total <= start:   # the decay never begins
        return ConstantLR(optimizer, factor=1.0, total_iters=0)
    decay = LinearLR(optimizer, start_factor=1.0, end_factor=0.0, total_iters=total - start)
    if start == 0:
        return decay
    return SequentialLR(optimizer, [ConstantLR(optimizer, factor=1.0, total_iters=start), decay],
                        milestones=[start])


def schedule_checkpoint(scheduler, total: int, decay_start: float, base_lr: float) -> dict:
    """What a checkpoint keeps of the schedule: its settings and the scheduler's state_dict."""
    return {"total": total, "decay_start": decay_start, "base_lr": base_lr, "state": scheduler.state_dict()}


def restore_schedule(optimizer: torch.optim.Optimizer, total: int, decay_start: float, base_lr: float,
                     saved: dict | None = None, step: int = 0):
    """lr_schedule at its place in a run: from the saved scheduler state (schedule_checkpoint)
    when the run keeps its settings; else replayed for `step` steps, as when a resume
    extends the run (more epochs: a longer schedule) or the run was saved before the
    scheduler's state was kept. The optimizer's lr is set to the one the next step runs at."""
    for group in optimizer.param_groups:   # the schedule is built from the base lr
        group["lr"] = base_lr
        group.pop("initial_lr", None)
    scheduler = lr_schedule(optimizer, total, decay_start)
    same = saved is not None and (saved["total"], saved["decay_start"], saved["base_lr"]) == (
        total, decay_start, base_lr)
    if same:
        scheduler.load_state_dict(saved["state"])
        for group, lr in zip(optimizer.param_groups, scheduler.get_last_lr()):
            group["lr"] = lr
    else:
        with warnings.catch_warnings():   # replaying: no optimizer step is meant to run
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            for _ in range(step):
                scheduler.step()
    return scheduler


def build_model(cfg: Config, load_weights: bool, seed: int) -> Backbone:
    """The backbone, its random initialisation drawn from `seed` alone.

    timm initialises the encoder from torch's global generator (it takes none of
    its own): the draw runs inside a forked, seeded RNG, so the caller's global
    state is left as it was and the same seed gives the same weights.
    """
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        return Backbone(cfg.backbone, load_weights=load_weights, head_seed=seed)


def loader_generator(seed: int, *stream: int) -> torch.Generator:
    """A DataLoader's own generator (its workers' base seed), never torch's global one."""
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, *stream]).generate_state(1)[0]))


def epoch_order(n: int, count: int, seed: int, epoch: int) -> list[int]:
    """`count` item indices for an epoch: concatenated permutations, one stream per epoch."""
    rng = np.random.default_rng([seed, epoch])
    reps = math.ceil(count / max(n, 1))
    return np.concatenate([rng.permutation(n) for _ in range(reps)])[:count].tolist()


def _default_data():
    from ..synthesis.dataset import PseudoFakeDataset, collate_pairs
    return PseudoFakeDataset, collate_pairs


def _val_subset(items, limit, seed):
    if limit is None or len(items) <= limit:
        return list(items)
    keep = np.sort(np.random.default_rng([seed, VAL_SEED_OFFSET]).choice(len(items), limit, replace=False))
    return [items[i] for i in keep]


class ValidationStopped(Exception):
    """A stop was requested during validation (which can take minutes): it runs again on resume."""


@torch.inference_mode()
def evaluate(model, loader, device, channels_last=False, amp_dtype=None, stop=None) -> dict:
    model.eval()
    probs, labels, losses = [], [], []
    for images, y in loader:
        if stop is not None and stop.requested():
            raise ValidationStopped
        images = images.to(device, non_blocking=True)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model(images).float()
        y = y.to(device)
        losses.append(F.cross_entropy(logits, y, reduction="sum").item())
        probs.append(fake_prob(logits).cpu().numpy())
        labels.append(y.cpu().numpy())
    model.train()
    p, t = np.concatenate(probs), np.concatenate(labels)
    auc = float(roc_auc_score(t, p)) if len(np.unique(t)) == 2 else float("nan")
    return {"val_auc": auc, "val_loss": float(sum(losses) / len(t)),
            "val_acc": float(((p > 0.5) == (t == 1)).mean())}


def _write_metrics(path: Path, rows: list[dict]) -> None:
    shown = [{k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()} for row in rows]
    atomic_write_text(path, csv_text(shown, METRIC_FIELDS))


def train(cfg: Config, items_train, items_val, out_dir, *, device: str = "auto", resume: bool = False,
          dataset_factory=None, collate_fn=None, info: dict | None = None, init=None, stop=None) -> dict:
    """Train, checkpoint and export; returns a summary dict (best epoch, AUC, paths).

    `dataset_factory(items, input_size, mean, std, seed, cfg, augment)` and
    `collate_fn` default to difffake.synthesis.dataset's PseudoFakeDataset and
    collate_pairs (injectable for tests). `init`: a saved backbone folder whose
    weights (encoder and head) start a fresh run (fine-tuning). `stop`: an
    object whose `requested()` turns true on a signal (backbone.interrupt.StopOnSignal):
    the state is then saved at the next step boundary and TrainingInterrupted raised.
    """
    if dataset_factory is None or collate_fn is None:
        default_factory, default_collate = _default_data()
        dataset_factory = dataset_factory or default_factory
        collate_fn = collate_fn or default_collate
    tc = cfg.train
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    last = out / "last"
    if last.with_suffix(".json").exists() and not resume:
        raise SettingsMismatch(f"{out}: holds a training run already; pass --resume or use another --out")
    dev = resolve_device(device)
    use_cuda = dev.type == "cuda"
    amp_dtype = torch.bfloat16 if (use_cuda and tc.amp and torch.cuda.is_bf16_supported()) else None
    channels_last = use_cuda

    resuming = resume and last.with_suffix(".json").exists()
    # On resume the saved state replaces the init: never fetch pretrained weights for it.
    model = build_model(cfg, load_weights=not resuming and init is None, seed=tc.seed)
    if init is not None and not resuming:
        _load_init(model, init)
    cfg = dataclasses.replace(cfg, backbone=model.cfg)   # mean/std/input size resolved
    model = model.to(dev)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    base = torch.optim.SGD(model.parameters(), lr=tc.lr, momentum=tc.momentum)
    optimizer = SAM(base, rho=tc.sam_rho) if tc.use_sam else base

    state = {"step": 0, "history": [], "best": []}
    pairs = max(1, tc.batch_size // 2)
    if resuming:
        saved_cfg = json.loads((out / "config.json").read_text())
        if saved_cfg.get("backbone") != json.loads(json.dumps(dataclasses.asdict(cfg.backbone))):
            raise SettingsMismatch(f"{out / 'config.json'}: run was made with backbone "
                                   f"{saved_cfg.get('backbone')}, not {dataclasses.asdict(cfg.backbone)}")
        state = load_training_state(last, model, optimizer, dev)
        log.info("resuming %s at step %d", out, state["step"])
    scheduler_state = state.pop("lr_scheduler", None)
    atomic_write_text(out / "config.json", json.dumps(cfg.to_dict(), indent=2))
    # The split is fixed when a run starts: a resume must not redraw or rewrite it
    # (the caller passes the saved split's items; see commands/train.py).
    if not resuming or not (out / "split.json").exists():
        atomic_write_text(out / "split.json", json.dumps({
            "train": sorted({it.video_id for it in items_train}),
            "val": sorted({it.video_id for it in items_val}),
            "note": "validation videos were only used to pick checkpoints: fit density models on them, "
                    "not on train videos"}, indent=1))

    bcfg = model.cfg
    ds_train = dataset_factory(items_train, bcfg.input_size, bcfg.mean, bcfg.std, tc.seed, cfg.synth, True)
    ds_val = dataset_factory(_val_subset(items_val, tc.val_max_faces, tc.seed), bcfg.input_size,
                             bcfg.mean, bcfg.std, tc.seed + VAL_SEED_OFFSET, cfg.synth, False)
    steps_per_epoch = tc.steps_per_epoch or max(1, len(ds_train) // pairs)
    total = tc.epochs * steps_per_epoch
    scheduler = restore_schedule(base, total, tc.decay_start, tc.lr, scheduler_state, state["step"])
    val_loader = DataLoader(ds_val, batch_size=pairs, shuffle=False, collate_fn=collate_fn,
                            num_workers=tc.num_workers, worker_init_fn=ignore_stop_signals,
                            generator=loader_generator(tc.seed, VAL_SEED_OFFSET))

    def checkpoint_meta(partial=None):
        # partial: the running sums of an unfinished epoch, so its metrics row survives a resume
        meta = {"step": state["step"], "history": state["history"], "best": state["best"],
                "steps_per_epoch": steps_per_epoch, "lr_scheduler": schedule_checkpoint(scheduler, total, tc.decay_start, tc.lr),
                "last_lr": state.get("last_lr")}
        return {**meta, "epoch_partial": partial} if partial else meta

    def stop_if_requested(partial=None, now=False):
        if now or (stop is not None and stop.requested()):
            save_training_state(last, model, optimizer, checkpoint_meta(partial))
            raise TrainingInterrupted(stop.signum, state["step"], total, last.with_suffix(".safetensors"))

    if resuming and state.get("steps_per_epoch", steps_per_epoch) != steps_per_epoch:
        raise SettingsMismatch(f"{out}: run used {state['steps_per_epoch']} steps per epoch, "
                               f"not {steps_per_epoch}; resume with the same value")
    model.train()
    # An epoch whose steps are done but whose validation was stopped is validated first.
    start_epoch = min(state["step"] // steps_per_epoch, len(state["history"]))
    for epoch in range(start_epoch, tc.epochs):
        t0 = time.perf_counter()
        ds_train.set_epoch(epoch)
        done = state["step"] - epoch * steps_per_epoch   # > 0 when resuming mid-epoch
        order = epoch_order(len(ds_train), steps_per_epoch * pairs, tc.seed, epoch)[done * pairs:]
        loader = DataLoader(ds_train, batch_size=pairs, sampler=order, collate_fn=collate_fn,
                            num_workers=tc.num_workers, drop_last=True, pin_memory=use_cuda,
                            worker_init_fn=ignore_stop_signals, generator=loader_generator(tc.seed, epoch))
        last_auc = state["history"][-1]["val_auc"] if state["history"] else float("nan")
        bar = progress_bar(loader, total=steps_per_epoch - done, desc=f"epoch {epoch + 1}/{tc.epochs}",
                           unit="step")
        loss_sum, correct, seen = 0.0, 0, 0
        partial = state.pop("epoch_partial", None)
        if done and partial and partial.get("epoch") == epoch:   # resumed mid-epoch: keep its sums
            loss_sum, correct, seen = partial["loss_sum"], partial["correct"], partial["seen"]
            t0 -= partial["seconds"]

        for images, labels in bar:
            lr = base.param_groups[0]["lr"]   # this step's, set by the scheduler
            images = images.to(dev, non_blocking=True)
            if channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            labels = labels.to(dev, non_blocking=True)
            with torch.autocast(dev.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(images)
                loss = F.cross_entropy(logits.float(), labels)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{out}: loss became {loss.item()} at step {state['step']}")
            loss.backward()
            if tc.use_sam:
                optimizer.first_step()
                optimizer.zero_grad()
                with bypass_bn_stats(model), torch.autocast(dev.type, dtype=amp_dtype,
                                                            enabled=amp_dtype is not None):
                    F.cross_entropy(model(images).float(), labels).backward()
                optimizer.second_step()
            else:
                optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
            state["step"] += 1
            state["last_lr"] = lr
            n = labels.numel()
            loss_sum += loss.item() * n
            correct += int((logits.argmax(1) == labels).sum())
            seen += n
            # refresh=False: a redraw per step would be a log line per step when piped
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", auc=f"{last_auc:.3f}", lr=f"{lr:.2e}", refresh=False)
            if state["step"] % tc.save_every_steps == 0:
                if bar.disable:   # no TTY (nohup, CI): a log line instead of the bar
                    log.info("step %d/%d loss %.4f lr %.2e %.1f img/s", state["step"], total,
                             loss_sum / seen, lr, seen / (time.perf_counter() - t0))
                if state["step"] % steps_per_epoch:
                    partial = _sums(epoch, loss_sum, correct, seen, t0)
                    save_training_state(last, model, optimizer, checkpoint_meta(partial))
            if state["step"] % steps_per_epoch:   # the epoch's end is saved below, after validation
                stop_if_requested(_sums(epoch, loss_sum, correct, seen, t0))
        bar.close()
        train_seconds = time.perf_counter() - t0
        try:
            metrics = evaluate(model, val_loader, dev, channels_last, amp_dtype, stop=stop)
        except ValidationStopped:
            stop_if_requested(_sums(epoch, loss_sum, correct, seen, t0), now=True)
        row = {"epoch": epoch + 1, "step": state["step"], "lr": state.get("last_lr"),
               "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1), **metrics,
               "seconds": time.perf_counter() - t0,
               "train_img_per_s": seen / train_seconds if seen else None}
        state["history"].append(row)
        _keep_best(out, model, state, row, tc.keep_best)
        save_training_state(last, model, optimizer, checkpoint_meta())
        _write_metrics(out / "metrics.csv", state["history"])
        log.info("epoch %d: loss %.4f val AUC %.4f (%.0f s)", epoch + 1, row["train_loss"],
                 row["val_auc"], row["seconds"])
        if epoch + 1 < tc.epochs:
            stop_if_requested()

    return _export_best(out, model, cfg, state, items_train, items_val, info or {})


def _sums(epoch, loss_sum, correct, seen, t0) -> dict:
    return {"epoch": epoch, "loss_sum": loss_sum, "correct": correct, "seen": seen,
            "seconds": time.perf_counter() - t0}


def _load_init(model, directory) -> None:
    """Encoder + head of a saved backbone; its architecture and normalisation must match.
    The input size may differ: the network is fully convolutional up to a global pool, so
    a 160 px backbone is a sound start for a 224 px fine-tune (same weights, more pixels)."""
    start = Backbone.load(directory)
    if (start.cfg.name, tuple(start.cfg.mean), tuple(start.cfg.std)) != (
            model.cfg.name, tuple(model.cfg.mean), tuple(model.cfg.std)):
        raise SettingsMismatch(f"{directory}: --init backbone is {start.cfg.name} with its own normalisation; "
                               f"this run is {model.cfg.name}")
    if start.cfg.input_size != model.cfg.input_size:
        log.info("fine-tuning %s (trained at %d px) at %d px", directory, start.cfg.input_size,
                 model.cfg.input_size)
    model.load_state_dict(start.state_dict())


def _keep_best(out: Path, model, state: dict, row: dict, keep: int) -> None:
    auc = row["val_auc"]
    score = auc if not math.isnan(auc) else -1.0
    name = f"checkpoints/epoch_{row['epoch']:03d}.safetensors"
    best = state["best"] + [{"epoch": row["epoch"], "val_auc": score, "path": name}]
    best.sort(key=lambda b: (-b["val_auc"], b["epoch"]))   # ties: the earlier epoch
    if any(b["path"] == name for b in best[:keep]):
        save_model_state(out / name, model, {"epoch": row["epoch"], "step": row["step"], "val_auc": auc})
    for dropped in best[keep:]:
        (out / dropped["path"]).unlink(missing_ok=True)
    state["best"] = best[:keep]


def _export_best(out: Path, model, cfg: Config, state: dict, items_train, items_val, info: dict) -> dict:
    if not state["best"]:
        raise RuntimeError(f"{out}: no epoch finished; nothing to export")
    best = state["best"][0]
    load_model_state(out / best["path"], model)
    run_info = {
        "run_dir": str(out), "preset": cfg.preset, "best_epoch": best["epoch"],
        "best_val_auc": best["val_auc"], "steps": state["step"],
        "epochs": len(state["history"]), "seed": cfg.train.seed, "sam": cfg.train.use_sam,
        "batch_size": cfg.train.batch_size, "lr": cfg.train.lr,
        "train_faces": len(items_train), "val_faces": len(items_val),
        "train_videos": len({it.video_id for it in items_train}),
        "val_videos": len({it.video_id for it in items_val}),
        "split_file": "split.json", **info}
    model.to("cpu")
    model.save(out, info=run_info)
    return {**run_info, "backbone_dir": str(out), "history": state["history"]}
