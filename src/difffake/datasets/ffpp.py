"""FaceForensics++ in its official layout.

    <root>/original_sequences/youtube/<comp>/videos/071.mp4
    <root>/original_sequences/actors/<comp>/videos/...        (DeepFakeDetection originals)
    <root>/manipulated_sequences/<Method>/<comp>/videos/071_054.mp4

<comp> is raw (also asked for as c0), c23 or c40. The official splits are
JSON lists of [target, source] id pairs; both originals of a pair belong to the
split, and so do the fakes named "071_054" and "054_071" (FF++ made one fake in
each direction).
"""
from __future__ import annotations

import json
from pathlib import Path

from .records import (
    VIDEO_EXTENSIONS,
    DatasetError,
    VideoRecord,
    finish,
    log,
    media_files,
    relative_id,
    require_dir,
)

STANDARD_METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
ALL_METHODS = STANDARD_METHODS + ("FaceShifter", "DeepFakeDetection")
COMPRESSIONS = {"c0": "raw", "raw": "raw", "c23": "c23", "c40": "c40"}


def _compression_folder(compression: str) -> str:
    folder = COMPRESSIONS.get(str(compression).lower())
    if folder is None:
        raise ValueError(f"unknown FF++ compression {compression!r}: choose c0/raw, c23 or c40")
    return folder


def _methods(methods) -> tuple[str, ...]:
    if methods is None:
        return STANDARD_METHODS
    if methods == "all":
        return ALL_METHODS
    if isinstance(methods, str):   # "Deepfakes+Face2Face" (the CLI's list syntax) or "A,B"
        methods = [m.strip() for m in methods.replace("+", ",").split(",") if m.strip()]
    unknown = [m for m in methods if m not in ALL_METHODS]
    if unknown:
        raise ValueError(f"unknown FF++ methods {unknown}: choose from {ALL_METHODS}")
    return tuple(methods)


def read_split_file(path: Path) -> set[tuple[str, str]]:
    """[[target, source], ...] -> set of id pairs, errors naming the file."""
    try:
        pairs = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(path, "split file not found") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"split file unreadable ({exc})") from None
    if not isinstance(pairs, list):
        raise DatasetError(path, "expected a JSON list of [target, source] id pairs")
    for number, pair in enumerate(pairs, 1):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(i, (str, int)) for i in pair)):
            raise DatasetError(path, f"pair {number} is {json.dumps(pair)}, expected [target, source] ids")
    return {(str(a), str(b)) for a, b in pairs}


# Where the official split files are looked for when split= is given without splits=
# (ondyari/FaceForensics keeps them in dataset/splits/).
DEFAULT_SPLIT_DIRS = ("splits", "dataset/splits", ".")


def default_splits(root: Path, split: str) -> Path:
    for relative in DEFAULT_SPLIT_DIRS:
        folder = root / relative
        if (folder / f"{split}.json").is_file():
            return folder
    raise DatasetError(root, f"split={split!r} needs FF++'s official split files: pass splits=DIR (the folder "
                             f"of train.json/val.json/test.json from github.com/ondyari/FaceForensics, "
                             f"dataset/splits/) or put them in {root / 'splits'}")


def load_splits(splits) -> dict[str, set[tuple[str, str]]]:
    """`splits`: a folder holding train/val/test.json, one .json file (its stem
    names the split), or a dict {split: path}."""
    if isinstance(splits, dict):
        return {name: read_split_file(Path(p)) for name, p in splits.items()}
    splits = Path(splits).expanduser()
    if splits.is_file():
        return {splits.stem: read_split_file(splits)}
    if not splits.is_dir():
        raise DatasetError(splits, "splits path not found (expected a folder with train/val/test.json or a .json file)")
    found = {name: splits / f"{name}.json" for name in ("train", "val", "test") if (splits / f"{name}.json").is_file()}
    if not found:
        raise DatasetError(splits, "no train.json, val.json or test.json in the splits folder")
    return {name: read_split_file(p) for name, p in found.items()}


def _split_lookup(splits) -> tuple[dict[str, str], dict[str, str]]:
    """Maps original id -> split and fake stem (both orders) -> split."""
    originals, fakes = {}, {}
    for name, pairs in load_splits(splits).items():
        for a, b in pairs:
            originals[a] = originals[b] = name
            fakes[f"{a}_{b}"] = fakes[f"{b}_{a}"] = name
    return originals, fakes


def _target_of(fake_stem: str) -> str:
    """The original a fake was made from: "071_054" -> "071";
    DeepFakeDetection "01_02__exit_phone_room__YVGY8LOK" -> "01__exit_phone_room"."""
    parts = fake_stem.split("__")
    if len(parts) >= 2:
        return f"{parts[0].split('_')[0]}__{parts[1]}"
    return fake_stem.split("_")[0]


def read_ffpp(root, compression: str = "c23", methods=None, splits=None, split: str | None = None,
              include_originals: bool = True, dataset: str = "ffpp") -> list[VideoRecord]:
    """Records of an FF++ root; `methods` None = the four standard ones, "all" = all six."""
    root = require_dir(root, "FF++ root")
    comp_folder = _compression_folder(compression)
    comp_name = "c0" if comp_folder == "raw" else comp_folder
    methods = _methods(methods)
    if split is not None and splits is None:
        splits = default_splits(root, split)
    original_split, fake_split = _split_lookup(splits) if splits is not None else ({}, {})

    sources = []  # (folder, method, label)
    if include_originals:
        sources.append((root / "original_sequences" / "youtube" / comp_folder / "videos", "real"))
        if "DeepFakeDetection" in methods:
            sources.append((root / "original_sequences" / "actors" / comp_folder / "videos", "real"))
    for method in methods:
        sources.append((root / "manipulated_sequences" / method / comp_folder / "videos", method))

    records = []
    for folder, method in sources:
        if not folder.is_dir():
            log.info("FF++: %s not present, skipped", folder)
            continue
        is_real = method == "real"
        for path in media_files(folder, VIDEO_EXTENSIONS):
            stem = path.stem
            lookup = original_split if is_real else fake_split
            records.append(VideoRecord(
                path=path, video_id=relative_id(path, root), label="real" if is_real else "fake",
                method=method, dataset=dataset, split=lookup.get(stem), compression=comp_name,
                group=stem if is_real else _target_of(stem)))
    return finish(records, root, split)
