"""`difffake train`: train the backbone on real faces vs pseudo-fakes from face stores."""
from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import sys
from pathlib import Path

from ..config import PRESETS, Config, preset
from ..errors import EXIT_OK, EXIT_USAGE, FileError

NAME = "train"
HELP = "train the backbone (real vs pseudo-fake) on face stores; writes a run folder"
log = logging.getLogger(__name__)


def add_arguments(p) -> None:
    p.epilog = ("exit codes: 0 trained and exported; 2 bad arguments, weights not on this machine "
                "(see --pretrained), or a store made with other face settings than the preset (see "
                "--force); 130 / 143 stopped by SIGINT / SIGTERM after saving a resumable state at a "
                "step boundary (the command to resume is printed; `fit` takes the unfinished run)")
    p.add_argument("--store", action="append", required=True, metavar="DIR",
                   help="face store of REAL videos (made by `difffake prepare`); repeatable")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder (checkpoints, metrics, backbone)")
    p.add_argument("--preset", choices=PRESETS, default="cpu",
                   help="configuration preset (default cpu; ignored with --resume, which reuses the run's config)")
    p.add_argument("--epochs", type=int, help="override the preset's epochs")
    p.add_argument("--steps-per-epoch", type=int, help="override steps per epoch (0: one pass over the faces)")
    p.add_argument("--input-size", type=int, help="override the input size in pixels")
    p.add_argument("--batch-size", type=int, help="images per step, half real half pseudo-fake")
    p.add_argument("--lr", type=float, help="override the learning rate")
    p.add_argument("--no-sam", action="store_true", help="plain SGD instead of SAM (about 2x faster)")
    p.add_argument("--pretrained", metavar="PATH|none|timm|lite0-package",
                   help="initial weights: a .safetensors/.pth state dict, none (random), timm (timm's "
                        "weights, only from the local cache: never downloaded) or lite0-package "
                        "(default of the cpu preset; paper: timm)")
    p.add_argument("--val-fraction", type=float, help="share of video ids held out for validation")
    p.add_argument("--val-fraction-photos", type=float,
                   help="share of photo ids held out (default: --val-fraction); photos give no frame "
                        "pairs, so the density model never needs them and most can train the backbone")
    p.add_argument("--domain-aug", type=float, metavar="P",
                   help="probability of the shared capture degradation of a real and its fake "
                        "(down/up-scaling, JPEG, colour cast, overlay; cpu preset 0.8, paper 0)")
    p.add_argument("--workers", type=int,
                   help="DataLoader workers (default: the preset's, at most the available cores minus one)")
    p.add_argument("--split", metavar="SPLIT_JSON",
                   help="use this train/validation split ({'train': [...], 'val': [...]} ids) instead of "
                        "drawing one; ids in the stores that it does not list are left out")
    p.add_argument("--groups", metavar="FILE",
                   help="CSV of path,group lines: who is who, kept on one side of the split")
    p.add_argument("--init", metavar="BACKBONE_DIR",
                   help="start from a trained backbone (backbone.safetensors + backbone.json, e.g. a "
                        "detector folder): fine-tuning; its validation ids must stay validation ids")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from last.safetensors")
    p.add_argument("--force", action="store_true",
                   help="train on stores made with other face settings than the preset's (the run "
                        "records the stores' own settings)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=int, help="random seed (split, init, pseudo-fakes)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: torch's choice; 1 can be faster on a busy machine)")


def build_config(args):
    """Preset + explicit overrides; with --resume, the run's own config.json + overrides."""
    saved = Path(args.out) / "config.json"
    if args.resume and saved.is_file():
        cfg = Config.from_dict(json.loads(saved.read_text()))
    else:
        cfg = preset(args.preset)
    tr, bb = {}, {}
    for arg, key in (("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
                     ("val_fraction", "val_fraction"), ("workers", "num_workers"), ("seed", "seed"),
                      ("val_fraction_photos", "val_fraction_photos")):
        if getattr(args, arg) is not None:
            tr[key] = getattr(args, arg)
    if args.steps_per_epoch is not None:
        tr["steps_per_epoch"] = args.steps_per_epoch or None
    if args.no_sam:
        tr["use_sam"] = False
    if args.input_size is not None:
        bb["input_size"] = args.input_size
    if args.pretrained is not None:
        bb["pretrained"] = args.pretrained
    synth = cfg.synth if args.domain_aug is None else dataclasses.replace(cfg.synth, p_domain=args.domain_aug)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **tr),
                               backbone=dataclasses.replace(cfg.backbone, **bb), synth=synth)


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


def run(args) -> int:
    from ..devices import check_device
    check_device(args.device, allow_auto=True)
    from ..backbone.train import train
    from ..faces.store import FaceStore
    from ..splits import GroupsFileError, grouping, split_ids
    from ..synthesis.dataset import load_face_items

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from ..backbone.weights import check_available

    cfg = build_config(args)
    if args.init is None and not (args.resume and (Path(args.out) / "last.json").is_file()):
        check_available(cfg.backbone.name, cfg.backbone.pretrained)   # before any face is loaded
    cfg = with_capped_workers(cfg, args.workers)
    stores = []
    for root in args.store:
        try:
            stores.append(FaceStore(root))
        except (FileNotFoundError, FileError) as exc:
            print(f"difffake train: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    cfg, face_info = checked_face_settings(cfg, stores, args)
    if cfg is None:
        return EXIT_USAGE
    all_ids = [vid for s in stores for vid in s.ids()]
    if len(set(all_ids)) != len(all_ids):
        print("difffake train: error: the stores share video ids; give each dataset its own store root",
              file=sys.stderr)
        return EXIT_USAGE
    if len(all_ids) < 2:
        print(f"difffake train: error: {', '.join(args.store)}: fewer than 2 videos", file=sys.stderr)
        return EXIT_USAGE
    split_file = Path(args.out) / "split.json"
    if args.split and not (args.resume and split_file.is_file()):
        train_ids, val_ids = saved_split(Path(args.split), all_ids)
    elif args.resume and split_file.is_file():
        # Resume keeps the run's own split: recomputing it could move videos
        # between train and validation mid-run (e.g. after the store grew).
        train_ids, val_ids = saved_split(split_file, all_ids)
    else:
        photos = cfg.train.val_fraction_photos
        try:
            by = grouping("group", args.groups)
        except GroupsFileError as exc:
            print(f"difffake train: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        train_ids, val_ids = split_ids(all_ids, cfg.train.val_fraction, cfg.train.seed,
                                       None if photos is None else {"photos": photos}, by=by)
    train_set, val_set = set(train_ids), set(val_ids)
    items_train, items_val = [], []
    for s in stores:
        ids = s.ids()
        items_train += load_face_items(s, [v for v in ids if v in train_set])
        items_val += load_face_items(s, [v for v in ids if v in val_set])
    if not items_train or not items_val:
        print(f"difffake train: error: no faces in the train ({len(items_train)}) or "
              f"validation ({len(items_val)}) videos", file=sys.stderr)
        return EXIT_USAGE
    log.info("train: %d faces from %d ids; validation: %d faces from %d ids",
             len(items_train), len(train_ids), len(items_val), len(val_ids))
    info = {"stores": [str(s.root) for s in stores], **face_info}
    if args.init:
        info["init"] = str(args.init)
    from ..backbone.interrupt import StopOnSignal, TrainingInterrupted
    with StopOnSignal() as stop:
        try:
            summary = train(cfg, items_train, items_val, args.out, device=args.device, resume=args.resume,
                            info=info, init=args.init, stop=stop)
        except TrainingInterrupted as exc:
            print(f"difffake train: {exc}\nresume with: {resume_command(args)}\n"
                  f"(`difffake fit --backbone {shlex.quote(str(args.out))} ...` takes the run as it is: "
                  f"its best checkpoint so far, else this state)", file=sys.stderr)
            return exc.exit_code
    summary.pop("history", None)
    print(json.dumps(summary, indent=2))
    return EXIT_OK


def resume_command(args) -> str:
    """The command line that continues this run (the rest is in the run's config.json / split.json)."""
    words = ["difffake", "train"]
    for store in args.store:
        words += ["--store", str(store)]
    words += ["--out", str(args.out), "--resume"]
    if args.device != "auto":
        words += ["--device", args.device]
    for flag, value in (("--workers", args.workers), ("--threads", args.threads)):
        if value is not None:
            words += [flag, str(value)]
    return shlex.join(words)


def with_capped_workers(cfg, explicit):
    """The preset's DataLoader workers capped by the cores there are; an explicit --workers is kept."""
    from ..backbone.workers import capped_workers

    n, why = capped_workers(cfg.train.num_workers if explicit is None else explicit)
    if explicit is not None and n < explicit:
        log.warning("--workers %d: more than the cores minus one; starting them as asked (%s)", explicit, why)
        return cfg
    log.info("train: %s", why)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, num_workers=n))


def checked_face_settings(cfg, stores, args):
    """(cfg recording the stores' face settings, info for backbone.json), or (None, {}) after saying
    why a store made with other crop settings than the preset (or the resumed run) is refused."""
    from ..faces.settings_check import describe_diff, face_config_of, face_settings_diff

    resumed = args.resume and (Path(args.out) / "config.json").is_file()
    wanted = "the run's config.json" if resumed else f"preset {cfg.preset}"
    diffs = {str(s.root): face_settings_diff(s.settings, cfg.faces) for s in stores}
    bad = {root: d for root, d in diffs.items() if d}
    for root, diff in bad.items():
        text = f"{root}: face store made with other face settings than {wanted}: {describe_diff(diff, wanted)}"
        if not args.force:
            print(f"difffake train: error: {text}; use a store prepared with `difffake prepare --preset "
                  f"{cfg.preset}`, or pass --force to train on it anyway (the run then records the "
                  f"store's settings)", file=sys.stderr)
        else:
            log.warning("--force: %s; the run records the store's settings", text)
    if bad and not args.force:
        return None, {}
    for s in stores:
        if s.settings.get("num_frames") not in (None, cfg.faces.num_frames):
            log.info("%s: %s frames per video (%s: %d); recorded as the store's", s.root,
                     s.settings["num_frames"], wanted, cfg.faces.num_frames)
    info = {"face_settings": {str(s.root): s.settings for s in stores}}
    if bad:
        info["face_settings_forced"] = {root: {k: {"store": a, "wanted": b} for k, (a, b) in d.items()}
                                        for root, d in bad.items()}
    return dataclasses.replace(cfg, faces=face_config_of(stores[0].settings)), info
