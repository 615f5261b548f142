"""DeeperForensics-1.0: fakes under <root>/manipulated_videos/<perturbation>/,
split lists lists/splits/{train,val,test}.txt (one file name per line), and
reals taken from an FF++ root (the youtube originals the fakes were made from).

Real ids are prefixed "ffpp/" so that they stay distinct from the fakes' ids
(the ids of a two-root dataset are relative to a virtual root holding both).
"""
from __future__ import annotations

from pathlib import Path

from .ffpp import read_ffpp
from .records import (
    VIDEO_EXTENSIONS,
    DatasetError,
    VideoRecord,
    finish,
    log,
    media_files,
    numbered_lines,
    relative_id,
    require_dir,
)

SPLIT_DIR = Path("lists") / "splits"
REAL_PREFIX = "ffpp/"


def _split_names(root: Path, split_lists) -> dict[str, str]:
    """file name -> split, from the given lists ({split: path}, or a folder of
    train/val/test.txt) or the ones under lists/splits/."""
    if split_lists is None or not isinstance(split_lists, dict):
        folder = root / SPLIT_DIR if split_lists is None else Path(split_lists).expanduser()
        if split_lists is not None and not folder.is_dir():
            raise DatasetError(folder, "split_lists folder not found (expected train.txt/val.txt/test.txt)")
        split_lists = {name: folder / f"{name}.txt" for name in ("train", "val", "test")
                       if (folder / f"{name}.txt").is_file()}
        if not split_lists:
            log.info("DeeperForensics: no split lists under %s, split left empty", folder)
    names, where = {}, {}
    for split_name, list_path in split_lists.items():
        for number, line in numbered_lines(Path(list_path)):
            name = Path(line.split()[0]).name   # lines may carry folders; names are unique
            if name in names:
                raise DatasetError(list_path, f"line {number}: {name} is already in {where[name]}")
            names[name], where[name] = split_name, f"{Path(list_path).name} line {number}"
    return names


def read_deeperforensics(root, ffpp_root=None, perturbation: str = "end_to_end", compression: str = "c23",
                         split_lists: dict | None = None, ffpp_splits=None, split: str | None = None,
                         dataset: str = "deeperforensics") -> list[VideoRecord]:
    """`split_lists`: {split: path} overriding lists/splits/*.txt; `ffpp_splits`:
    the FF++ split JSONs giving the reals' split."""
    root = require_dir(root, "DeeperForensics root")
    fake_dir = root / "manipulated_videos" / perturbation
    if not fake_dir.is_dir():
        raise DatasetError(fake_dir, f"perturbation folder {perturbation!r} not found")
    names = _split_names(root, split_lists)
    # Fakes are "000_M101.mp4": the FF++ youtube video 000 driven by actor M101.
    records = [VideoRecord(path=p, video_id=relative_id(p, root), label="fake",
                           method=f"DeeperForensics/{perturbation}", dataset=dataset,
                           split=names.get(p.name), group=p.stem.split("_")[0])
               for p in media_files(fake_dir, VIDEO_EXTENSIONS)]
    if ffpp_root is None:
        log.warning("DeeperForensics: no FF++ root given, only fakes are listed")
    else:
        for real in read_ffpp(ffpp_root, compression=compression, methods=(), splits=ffpp_splits):
            records.append(VideoRecord(path=real.path, video_id=REAL_PREFIX + real.video_id, label="real",
                                       method="real", dataset=dataset, split=real.split,
                                       compression=real.compression, group=real.group))
    return finish(records, root, split)
