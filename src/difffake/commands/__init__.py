"""One module per `difffake` subcommand; each defines NAME, HELP, add_arguments(p) and run(args) -> int."""
import argparse


def share(text: str) -> float:
    """argparse type: a probability in [0, 1] (argparse turns the error into exit 2 with the flag's name)."""
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share in [0, 1]")
    return value


def open_store(path, command: str):
    """The FaceStore at `path`, or None after telling the user why it is not one."""
    import sys

    from ..errors import FileError
    from ..faces.store import FaceStore

    try:
        return FaceStore(path)
    except (FileNotFoundError, FileError) as exc:   # no settings.json, or a damaged one
        print(f"difffake {command}: error: {exc}", file=sys.stderr)
        return None
