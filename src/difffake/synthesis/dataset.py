"""Torch Dataset of (real, pseudo-fake) pairs for backbone training.

Item i of epoch e is generated from np.random.default_rng([seed, e, i]) only,
so it is the same whatever the DataLoader's worker count or order. The real
and its fake go through one identical whole-image augmentation (flip, crop
jitter, resize in a single warp), so only the blend can tell them apart.
The geometry and normalisation live in difffake.faces.preprocess, shared
with Backbone.preprocess: without augmentation an item is exactly what
inference feeds the network.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from ..config import SynthConfig

# One preprocessing path, shared with Backbone.preprocess (inference).
from ..faces.preprocess import to_tensor, view_matrix, warp_view
from .blend import PseudoFakeGenerator
from .domain import degrade_pair
from .donor import DonorIndex, donor_source
from .masks import MASK_TYPES


@dataclass
class FaceItem:
    crop: np.ndarray        # RGB uint8 (H, W, 3)
    landmarks: np.ndarray   # (68, 2) float32, crop pixels
    video_id: str


def load_face_items(store, ids) -> list[FaceItem]:
    """Every frame with a face of the given videos of a FaceStore, in store order."""
    items = []
    for video_id in ids:
        record = store.load(video_id)
        for i in record.face_positions():
            items.append(FaceItem(record.crops[i], np.asarray(record.landmarks[i], np.float32),
                                  record.video_id))
    return items


class PseudoFakeDataset(Dataset):
    """items[i] -> dict(real, fake (3,S,S) float tensors, mask (1,S,S), mask_type int, blend_ratio)."""

    def __init__(self, items, input_size: int, mean, std, seed: int = 0,
                 cfg: SynthConfig | None = None, augment: bool = True):
        self.items = list(items)
        self.size = int(input_size)
        self.mean, self.std = tuple(mean), tuple(std)
        self.seed = int(seed)
        self.cfg = cfg or SynthConfig()
        self.augment = augment
        self.generator = PseudoFakeGenerator(self.cfg)
        self.donors = (DonorIndex([it.landmarks for it in self.items], [it.video_id for it in self.items],
                                  self.cfg.donor_candidates) if self.cfg.p_other_identity > 0 else None)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.items)

    def rng_for(self, index: int, stream: int = 0) -> np.random.Generator:
        key = [self.seed, self.epoch, int(index)] + ([stream] if stream else [])
        return np.random.default_rng(key)

    def sample(self, index: int):
        """(SynthSample at crop size, 2x3 view matrix) for item `index` (for figures and tests)."""
        item = self.items[index]
        rng = self.rng_for(index)
        s = self.generator.gen(item.crop, item.landmarks, rng, source=self.donor_source(index))
        return s, view_matrix(item.crop.shape, self.size, rng if self.augment else None, self.cfg)

    def donor_source(self, index: int) -> np.ndarray | None:
        """Another video's face aligned onto item `index` (with p_other_identity), else None.
        Its own random stream, so the self-blend draws of every item stay as they were."""
        if self.donors is None:
            return None
        rng = self.rng_for(index, stream=2)
        if rng.random() >= self.cfg.p_other_identity:
            return None
        j = self.donors.pick(index, rng)
        if j is None:
            return None
        item, donor = self.items[index], self.items[j]
        return donor_source(donor.crop, donor.landmarks, item.crop, item.landmarks)

    def __getitem__(self, index: int) -> dict:
        s, m = self.sample(index)
        real, fake = s.real, s.fake
        if self.augment:   # the same capture degradation on both: only the blend tells them apart
            real, fake = degrade_pair(real, fake, self.rng_for(index, stream=1), self.cfg)
        real, fake, mask = (warp_view(a, m, self.size) for a in (real, fake, s.mask))
        return {
            "real": to_tensor(real, self.mean, self.std),
            "fake": to_tensor(fake, self.mean, self.std),
            "mask": torch.from_numpy(mask[None]),
            "mask_type": MASK_TYPES.index(s.mask_type),
            "blend_ratio": s.blend_ratio,
        }


def collate_pairs(batch: list[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (2B, 3, S, S): B reals then their B fakes, labels (2B,) long: 0 real, 1 fake)."""
    reals = torch.stack([b["real"] for b in batch])
    fakes = torch.stack([b["fake"] for b in batch])
    labels = torch.cat([torch.zeros(len(batch), dtype=torch.long),
                        torch.ones(len(batch), dtype=torch.long)])
    return torch.cat([reals, fakes]), labels
