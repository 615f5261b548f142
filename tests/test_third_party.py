"""third_party: matplotlib and onnxruntime imported so that they write nothing under $HOME.

Each check runs in a child interpreter with HOME in tmp_path: the settings are made at
import time, once per process, so only a fresh process shows them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import difffake.third_party

CHILD = """
import json, os, sys
from difffake import third_party
plt = third_party.pyplot()
again = third_party.pyplot()
fig = plt.figure(); plt.plot([0, 1]); fig.savefig(sys.argv[1]); plt.close(fig)
import matplotlib
ort = third_party.onnxruntime()
print(json.dumps({"mpl": os.environ.get("MPLCONFIGDIR"), "configdir": matplotlib.get_configdir(),
                  "backend": matplotlib.get_backend().lower(), "same": again is plt,
                  "ort": os.environ.get("ORT_DISABLE_TELEMETRY"), "ort_module": ort.__name__,
                  "module": third_party.__file__}))
"""


def _child(tmp_path, **env):
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "ORT_DISABLE_TELEMETRY", "MPLBACKEND")}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "plot.png")], capture_output=True,
                         text=True, timeout=120, env={**clean, "HOME": str(home), **env})
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["module"] == difffake.third_party.__file__     # the child ran this checkout's module
    return seen, home


def test_private_matplotlib_config_agg_and_telemetry_off_nothing_under_home(tmp_path):
    seen, home = _child(tmp_path)
    folder = Path(seen["mpl"])
    assert folder.name.startswith("difffake-matplotlib-") and seen["configdir"] == str(folder)
    assert not folder.exists()                          # removed when the process exited
    assert seen["backend"] == "agg" and seen["same"] is True
    assert seen["ort"] == "1" and seen["ort_module"] == "onnxruntime"
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(home.rglob("*")) == []                  # no config, font cache or telemetry id


def test_the_users_own_choices_are_kept(tmp_path):
    mine = tmp_path / "my_mpl"
    mine.mkdir()
    seen, _ = _child(tmp_path, MPLCONFIGDIR=str(mine), ORT_DISABLE_TELEMETRY="0")
    assert seen["mpl"] == seen["configdir"] == str(mine) and mine.is_dir()
    assert seen["ort"] == "0"

