"""`difffake synth`: a contact sheet PNG of pseudo-fakes made from a face store."""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import EXIT_OK, EXIT_USAGE

NAME = "synth"
HELP = "draw pseudo-fakes (real | mask | fake, by mask type) from a face store into a PNG"


def add_arguments(p) -> None:
    p.add_argument("store", help="face store folder (made by `difffake prepare`)")
    p.add_argument("--out", default="synth.png", help="output PNG (default synth.png)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--rows-per-type", type=int, default=2, help="rows per mask type (default 2)")
    p.add_argument("--tile", type=int, default=160, help="tile size in pixels (default 160)")
    p.add_argument("--max-videos", type=int, default=64,
                   help="videos sampled from the store to pick faces from (default 64)")


def run(args) -> int:
    import numpy as np

    from ..faces.contact_sheet import save_png
    from ..synthesis.dataset import load_face_items
    from ..synthesis.sheet import contact_sheet
    from . import open_store

    store = open_store(args.store, NAME)
    if store is None:
        return EXIT_USAGE
    ids = store.ids()
    rng = np.random.default_rng(args.seed)
    ids = [ids[i] for i in sorted(rng.permutation(len(ids))[: args.max_videos])]
    items = load_face_items(store, ids)
    if not items:
        print(f"difffake synth: error: {args.store}: no faces in the store", file=sys.stderr)
        return EXIT_USAGE
    sheet = contact_sheet(items, rows_per_type=args.rows_per_type, seed=args.seed, size=args.tile)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save_png(sheet, out)
    except OSError as exc:
        print(f"difffake synth: error: {out}: could not write the PNG ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {out}: {len(items)} faces from {len(ids)} videos, "
          f"{sheet.shape[1]}x{sheet.shape[0]} px")
    return EXIT_OK
