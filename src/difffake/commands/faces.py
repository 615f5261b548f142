"""`difffake faces`: a contact sheet PNG of a face store's crops with landmarks drawn."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import EXIT_OK, EXIT_USAGE

NAME = "faces"
HELP = "draw a contact sheet (crops + 68 landmarks, labelled by video id) of a face store"


def add_arguments(p) -> None:
    p.add_argument("store", help="face store folder (made by `difffake prepare`)")
    p.add_argument("--ids", nargs="+", default=None, help="video ids to draw (default: the first ones)")
    p.add_argument("--out", default="faces.png", help="output PNG (default faces.png)")
    p.add_argument("--max-videos", type=int, default=8, help="rows (videos) at most (default 8)")
    p.add_argument("--per-video", type=int, default=6, help="frames per row (default 6)")
    p.add_argument("--tile", type=int, default=128, help="tile size in pixels (default 128)")


def run(args) -> int:
    from ..faces.contact_sheet import contact_sheet, save_png
    from . import open_store

    store = open_store(args.store, NAME)
    if store is None:
        return EXIT_USAGE
    ids = args.ids if args.ids else store.ids()
    missing = [i for i in ids if not store.has(i)]
    if missing:
        print(f"difffake faces: error: {args.store}: not in the store: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    ids = ids[: args.max_videos]
    if not ids:
        print(f"difffake faces: error: {args.store}: the store is empty", file=sys.stderr)
        return EXIT_USAGE
    sheet = contact_sheet([store.load(i) for i in ids], per_video=args.per_video, tile=args.tile)
    try:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        save_png(sheet, args.out)
    except OSError as exc:
        print(f"difffake faces: error: {args.out}: could not write the PNG ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {args.out}: {len(ids)} videos x {args.per_video} frames ({sheet.shape[1]}x{sheet.shape[0]} px)")
    return EXIT_OK
