"""Run the real `difffake` command on this checkout's source (the CLI tests' one way to do it)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_difffake(*args, env_extra=None, timeout=300) -> subprocess.CompletedProcess:
    """`python -m difffake ARGS` with src/ first on the path, stdin closed, output captured."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "difffake", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL)
