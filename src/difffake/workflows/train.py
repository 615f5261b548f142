"""Train the backbone on real faces vs pseudo-fakes from face stores (`difffake train`).

    from difffake.config import preset
    from difffake.workflows.train import TrainRequest, train
    result = train(TrainRequest(["stores/real"], "runs/r1", preset("cpu")))

SIGINT / SIGTERM stop at the next step boundary after saving a resumable state
(backbone.interrupt.TrainingInterrupted is raised; its exit_code is 130 / 143);
`resume=True` continues the run with its own config.json and split.json.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ..config import Config, preset
from ..errors import FileError, UsageError, require_module

log = logging.getLogger("difffake.train")


class TrainRefused(UsageError):
    """The stores cannot train this run (shared ids, too few videos, other face settings...);
    `lines`: one reason per line (one per refused store)."""

    def __init__(self, *lines: str):
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class TrainRequest:
    stores: list                   # face store folders of REAL videos
    out: str | Path                # the run folder
    config: Config                 # preset + overrides (starting_config gives a resumed run's own)
    resume: bool = False           # continue the run in `out` from last.safetensors
    split: str | Path | None = None   # a {'train': [...], 'val': [...]} json to use instead of drawing one
    init: str | Path | None = None    # a trained backbone folder to fine-tune
    force: bool = False            # train on stores made with other face settings
    device: str = "auto"
    threads: int | None = None     # torch CPU threads
    workers: int | None = None     # DataLoader workers asked for explicitly (else the config's, capped)
    groups: str | Path | None = None   # a CSV of path,group lines: who is who (difffake.splits)


@dataclass
class TrainResult:
    summary: dict                  # backbone.train's summary (best epoch, AUC, paths), without history
    run_folder: Path
    train_ids: list
    val_ids: list


def starting_config(out, resume: bool, preset_name: str) -> Config:
    """The run's own config.json when resuming one, else the preset's."""
    saved = Path(out) / "config.json"
    if resume and saved.is_file():
        return Config.from_dict(json.loads(saved.read_text()))
    return preset(preset_name)


def train(req: TrainRequest, stop=None) -> TrainResult:
    """Check the weights, the stores and the split, then train (backbone.train).
    `stop`: a backbone.interrupt.StopOnSignal-like object; None: SIGINT / SIGTERM are caught
    for the length of the run. Raises TrainRefused, WeightsError, FileError, TrainingInterrupted."""
    from ..devices import check_device
    from ..faces.store import FaceStore

    # The options and stores are checked before torch loads (~3 s): a mistake fails at once.
    require_module("`difffake train`", "torch")   # a base install: say which extra, before anything else
    check_device(req.device, allow_auto=True)       # loads torch only for a device other than cpu/auto
    cfg = with_capped_workers(req.config, req.workers)
    stores = []
    for root in req.stores:
        try:
            stores.append(FaceStore(root))
        except (FileNotFoundError, FileError) as exc:
            raise TrainRefused(str(exc)) from exc

    from ..backbone.interrupt import StopOnSignal
    from ..backbone.train import train as train_backbone
    from ..backbone.weights import check_available
    from ..splits import GroupsFileError, grouping, split_ids
    from ..synthesis.dataset import load_face_items

    if req.threads:
        import torch

        torch.set_num_threads(req.threads)
    if req.init is None and not (req.resume and (Path(req.out) / "last.json").is_file()):
        check_available(cfg.backbone.name, cfg.backbone.pretrained)   # before any face is loaded
    cfg, face_info = checked_face_settings(cfg, stores, req.out, req.resume, req.force)
    all_ids = [vid for s in stores for vid in s.ids()]
    if len(set(all_ids)) != len(all_ids):
        raise TrainRefused("the stores share video ids; give each dataset its own store root")
    if len(all_ids) < 2:
        raise TrainRefused(f"{', '.join(map(str, req.stores))}: fewer than 2 videos")
    split_file = Path(req.out) / "split.json"
    if req.split and not (req.resume and split_file.is_file()):
        train_ids, val_ids = saved_split(Path(req.split), all_ids)
    elif req.resume and split_file.is_file():
        # Resume keeps the run's own split: recomputing it could move videos
        # between train and validation mid-run (e.g. after the store grew).
        train_ids, val_ids = saved_split(split_file, all_ids)
    else:
        photos = cfg.train.val_fraction_photos
        try:
            by = grouping("group", req.groups)
        except GroupsFileError as exc:
            raise TrainRefused(str(exc)) from exc
        train_ids, val_ids = split_ids(all_ids, cfg.train.val_fraction, cfg.train.seed,
                                       None if photos is None else {"photos": photos}, by=by)
    train_set, val_set = set(train_ids), set(val_ids)
    items_train, items_val = [], []
    for s in stores:
        ids = s.ids()
        items_train += load_face_items(s, [v for v in ids if v in train_set])
        items_val += load_face_items(s, [v for v in ids if v in val_set])
    if not items_train or not items_val:
        raise TrainRefused(f"no faces in the train ({len(items_train)}) or validation ({len(items_val)}) videos")
    log.info("train: %d faces from %d ids; validation: %d faces from %d ids",
             len(items_train), len(train_ids), len(items_val), len(val_ids))
    info = {"stores": [str(s.root) for s in stores], **face_info}
    if req.init:
        info["init"] = str(req.init)
    with (StopOnSignal() if stop is None else _Given(stop)) as active:
        summary = train_backbone(cfg, items_train, items_val, req.out, device=req.device, resume=req.resume,
                                 info=info, init=req.init, stop=active)
    summary.pop("history", None)
    return TrainResult(summary, Path(req.out), list(train_ids), list(val_ids))


class _Given:
    """A caller's stop object used as the context StopOnSignal would be."""

    def __init__(self, stop):
        self.stop = stop

    def __enter__(self):
        return self.stop

    def __exit__(self, *exc) -> None:
        return None


def saved_split(path: Path, all_ids) -> tuple[list[str], list[str]]:
    """(train ids, val ids) of a run's split.json; every listed id must still be in the stores.

    Ids in the stores but not in the file (added after the run started, or
    without faces then) are left out of a resumed run, and logged.
    """
    try:
        split = json.loads(path.read_text())
        train_ids, val_ids = list(split["train"]), list(split["val"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FileError(path, f"unreadable split ({type(exc).__name__}: {exc})") from exc
    present = set(all_ids)
    missing = sorted(v for v in train_ids + val_ids if v not in present)
    if missing:
        raise FileError(path, f"{len(missing)} listed video ids are not in the --store folders "
                              f"(e.g. {', '.join(missing[:3])}); resume with the stores the run started with")
    listed = set(train_ids) | set(val_ids)
    new = sorted(v for v in present if v not in listed)
    if new:
        log.warning("resume: %d video ids in the stores are not in %s and are left out (e.g. %s)",
                    len(new), path, ", ".join(new[:3]))
    return train_ids, val_ids


def with_capped_workers(cfg, explicit):
    """The preset's DataLoader workers capped by the cores there are; an explicit --workers is kept."""
    from ..backbone.workers import capped_workers

    n, why = capped_workers(cfg.train.num_workers if explicit is None else explicit)
    if explicit is not None and n < explicit:
        log.warning("--workers %d: more than the cores minus one; starting them as asked (%s)", explicit, why)
        return cfg
    log.info("train: %s", why)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, num_workers=n))


def checked_face_settings(cfg, stores, out, resume: bool, force: bool):
    """(cfg recording the stores' face settings, info for backbone.json); raises TrainRefused,
    saying why, for a store made with other crop settings than the preset (or the resumed
    run) unless `force`."""
    from ..faces.settings_check import describe_diff, face_config_of, face_settings_diff

    resumed = resume and (Path(out) / "config.json").is_file()
    wanted = "the run's config.json" if resumed else f"preset {cfg.preset}"
    diffs = {str(s.root): face_settings_diff(s.settings, cfg.faces) for s in stores}
    bad = {root: d for root, d in diffs.items() if d}
    refusals = []
    for root, diff in bad.items():
        text = f"{root}: face store made with other face settings than {wanted}: {describe_diff(diff, wanted)}"
        if not force:
            refusals.append(f"{text}; use a store prepared with `difffake prepare --preset "
                            f"{cfg.preset}`, or pass --force to train on it anyway (the run then records the "
                            f"store's settings)")
        else:
            log.warning("--force: %s; the run records the store's settings", text)
    if refusals:
        raise TrainRefused(*refusals)
    for s in stores:
        if s.settings.get("num_frames") not in (None, cfg.faces.num_frames):
            log.info("%s: %s frames per video (%s: %d); recorded as the store's", s.root,
                     s.settings["num_frames"], wanted, cfg.faces.num_frames)
    info = {"face_settings": {str(s.root): s.settings for s in stores}}
    if bad:
        info["face_settings_forced"] = {root: {k: {"store": a, "wanted": b} for k, (a, b) in d.items()}
                                        for root, d in bad.items()}
    return dataclasses.replace(cfg, faces=face_config_of(stores[0].settings)), info
