"""One module per `difffake` subcommand; each defines NAME, HELP, add_arguments(p) and run(args) -> int."""


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
