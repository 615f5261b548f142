"""The single `difffake` command; each subcommand lives in difffake.commands.<name>."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import (
    EXIT_INTERNAL,
    EXIT_USAGE,
    TRAIN_EXTRA_MODULES,
    USER_MISTAKES,
    DifffakeError,
    MissingExtra,
)

# Order = order shown in --help. Each module is imported lazily so that
# `difffake --help` does not pay for torch.
SUBCOMMANDS = ["scan", "serve", "prepare", "faces", "synth", "train", "fit", "evaluate", "export"]

DESCRIPTION = """\
difffake tells whether a video or photo of a face is a deepfake: it compares the face
from frame to frame against what real faces do (a density model fitted on real videos
only) and gives a verdict, a fake score and a p-value that the video is real.

The main command is `difffake scan VIDEO` (a detector comes with difffake); the others
build your own detector from real videos (prepare -> train -> fit), measure one
(evaluate) or serve a web page (serve)."""

EPILOG = """\
examples:
  difffake scan clip.mp4 photo.jpg          verdict per file (exit 1 if any is judged fake)
  difffake scan --json --report r.html DIR  one JSON line per file and an HTML report
  difffake serve                            a web page to check videos on this machine
  difffake prepare --store faces/ REAL_VIDEOS/
  difffake train --store faces/ --out run/
  difffake fit --backbone run/ --store faces/ --out my_detector/
  difffake evaluate --detector my_detector/ --dataset ffpp:/data/FF++ --out report/
  difffake faces --help                     (contact sheet of a face store; synth: pseudo-fakes;
                                             export: ONNX backbone for torch-free scanning)

`difffake COMMAND --help` describes each command. Exit codes: 0 ok, 1 judged fake,
2 a user mistake (bad argument, path, dataset, weights or detector folder; one line
on stderr says which and why), 3 some inputs unreadable, 4 a bug."""

# Libraries that log through `logging`: their INFO lines (matplotlib's "generated new
# fontManager", PIL's plugin lines, urllib3's connections) are not for a user of the
# command, so the root logger stays at WARNING and only difffake's own loggers say
# more; -v opens everything. matplotlib's font-cache notice is a WARNING, but the
# cache is ours (a private MPLCONFIGDIR, difffake.third_party): hidden unless -v.
_HIDDEN_UNLESS_VERBOSE = ("matplotlib.font_manager",)


def _available():
    for name in SUBCOMMANDS:
        try:
            yield importlib.import_module(f"difffake.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"difffake.commands.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="difffake", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"difffake {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true",
                          help="more detail: debug logging, third-party libraries' log lines too")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="less: no progress bars or lines and no info messages (results, warnings "
                               "and errors stay)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _available():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def configure_logging(verbose: bool = False, quiet: bool = False) -> dict[str, int]:
    """difffake's loggers at INFO (DEBUG with -v, WARNING with -q); everyone else's at WARNING
    unless -v. Returns the levels it replaced (main() puts them back for in-process callers)."""
    ours = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    levels = {"difffake": ours}
    levels.update({name: logging.NOTSET if verbose else logging.ERROR for name in _HIDDEN_UNLESS_VERBOSE})
    previous = {name: logging.getLogger(name).level for name in levels}
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    return previous


def _one_line(exc: BaseException) -> str:
    # a user mistake gets ONE line on stderr (a multi-line reason is joined)
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def main(argv=None) -> int:
    if argv is None:   # a real command line: glibc malloc tuned for torch work (2x on CPU)
        from .backbone.malloc import pays_off, tune_in_process
        if pays_off(sys.argv[1:]):
            tune_in_process()
    args = build_parser().parse_args(argv)
    previous = configure_logging(args.verbose, args.quiet)
    if args.quiet:
        from . import progress
        progress.QUIET = True
    try:
        return _run(args)
    finally:
        for name, level in previous.items():
            logging.getLogger(name).setLevel(level)


def _run(args) -> int:
    try:
        return int(args._run(args) or 0)
    except ModuleNotFoundError as exc:
        # the base install has no torch/timm/sklearn: say which extra brings them (exit 2)
        root = (exc.name or "").split(".")[0]
        if root in TRAIN_EXTRA_MODULES:
            print(f"difffake: error: {MissingExtra(f'`difffake {args.command}`', root)}", file=sys.stderr)
            return EXIT_USAGE
        logging.getLogger("difffake").exception("unexpected failure in `difffake %s`", args.command)
        return EXIT_INTERNAL
    except USER_MISTAKES as exc:
        # an unusable model, store, dataset or setting that the user pointed at: their input,
        # not our bug (ConfigError, WeightsError, DatasetError are among these)
        print(f"difffake: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except DifffakeError as exc:   # raised bare: nobody's input, so a bug (errors.py)
        print(f"difffake: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INTERNAL
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("difffake: interrupted", file=sys.stderr)
        return 130
    except Exception:  # never exit 1 (= "judged fake") because of a bug
        logging.getLogger("difffake").exception("unexpected failure in `difffake %s`", args.command)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
