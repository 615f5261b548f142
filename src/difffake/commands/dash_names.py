"""File names that start with '-' (`-clip.mp4`): argparse reads them as options.

`difffake scan -- -clip.mp4` or `difffake scan ./-clip.mp4` work. When argparse
fails on such a name, say that, instead of "the following arguments are
required" or "unrecognized arguments".
"""
from __future__ import annotations

import os
import sys


def explain_dash_names(parser, command: str) -> None:
    """Wrap `parser` (a subcommand's) so that its errors name a '-…' file and the two fixes."""
    parse_known_args, error = parser.parse_known_args, parser.error
    seen: list[str] = []

    def parse_known(args=None, namespace=None):
        seen[:] = list(sys.argv[1:] if args is None else args)
        ns, extras = parse_known_args(args, namespace)
        if any(_dash_name(a, parser) for a in extras):   # else the main parser reports them
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras

    def explained(message: str):
        names = [a for a in seen if _dash_name(a, parser)]
        if names:
            name = names[0]
            message = (f"{name!r} is read as an option, not a file name: use `difffake {command} -- {name}` "
                       f"or ./{name}")
        error(message)

    parser.parse_known_args, parser.error = parse_known, explained


def _dash_name(arg: str, parser) -> bool:
    """A '-…' argument that is no option of `parser` and is a path or has a media extension."""
    if not arg.startswith("-") or arg in ("-", "--") or arg.split("=", 1)[0] in parser._option_string_actions:
        return False
    # imported only on an error: keeps OpenCV out of --help
    from ..faces.listing import media_extensions
    return os.path.lexists(arg) or os.path.splitext(arg)[1].lower() in media_extensions()
