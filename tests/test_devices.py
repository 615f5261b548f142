"""devices.check_device: a --device torch cannot use here is a one-line UsageError with the fix."""
import subprocess
import sys

import pytest

from difffake.devices import FIX, check_device
from difffake.errors import UsageError


def _cuda_count() -> int:
    import torch
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _usable(name: str) -> bool:
    import torch
    try:
        torch.empty(1, device=name)
    except (RuntimeError, AssertionError, ValueError, NotImplementedError):
        return False
    return True


def test_usable_devices_come_back_unchanged():
    assert check_device("cpu") == "cpu"
    assert check_device("cpu:0") == "cpu:0"
    assert check_device("auto", allow_auto=True) == "auto"
    assert check_device("meta") == "meta"            # any backend torch can put a tensor on
    assert FIX == "use --device cpu"


@pytest.mark.parametrize("name", ["auto", "nonsense", "cuda:x"])
def test_a_name_torch_does_not_know_is_refused_with_the_fix(name):
    with pytest.raises(UsageError) as info:
        check_device(name)
    msg = str(info.value)
    assert msg.startswith(f"--device {name}: not a device torch knows (") and msg.endswith("; use --device cpu")


@pytest.mark.parametrize("name", ["xpu", "mps"])
def test_a_backend_this_torch_cannot_use_is_refused_in_one_short_line(name):
    if _usable(name):
        pytest.skip(f"torch can use {name} on this machine")
    with pytest.raises(UsageError) as info:
        check_device(name)
    msg = str(info.value)
    assert msg.startswith(f"--device {name}: torch cannot use it here (") and msg.endswith("; use --device cpu")
    assert "\n" not in msg and len(msg) < 300


@pytest.mark.skipif(_cuda_count() > 0, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_says_why(name):
    import torch

    why = ("this torch build has no CUDA support" if torch.version.cuda is None
           else "no CUDA GPU is visible here (driver, CUDA_VISIBLE_DEVICES)")
    with pytest.raises(UsageError) as info:
        check_device(name)
    assert str(info.value) == f"--device {name}: {why}; use --device cpu"


@pytest.mark.skipif(_cuda_count() == 0, reason="needs a CUDA GPU")
def test_cuda_index_must_be_a_gpu_of_this_machine():
    count = _cuda_count()
    assert check_device("cuda") == "cuda" and check_device(f"cuda:{count - 1}") == f"cuda:{count - 1}"
    with pytest.raises(UsageError) as info:
        check_device(f"cuda:{count}")
    assert str(info.value) == (f"--device cuda:{count}: this machine has {count} CUDA GPU(s), numbered from 0; "
                               f"use --device cuda:0 or --device cpu")


CHILD = """
import importlib.util, sys
HIDE = {"torch"}
_find = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name.split(".")[0] in HIDE else _find(name, *a)
from difffake.devices import check_device
from difffake.errors import MissingExtra
print(check_device("cpu"), check_device("auto", allow_auto=True), "torch" in sys.modules)
try:
    check_device("cuda")
except MissingExtra as exc:
    print(exc)
"""


def test_cpu_needs_no_torch_and_another_device_without_torch_names_the_extra():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "cpu auto False",
        "--device cuda needs 'torch', which is not installed: pip install \"difffake[train]\""]
