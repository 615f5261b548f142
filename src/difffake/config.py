"""Typed configuration for every stage, and the two presets.

`paper` is the configuration of the DiffFake paper (a GPU job); `cpu` is the
default on a laptop or this project's 2-core machine. Configs serialise to
plain JSON (dataclasses.asdict) so they travel inside model.json.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError  # a settings dict that does not fit its dataclass: a user mistake (exit 2)


@dataclass
class FaceConfig:
    num_frames: int = 32            # paper: 40
    crop_scale: float = 1.3         # box enlarged around its centre
    # Which face per frame: "track" (default) stays on the face that overlaps the
    # previous frame's choice, so a pair never mixes two people; the paper's
    # "largest" can jump between people in interviews. Also "score".
    policy: str = "track"
    detector: str = "dlib-hog"
    # Second detector tried when HOG and its fallbacks find nothing: "dlib-mmod"
    # (dlib's CNN on a reduced frame, faces/mmod.py) or "none".
    fallback: str = "dlib-mmod"
    # Track policy: split the track where it becomes another person and score only
    # the main person's frames (faces/identity_switch.py).
    split_identity: bool = True
    max_side: int = 1280            # frames are downscaled to this longest side before detection
    upsample_max: int = 2           # HOG upsampling tried only when a frame has no face
    store_max_side: int = 384       # stored crops are downscaled to at most this side (lossless PNG)
    # Look near the previous frame's face first (faces/roi.py; track policy only): 1.7x less face-search
    # time on the real pool, the same pseudo-fake-video AUC (0.874 vs 0.872 with whole-frame search).
    roi_search: bool = True


@dataclass
class SynthConfig:
    # Paper's blend ratios; duplicates weight the choice towards 1.
    blend_ratios: tuple = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
    p_global_mask: float = 0.5      # else eyes / mouth+lower jaw / lower head, 1/6 each
    working_size_min: int = 192
    working_size_max: int = 256
    # Source/target jitter (albumentations' uint8 units; see synthesis/augment.py).
    p_rgb_shift: float = 0.3
    rgb_shift: float = 20.0
    hsv_shift: tuple = (0.3, 0.3, 0.3)     # hue (0-180 units), saturation, value (levels)
    brightness: float = 0.1
    contrast: float = 0.1
    downscale_factors: tuple = (2, 4)
    sharpen_alpha: tuple = (0.2, 0.5)
    sharpen_lightness: tuple = (0.5, 1.0)
    # Source + mask geometry, mask softening.
    affine_translate: tuple = (0.03, 0.015)  # x, y fraction of the crop
    affine_scale: tuple = (0.95, 1 / 0.95)
    elastic_alpha: float = 50.0
    elastic_sigma: float = 7.0
    blur_kernel: tuple = (5, 25)             # odd kernel sizes at working size
    blur2_sigma: tuple = (5, 45)             # integer sigma of the second blur (near-box kernel)
    # Identical whole-image augmentation of a real and its fake (dataset).
    aug_hflip: float = 0.5
    aug_crop_min: float = 0.9                # crop side fraction, uniform in [min, 1]
    # Shared capture degradation of a real and its fake (synthesis/domain.py); 0 = off
    # (the paper's recipe). The cpu preset turns it on.
    p_domain: float = 0.0
    p_resample: float = 0.6
    resample_side: tuple = (48.0, 160.0)     # crop side in px before scaling back up
    p_jpeg: float = 0.6
    jpeg_quality: tuple = (35, 95)
    p_color: float = 0.4
    color_gain: float = 0.08
    color_log_gamma: float = 0.3
    p_overlay: float = 0.15
    # Share of pseudo-fakes whose source is another video's face (synthesis/donor.py); 0 = the
    # paper's self-blends only. Donor: the nearest landmark shape among `donor_candidates` draws.
    p_other_identity: float = 0.0
    donor_candidates: int = 64


@dataclass
class BackboneConfig:
    name: str = "tf_efficientnet_lite0"
    pretrained: str = "lite0-package"   # "lite0-package" | "lite2-package" | "timm" (local cache only) | a weights file | "none"
    input_size: int = 160
    mean: tuple | None = None           # None: from the model's pretrained config
    std: tuple | None = None


@dataclass
class TrainConfig:
    # cpu defaults: Lite0@160 with SAM, 8 x 150 steps of 32 images (38k images,
    # ~35-65 min on the shared 2-core machine depending on contention).
    epochs: int = 8
    batch_size: int = 32                # images per step: half real, half their pseudo-fakes
    lr: float = 1e-3
    momentum: float = 0.9
    sam_rho: float = 0.05
    use_sam: bool = True
    decay_start: float = 0.75           # linear decay over the last quarter
    keep_best: int = 5
    val_fraction: float = 0.2
    # Held-out share of photo ids (top folder "photos/"); None = val_fraction. Photos give
    # no frame pairs, so the density model never needs them: most can train the backbone.
    val_fraction_photos: float | None = None
    steps_per_epoch: int | None = 150   # None: one pass over the training faces
    num_workers: int = 0
    seed: int = 0
    amp: bool = True                    # bf16 autocast, only on CUDA
    val_max_faces: int | None = 512     # validation faces (fixed subset, fixed pseudo-fakes)
    save_every_steps: int = 100         # last.safetensors refresh inside an epoch (resume point)


@dataclass
class AnomalyConfig:
    pairing: str = "paper"              # "paper" | "all" | "consecutive"
    num_partners: int = 8
    max_pairs: int = 32
    combine: str = "sq"                 # "abs" | "sub" | "sq" | "cube" | "single" (single-frame baseline)
    density: str = "gmm"                # "gmm" | "ocsvm" | "knn"
    pca_dims: int | None = 32
    gmm_components: int = 3
    gmm_covariance: str = "full"
    gmm_reg: float = 1e-4               # reg_covar: keeps covariances invertible with few pairs
    gmm_max_iter: int = 250             # paper
    knn_k: int = 5
    ocsvm_nu: float = 0.1
    ocsvm_gamma: str | float = "scale"
    video_reduce: str = "mean"          # "mean" | "median" | "trimmed"
    trim_fraction: float = 0.1          # cut from each end for "trimmed"
    target_fpr: float = 0.05            # threshold from held-out real videos
    calibration_fraction: float = 0.3   # share of real groups held out for calibration by `fit`
    seed: int = 0


@dataclass
class Config:
    faces: FaceConfig = field(default_factory=FaceConfig)
    synth: SynthConfig = field(default_factory=SynthConfig)
    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    anomaly: AnomalyConfig = field(default_factory=AnomalyConfig)
    preset: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """The inverse of to_dict; ConfigError naming the key and section on an unknown key."""
        if not isinstance(data, dict):
            raise ConfigError(f"a configuration must be an object, got {type(data).__name__}")
        sections = {f.name: f for f in dataclasses.fields(cls) if f.name != "preset"}
        unknown = sorted(set(data) - set(sections) - {"preset"})
        if unknown:
            raise ConfigError(f"unknown configuration section {unknown[0]!r}: known are "
                              f"{', '.join([*sections, 'preset'])}")
        built = {name: section_from_dict(f.default_factory, data.get(name, {}), name)
                 for name, f in sections.items()}
        return cls(**built, preset=data.get("preset", "custom"))


def section_from_dict(kind, values: dict, section: str, *, unknown: str = "error"):
    """The dataclass `kind` from a JSON object; missing keys take their defaults, lists become tuples.

    unknown="error" (the default): a key `kind` does not have raises ConfigError naming it and
    the section (a typo must not be dropped silently). unknown="drop": for dicts that
    legitimately carry more than the settings (none of the configuration files)."""
    if unknown not in ("error", "drop"):
        raise ValueError(f"unknown={unknown!r}: 'error' or 'drop'")
    if not isinstance(values, dict):
        raise ConfigError(f"{section} must be an object, got {type(values).__name__}")
    names = [f.name for f in dataclasses.fields(kind)]
    extra = sorted(set(values) - set(names))
    if extra and unknown == "error":
        raise ConfigError(f"unknown setting {extra[0]!r} in {section} (known: {', '.join(names)})")
    return kind(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names})


def preset(name: str) -> Config:
    """`cpu` (default here) or `paper` (EfficientNet-B4 AdvProp, GPU)."""
    if name == "cpu":
        return Config(synth=SynthConfig(p_domain=0.8), preset="cpu")
    if name == "paper":
        return Config(
            faces=FaceConfig(num_frames=40, policy="largest", roi_search=False),   # the paper looks everywhere
            backbone=BackboneConfig(name="tf_efficientnet_b4.ap_in1k", pretrained="timm",
                                    input_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
            train=TrainConfig(epochs=100, batch_size=32, steps_per_epoch=None, num_workers=4),
            anomaly=AnomalyConfig(pca_dims=None),
            preset="paper",
        )
    raise ValueError(f"unknown preset {name!r}: choose 'cpu' or 'paper'")


PRESETS = ("cpu", "paper")
