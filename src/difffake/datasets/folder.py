"""A plain folder: <root>/real/** and <root>/fake/** (any video or image file,
searched recursively). A fake in a subfolder, fake/<method>/x.mp4, gets that
subfolder's name as its method; otherwise the method is "fake".
"""
from __future__ import annotations

from .records import (
    MEDIA_EXTENSIONS,
    DatasetError,
    VideoRecord,
    finish,
    media_files,
    relative_id,
    require_dir,
)


def read_folder(root, dataset: str | None = None) -> list[VideoRecord]:
    root = require_dir(root, "dataset folder")
    if not (root / "real").is_dir() and not (root / "fake").is_dir():
        raise DatasetError(root, "neither real/ nor fake/ subfolder found")
    records = []
    for label in ("real", "fake"):
        base = root / label
        if not base.is_dir():
            continue
        for path in media_files(base, MEDIA_EXTENSIONS, recursive=True):
            inner = path.relative_to(base).parts
            method = "real" if label == "real" else (inner[0] if len(inner) > 1 else "fake")
            records.append(VideoRecord(path=path, video_id=relative_id(path, root), label=label,
                                       method=method, dataset=dataset or root.name))
    return finish(records, root)
