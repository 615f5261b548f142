"""Empty files at the places a dataset's documented layout puts them (readers only list)."""
from pathlib import Path


def touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
