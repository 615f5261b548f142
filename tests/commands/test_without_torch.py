"""The base install has no torch, timm, scikit-learn or safetensors: scan works, the rest says which extra.

Each test runs the CLI in a child interpreter where importing those packages
fails as it would when they are not installed.
"""
import json
import subprocess
import sys

import pytest

from difffake.detector import DEFAULT_DIR

BLOCKER = """
import importlib.abc, sys
HIDDEN = {"torch", "torchvision", "timm", "sklearn", "safetensors", "onnx"}
class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Hide())
import importlib.util
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in HIDDEN else _find(name, *a)
from difffake.cli import main
code = main(sys.argv[1:])
print("LOADED:" + ",".join(sorted(m for m in HIDDEN | {"scipy.stats", "matplotlib"} if m in sys.modules)))
sys.exit(code)
"""


def _run(*args):
    return subprocess.run([sys.executable, "-c", BLOCKER, *args], capture_output=True, text=True,
                          timeout=300)


pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "backbone.onnx").exists(),
                                reason="no built-in detector with backbone.onnx in this checkout")


def test_scan_runs_on_onnx_runtime_without_torch(synthetic_videos):
    out = _run("scan", str(synthetic_videos / "astro_0.mp4"), "--json")
    assert out.returncode in (0, 1), out.stderr
    result = json.loads([line for line in out.stdout.splitlines() if line.startswith("{")][0])
    assert result["status"] == "ok" and result["verdict"] in ("real", "fake")
    assert result["classifier_score"] is not None
    assert out.stdout.strip().splitlines()[-1] == "LOADED:"   # none of the training stack was imported


@pytest.mark.parametrize("args, module", [
    (["scan", "VIDEO", "--engine", "torch"], "torch"),
    (["train", "--store", "STORE", "--out", "OUT"], "torch"),
    (["export", str(DEFAULT_DIR)], "torch"),
])
def test_commands_needing_torch_exit_2_naming_the_extra(args, module, synthetic_videos, tmp_path):
    args = [a.replace("VIDEO", str(synthetic_videos / "astro_0.mp4")).replace("STORE", str(tmp_path))
            .replace("OUT", str(tmp_path / "out")) for a in args]
    out = _run(*args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert 'pip install "difffake[train]"' in out.stderr and module in out.stderr
    assert "Traceback" not in out.stderr
