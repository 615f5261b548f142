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
    DifffakeError,
    FileError,
    MissingExtra,
    SettingsMismatch,
    UsageError,
)

# Order = order shown in --help. Each module is imported lazily so that
# `difffake --help` does not pay for torch.
SUBCOMMANDS = ["scan", "serve", "prepare", "faces", "synth", "train", "fit", "evaluate", "export"]


def _available():
    for name in SUBCOMMANDS:
        try:
            yield importlib.import_module(f"difffake.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"difffake.commands.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="difffake", description=__doc__)
    parser.add_argument("--version", action="version", version=f"difffake {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="more detail: debug logging")
    loudness.add_argument("-q", "--quiet", action="store_true",
                          help="less: no progress bars or lines and no info messages (results, warnings "
                               "and errors stay)")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in _available():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    if argv is None:  # a real command line: restart once with glibc malloc tuned (2x on CPU)
        from .backbone.malloc import reexec_with_malloc_tuning
        reexec_with_malloc_tuning()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO,
                        format="%(levelname)s %(message)s")
    if args.quiet:
        from . import progress
        progress.QUIET = True
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
    except (FileError, SettingsMismatch, UsageError, MissingExtra) as exc:
        # an unusable model, store or dataset that the user pointed at: their input, not our bug
        print(f"difffake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except DifffakeError as exc:
        print(f"difffake: error: {exc}", file=sys.stderr)
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
