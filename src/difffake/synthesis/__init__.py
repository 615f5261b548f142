"""Pseudo-deepfakes by self-blending (SBI recipe, as used by DiffFake).

masks.py: landmark hull masks; augment.py: jitter, affine, elastic;
blend.py: PseudoFakeGenerator; dataset.py: the torch Dataset of pairs.
Import the submodules directly (dataset.py pulls in torch).
"""
from .blend import PseudoFakeGenerator, SynthSample  # noqa: F401
from .masks import MASK_TYPES, make_mask  # noqa: F401
