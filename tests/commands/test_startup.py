"""Start-up: glibc malloc tuned in the process itself (mallopt), only for commands that run torch."""
import json
import os
import subprocess
import sys

import pytest

from difffake.backbone.malloc import MALLOC_ENV, OPT_OUT, pays_off


@pytest.mark.parametrize("args, expected", [
    (["scan", "a.mp4"], False),                       # ONNX Runtime: nothing to gain
    (["scan", "a.mp4", "--engine", "torch"], True),
    (["scan", "a.mp4", "--engine=torch"], True),
    (["scan", "a.mp4", "--device", "cuda"], True),
    (["-v", "train", "--store", "s"], True),
    (["fit", "--backbone", "b"], True),
    (["prepare", "x", "--store", "s"], False),
    ([], False),
])
def test_tuning_only_for_torch_work(args, expected):
    assert pays_off(args) is expected


# The real entry point in a child (argv from sys.argv, as the installed `difffake` starts), then a
# 64 MiB malloc: glibc maps it on its own (one more mmapped block) unless M_MMAP_MAX is 0.
PROBE = """
import ctypes, json, os, sys
sys.argv = ["difffake", *sys.argv[1:]]
from difffake.backbone.malloc import MALLOC_ENV
from difffake.cli import main
try:
    main()
except SystemExit:
    pass
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblks   # blocks mapped earlier (imports) stay mapped
block = libc.malloc(64 << 20)
print(json.dumps({"mmapped_blocks": libc.mallinfo2().hblks - before,
                  "env": {k: os.environ.get(k) for k in MALLOC_ENV}}))
"""


def _probe(*args, **env_extra):
    env = {k: v for k, v in os.environ.items() if k not in (OPT_OUT, *MALLOC_ENV)}
    out = subprocess.run([sys.executable, "-c", PROBE, *args], env={**env, **env_extra},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_torch_commands_tune_malloc_in_process_and_export_it():
    tuned = _probe("fit", "--help")
    assert tuned["mmapped_blocks"] == 0                 # the big block came from the heap
    assert tuned["env"] == MALLOC_ENV                   # children start tuned too
    untuned = _probe("scan", "--help")
    assert untuned["mmapped_blocks"] == 1 and untuned["env"] == dict.fromkeys(MALLOC_ENV)
    opted_out = _probe("fit", "--help", **{OPT_OUT: "1"})
    assert opted_out["mmapped_blocks"] == 1


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_a_value_the_user_set_is_kept():
    kept = _probe("fit", "--help", MALLOC_MMAP_MAX_="1000")
    assert kept["env"] == {"MALLOC_MMAP_MAX_": "1000", "MALLOC_TRIM_THRESHOLD_": MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]}
    assert kept["mmapped_blocks"] == 1                  # glibc applied the user's 1000, not our 0
