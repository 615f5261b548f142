"""Contact sheet of pseudo-fakes: rows grouped by mask type, columns real | mask | fake | diff."""
from __future__ import annotations

import cv2
import numpy as np

from .blend import PseudoFakeGenerator
from .masks import MASK_TYPES

COLUMNS = ("real", "mask", "fake", "|fake-real| x4")


def _tile(img: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _label(width: int, height: int, lines: list[str]) -> np.ndarray:
    cell = np.full((height, width, 3), 255, np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(cell, text, (6, 22 + 20 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return cell


def render_row(sample, size: int, label_width: int = 150) -> np.ndarray:
    mask = np.repeat((sample.mask * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    diff = np.clip(np.abs(sample.fake.astype(np.int16) - sample.real) * 4, 0, 255).astype(np.uint8)
    cells = [_label(label_width, size, [sample.mask_type, f"ratio {sample.blend_ratio:g}",
                                        f"{sample.real.shape[1]}x{sample.real.shape[0]} px"])]
    cells += [_tile(a, size) for a in (sample.real, mask, sample.fake, diff)]
    return np.concatenate(cells, axis=1)


def contact_sheet(items, rows_per_type: int = 2, seed: int = 0, size: int = 160, cfg=None,
                  mask_types=MASK_TYPES) -> np.ndarray:
    """RGB sheet: for each mask type, `rows_per_type` random faces of `items` (FaceItem-like)."""
    if not items:
        raise ValueError("contact_sheet: no faces to draw")
    gen = PseudoFakeGenerator(cfg)
    rng = np.random.default_rng(seed)
    label_width = 150
    header = np.concatenate([_label(label_width, 30, ["mask type"])] +
                            [_label(size, 30, [c]) for c in COLUMNS], axis=1)
    rows = [header]
    for mask_type in mask_types:
        for _ in range(rows_per_type):
            item = items[int(rng.integers(len(items)))]
            sample = gen.gen(item.crop, item.landmarks, rng, mask_type=mask_type)
            rows.append(render_row(sample, size, label_width))
        rows.append(np.full((4, rows[0].shape[1], 3), 128, np.uint8))  # separates the types
    return np.concatenate(rows, axis=0)
