"""Several writers on one face store: settings created exactly once, two `prepare` runs
split the work, re-runs and resumed runs give the same bytes (faces/store_locks.py)."""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from difffake.errors import SettingsMismatch
from difffake.faces.store import FaceStore

REPO = Path(__file__).resolve().parents[2]
TRIALS = 30


def store_digest(root: Path) -> dict:
    """{relative path: sha256} of every file under a store (lock files and settings included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cli_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def prepare_cmd(inputs, store, frames=3, *extra) -> list[str]:
    return [sys.executable, "-m", "difffake", "prepare", *map(str, inputs), "--store", str(store),
            "--frames", str(frames), *extra]


def _opener(base: str, settings: dict, barrier, trials: int, out) -> None:
    """Open store <base>/<i> with `settings` in each trial, both processes released at once."""
    results = []
    for i in range(trials):
        barrier.wait()
        try:
            FaceStore(Path(base) / str(i), settings)
            results.append("ok")
        except SettingsMismatch as exc:
            results.append(f"mismatch: {exc}")
    out.put((settings["num_frames"], results))


def test_two_openers_with_other_settings_exactly_one_wins(tmp_path):
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_opener, args=(str(tmp_path), {"num_frames": n}, barrier, TRIALS, out))
             for n in (8, 16)]
    for p in procs:
        p.start()
    got = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    outcomes = [{n: got[n][i] for n in got} for i in range(TRIALS)]
    both_won = [i for i, o in enumerate(outcomes) if all(r == "ok" for r in o.values())]
    assert not both_won, f"both openers made the store in {len(both_won)} of {TRIALS} trials"
    for i, outcome in enumerate(outcomes):
        winners = [n for n, r in outcome.items() if r == "ok"]
        assert len(winners) == 1, f"trial {i}: {outcome}"
        loser = outcome[({8, 16} - set(winners)).pop()]
        assert loser.startswith(f"mismatch: {tmp_path / str(i)}:")   # the message names the store
        assert FaceStore(tmp_path / str(i)).settings == {"num_frames": winners[0]}
        assert sorted(p.name for p in (tmp_path / str(i)).iterdir()) == [".locks", "settings.json"]


def test_same_settings_twice_both_open(tmp_path):
    FaceStore(tmp_path / "s", {"num_frames": 4})
    assert FaceStore(tmp_path / "s", {"num_frames": 4}).settings == {"num_frames": 4}


def test_leftover_settings_temporary_is_cleared(tmp_path):
    """A creator killed between the link and the unlink leaves `.settings.json.tmp`; the next writer removes it."""
    FaceStore(tmp_path / "s", {"num_frames": 4})
    (tmp_path / "s" / ".settings.json.tmp").write_text("{}")
    FaceStore(tmp_path / "s")                            # a reader changes nothing
    assert (tmp_path / "s" / ".settings.json.tmp").exists()
    FaceStore(tmp_path / "s", {"num_frames": 4})
    assert not (tmp_path / "s" / ".settings.json.tmp").exists()


def test_read_only_open_writes_nothing(tmp_path):
    FaceStore(tmp_path / "s", {"num_frames": 4})
    before = store_digest(tmp_path / "s")
    FaceStore(tmp_path / "s", {"num_frames": 4})   # a store on a read-only share opens as before
    FaceStore(tmp_path / "s")
    assert store_digest(tmp_path / "s") == before


def _counts(stdout: str) -> tuple[int, int]:
    m = re.search(r"(\d+) already in store, (\d+) processed, 0 failed", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


@pytest.mark.slow
def test_two_prepare_runs_on_one_store_split_the_work(synthetic_videos, tmp_path):
    one, shared = tmp_path / "one", tmp_path / "shared"
    n = len(list(synthetic_videos.glob("*.mp4")))
    assert subprocess.run(prepare_cmd([synthetic_videos], one), env=cli_env(), capture_output=True).returncode == 0
    procs = [subprocess.Popen(prepare_cmd([synthetic_videos], shared), env=cli_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    counts = [_counts(out) for out, _ in outs]
    assert sum(processed for _, processed in counts) == n, counts   # each entry made once
    assert all(skipped + processed == n for skipped, processed in counts), counts
    assert store_digest(shared) == store_digest(one)


@pytest.mark.slow
def test_prepare_leaves_a_held_entry_to_its_holder(synthetic_videos, tmp_path):
    """While another writer holds astro_1's lock, a run does the others, waits, then trusts
    what the holder wrote (and counts it as already stored)."""
    one, shared = tmp_path / "one", tmp_path / "shared"
    assert subprocess.run(prepare_cmd([synthetic_videos], one), env=cli_env(), capture_output=True).returncode == 0
    held = FaceStore(shared, FaceStore(one).settings).entry_lock("astro_1.mp4")
    held.acquire()
    try:
        proc = subprocess.Popen(prepare_cmd([synthetic_videos], shared), env=cli_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.time() + 120
        while not all((shared / "faces" / f"astro_{k}.mp4.npz").exists() for k in (0, 2)):
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.1)
        time.sleep(0.5)
        assert proc.poll() is None                      # waiting for astro_1, not done without it
        assert not (shared / "faces" / "astro_1.mp4.npz").exists()
        (shared / "faces" / "astro_1.mp4.npz").write_bytes((one / "faces" / "astro_1.mp4.npz").read_bytes())
    finally:
        held.release()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert _counts(out) == (1, 2)
    assert "1 entries are being written by another prepare run; waiting for them" in err
    assert store_digest(shared) == store_digest(one)


@pytest.mark.slow
def test_identical_reruns_give_identical_bytes(synthetic_videos, tmp_path):
    """Every file of two stores made by identical runs (and by 2 workers) is the same, sha256."""
    bad = tmp_path / "in" / "bad.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"not a video")
    inputs = [synthetic_videos, bad]
    runs = {"a": [], "b": [], "two_workers": ["--workers", "2"]}
    for name, extra in runs.items():
        code = subprocess.run(prepare_cmd(inputs, tmp_path / name, 3, *extra), env=cli_env(),
                              capture_output=True).returncode
        assert code == 3   # the bad file fails, the others are stored
    a = store_digest(tmp_path / "a")
    assert {"settings.json", "failures.json", "faces/astro_0.mp4.npz"} <= set(a)
    assert store_digest(tmp_path / "b") == a
    assert store_digest(tmp_path / "two_workers") == a
