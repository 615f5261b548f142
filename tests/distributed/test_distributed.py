"""difffake.distributed on a real Ray cluster on loopback (`ray start --head`
on 127.0.0.1 with 2 CPUs, shared by the folder: conftest.py; its own processes stopped after).

Rows must equal a local scan's, a killed actor must cost no row and duplicate
none, a resumed run must write only the missing rows, and a Ray-filled face
store must hold the same entries as a local `prepare`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason='needs Ray: pip install "difffake[ray]"')

from difffake.config import FaceConfig
from difffake.distributed import ray_prepare, ray_scan
from difffake.distributed.actors import scan_one
from difffake.distributed.results import read_rows

REPO = Path(__file__).resolve().parents[2]
FRAMES = 6
VOLATILE = {"seconds", "cpu_seconds", "attempts"}   # timings and retry counts differ run to run


@pytest.fixture(scope="module")
def default_detector():
    from difffake.detector import Detector

    det = Detector.load(None)
    det.face_cfg.num_frames = FRAMES
    return det


def local_rows(detector, jobs) -> dict:
    """The rows a plain in-process scan gives (same per-file function as `difffake scan`)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # as each actor: same float reductions
    try:
        return {vid: scan_one(detector, path, vid) for path, vid in jobs}
    finally:
        torch.set_num_threads(threads)


def same(a, b) -> bool:
    """Equal rows, numbers to 1e-6 (identical code; BLAS may still order sums differently)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a if k not in VOLATILE)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


def by_id(rows) -> dict:
    counts = Counter(r["id"] for r in rows)
    assert all(n == 1 for n in counts.values()), [k for k, n in counts.items() if n > 1]
    return {r["id"]: r for r in rows}


def write_list(path: Path, files, copies: int) -> list[tuple[str, str]]:
    """@LIST with `copies` lines per file, each with its own id (path<TAB>id)."""
    jobs = [(str(f), f"copy{k}/{Path(f).name}") for k in range(copies) for f in files]
    path.write_text("".join(f"{p}\t{v}\n" for p, v in jobs))
    return jobs


def test_scan_rows_equal_local_scan_synthetic_and_parquet(ray_cluster, synthetic_videos, default_detector,
                                                          tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "rows.parquet"
    summary = ray_scan([str(synthetic_videos), str(tmp_path / "absent.mp4")], out, frames=FRAMES,
                       address=ray_cluster, actors=2)
    rows = by_id(read_rows(out))
    jobs = [(str(p), p.name) for p in sorted(synthetic_videos.glob("*.mp4"))]
    expected = local_rows(default_detector, jobs)
    assert set(rows) == set(expected) | {str(tmp_path / "absent.mp4")}
    for vid, row in expected.items():
        assert same(rows[vid], {**row, "attempts": 1}), vid
    assert rows[str(tmp_path / "absent.mp4")]["status"] == "error"
    assert "no such file" in rows[str(tmp_path / "absent.mp4")]["reason"]
    assert summary["written"] == 4 and summary["error"] == 1
    table = pq.read_table(out)
    assert sorted(table.column("id").to_pylist()) == sorted(rows)
    for row_id, status, detail in zip(*(table.column(c).to_pylist() for c in ("id", "status", "detail"))):
        assert status == rows[row_id]["status"]
        assert ("result" in json.loads(detail)) == (status != "error")


def test_scan_dev_twins_equal_local(ray_cluster, shared_data, default_detector, tmp_path):
    names = sorted(p.name for p in (shared_data / "dev" / "real").glob("*.mp4"))[:3]
    files = [shared_data / "dev" / side / n for n in names for side in ("real", "fake")]
    summary = ray_scan([str(f) for f in files], tmp_path / "twins.jsonl", frames=FRAMES,
                       address=ray_cluster, actors=2)
    rows = by_id(read_rows(tmp_path / "twins.jsonl"))
    expected = local_rows(default_detector, [(str(f), str(f)) for f in files])
    assert set(rows) == set(expected) and summary["ok"] == len(files)
    for vid, row in expected.items():
        assert same(rows[vid], {**row, "attempts": 1}), vid


def test_killed_actor_loses_nothing_and_resume_writes_only_missing(ray_cluster, synthetic_videos, tmp_path):
    jobs = write_list(tmp_path / "list.txt", sorted(synthetic_videos.glob("*.mp4")), copies=2)   # 6 inputs
    out = tmp_path / "killed.jsonl"
    prefix = f"kill-{os.getpid()}"
    killed, finished = [], threading.Event()

    def kill_first_actor_when_running():   # no deadline: a loaded machine may start actors slowly
        while not finished.is_set() and not killed:
            if out.exists() and out.read_text().count("\n") >= 1:   # mid-run: a row is out, work in flight
                ray.kill(ray.get_actor(f"{prefix}-0"))
                killed.append(time.time())
            time.sleep(0.05)

    killer = threading.Thread(target=kill_first_actor_when_running)
    killer.start()
    try:
        summary = ray_scan([f"@{tmp_path / 'list.txt'}"], out, frames=FRAMES, address=ray_cluster, actors=2,
                           name_prefix=prefix)
    finally:
        finished.set()
        killer.join()
    assert killed, "the run ended before an actor could be killed"
    rows = by_id(read_rows(out))   # exactly one row per input
    assert set(rows) == {vid for _, vid in jobs}
    assert summary["actors_replaced"] >= 1
    assert all(r["status"] == "ok" for r in rows.values()), [r["reason"] for r in rows.values()]
    assert any(r["attempts"] > 1 for r in rows.values())   # the killed actor's task was retried

    # An interrupted run: the first 3 rows and half of the 4th made it to disk.
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    again = ray_scan([f"@{tmp_path / 'list.txt'}"], out, frames=FRAMES, address=ray_cluster, actors=2)
    assert (again["written"], again["skipped_already_written"]) == (3, 3)
    resumed = by_id(read_rows(out))
    assert set(resumed) == set(rows)
    for vid in rows:
        assert same(resumed[vid], rows[vid] | {"attempts": resumed[vid]["attempts"]}), vid


def test_ray_prepare_store_equals_local_prepare(ray_cluster, synthetic_videos, tmp_path):
    from difffake.faces.store import FaceStore
    from difffake.workflows.prepare import prepare

    cfg = FaceConfig(num_frames=FRAMES)
    local = prepare([str(synthetic_videos)], tmp_path / "local", cfg)
    assert local["failed"] == 0
    summary = ray_prepare([str(synthetic_videos)], tmp_path / "ray", cfg, address=ray_cluster, actors=2)
    assert summary["ok"] == 3 and summary["error"] == 0
    a, b = FaceStore(tmp_path / "local"), FaceStore(tmp_path / "ray")
    assert a.settings == b.settings and a.ids() == b.ids() == [p.name for p in sorted(synthetic_videos.glob("*.mp4"))]
    for vid in a.ids():   # byte for byte
        assert a.path_for(vid).read_bytes() == b.path_for(vid).read_bytes(), vid
    assert (tmp_path / "local" / "settings.json").read_bytes() == (tmp_path / "ray" / "settings.json").read_bytes()
    # a rerun finds every input written and starts no work
    again = ray_prepare([str(synthetic_videos)], tmp_path / "ray", cfg, address=ray_cluster, actors=1)
    assert again["written"] == 0 and again["skipped_already_written"] == 3


def test_dry_run_long_list_and_retries_exhausted_become_error_rows(ray_cluster, synthetic_videos, tmp_path):
    """2,100 streamed lines with no retries allowed: the tasks of a killed actor become
    error rows saying so; every other line is a dry-run row; none is lost or doubled."""
    files = sorted(synthetic_videos.glob("*.mp4"))
    jobs = write_list(tmp_path / "long.txt", files, copies=700)
    out, prefix, killed, finished = tmp_path / "dry.jsonl", f"dry-{os.getpid()}", [], threading.Event()

    def kill_after_some_rows():
        while not finished.is_set() and not killed:
            if out.exists() and out.read_text().count("\n") >= 200:
                ray.kill(ray.get_actor(f"{prefix}-1"))
                killed.append(True)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_after_some_rows)
    killer.start()
    try:
        summary = ray_scan([f"@{tmp_path / 'long.txt'}"], out, address=ray_cluster, actors=2, dry_run=True,
                           max_in_flight=8, retries=0, name_prefix=prefix)
    finally:
        finished.set()
        killer.join()
    rows = by_id(read_rows(out))
    assert set(rows) == {vid for _, vid in jobs} and summary["written"] == len(jobs)
    died = [r for r in rows.values() if r["status"] == "error"]
    assert killed and died and summary["actors_replaced"] >= 1
    assert all("worker died on each of 1 attempts" in r["reason"] for r in died)
    assert all(r["reason"] == "dry run: not decoded" for r in rows.values() if r["status"] == "ok")


def run_cli(args, extra_path=None):
    paths = [str(extra_path)] if extra_path else []
    env = {"PYTHONPATH": os.pathsep.join(paths + [str(REPO / "src")]), "PATH": os.environ["PATH"],
           "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([sys.executable, "-m", "difffake", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_without_ray_the_flag_exits_2_naming_the_extra(tmp_path):
    blocker = tmp_path / "noray"
    blocker.mkdir()
    (blocker / "ray.py").write_text("raise ImportError('No module named ray (blocked by the test)')\n")
    for command in (["scan", "x.mp4", "--ray", "--out", str(tmp_path / "o.jsonl")],
                    ["prepare", "x.mp4", "--store", str(tmp_path / "s"), "--ray", "auto"]):
        done = run_cli(command, blocker)
        assert done.returncode == 2, done.stderr
        assert 'pip install "difffake[ray]"' in done.stderr and "Traceback" not in done.stderr
    probe = ("import sys; from difffake.cli import build_parser; build_parser(); "
             "import difffake.commands.scan, difffake.distributed; print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(REPO / "src"), "PATH": os.environ["PATH"]})
    assert done.stdout.strip() == "False", done.stderr


def test_cli_scan_and_evaluate_with_ray(ray_cluster, synthetic_folder_dataset, tmp_path):
    from difffake.cli import main

    out = tmp_path / "scan.jsonl"
    code = main(["scan", "--ray", ray_cluster, "--frames", str(FRAMES), "--out", str(out),
                 str(synthetic_folder_dataset)])
    rows = by_id(read_rows(out))
    assert set(rows) == {"real/astro_0.mp4", "real/astro_1.mp4", "fake/astro_2.mp4"}
    fake = any(r["result"]["verdict"] == "fake" for r in rows.values())
    assert all(r["status"] == "ok" for r in rows.values()) and code == (1 if fake else 0)
    assert main(["scan", "--ray", ray_cluster, "--json", "--out", str(out), "x.mp4"]) == 2

    report = tmp_path / "report"
    assert main(["evaluate", "--ray", ray_cluster, "--dataset", f"folder:{synthetic_folder_dataset}",
                 "--out", str(report), "--bootstrap", "20", "--face-cache", "none"]) == 0
    stores = list((report / "stores").iterdir())
    assert len(stores) == 1
    assert {r["id"] for r in read_rows(stores[0] / "ray_rows.jsonl")} == set(rows)
    assert (report / "results.md").is_file()
