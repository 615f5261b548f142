"""The Ray test cluster of tests/distributed: one `ray start --head` on loopback, shared by the
test files of this folder that ask for `ray_cluster` (a cluster start costs ~5 s and its stop
~5 s), its own processes (and only those) stopped after the folder's last test."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_support import free_port

REPO = Path(__file__).resolve().parents[2]


def _cluster_pids(temp_dir: str) -> list[int]:
    """This test cluster's processes: those naming its own temp dir, and their descendants
    (workers rename themselves ray::..., but stay children of the raylet)."""
    parents, roots = {}, set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if temp_dir in cmd:
            roots.add(int(proc.name))
    ours, grew = set(roots), True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in ours and pid not in ours:
                ours.add(pid)
                grew = True
    return sorted(ours - {os.getpid()})


@pytest.fixture(scope="package")
def ray_cluster():
    """`ray start --head` on 127.0.0.1 with 2 CPUs in its own temp dir; torn down with
    `ray stop`'s signals sent only to this cluster's processes (other Ray instances on
    the machine are left alone)."""
    import tempfile

    ray = pytest.importorskip("ray", reason='needs Ray: pip install "difffake[ray]"')
    ray_bin = Path(sys.executable).with_name("ray")
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="rayt", dir="/tmp")   # short: Ray's socket paths must fit 107 bytes
    # Ray 2.5x turns on token auth by default; a loopback test cluster does without
    os.environ["RAY_AUTH_MODE"] = "disabled"
    os.environ["RAY_worker_niceness"] = "0"   # the default 15 starves actors on a shared CI machine
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    address = f"127.0.0.1:{port}"
    start = [str(ray_bin), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
             "--num-cpus", "2", "--num-gpus", "0", "--include-dashboard", "false",
             "--object-store-memory", str(200 * 1024 ** 2), "--disable-usage-stats", "--temp-dir", temp_dir]
    try:   # a slow or failed start is cleaned up too
        for _attempt in (1, 2):   # Ray gives its raylet 30 s: a loaded machine may need a second go
            done = subprocess.run(start, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode == 0:
                break
            _stop(temp_dir, rmtree=False)
        else:
            pytest.fail(f"ray start failed twice: {done.stderr[-2000:]}")
        ray.init(address=address, log_to_driver=False)
        yield address
    finally:
        ray.shutdown()
        _stop(temp_dir)


def _alive(pid: int) -> bool:
    try:   # a zombie (state Z) is dead, only not yet reaped by its parent
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _stop(temp_dir: str, rmtree: bool = True) -> None:
    import signal

    pids = _cluster_pids(temp_dir)
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 1.0)):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.time() + wait
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        pids = [p for p in pids if _alive(p)]
    if rmtree:
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert not pids, f"Ray processes {pids} survived SIGKILL"
