"""`prepare` killed with SIGKILL at 3 seeded points resumes to a store byte-identical to an
uninterrupted run (scripts/kill_resume.py does 12 points for benchmarks/results/kill_resume.md)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from difffake.faces.store import FaceStore

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kill_resume.py"


def _script():
    spec = importlib.util.spec_from_file_location("kill_resume", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_prepare_killed_at_three_points_resumes_byte_identical(tmp_path):
    kr = _script()
    inputs = kr.write_videos(tmp_path / "inputs", count=3, frames=12)
    rows = kr.kill_and_resume(inputs, tmp_path / "work", points=3, seed=0, frames=4, say=lambda msg: None)
    assert len(rows) == 3
    assert sum(r["killed"] for r in rows) >= 2, rows         # kills land while the run works
    for r in rows:
        assert r["readable"] == r["entries"], r               # no damaged entry left by a kill
        assert r["resume_rc"] == 3, r                         # broken.mp4 fails, the rest is stored
        assert r["identical"], r["differ"]
    assert len(FaceStore(tmp_path / "work" / "reference").ids()) == 3


def test_a_write_cut_short_is_overwritten_on_resume(tmp_path, synthetic_videos):
    """A kill mid-write leaves `.<entry>.npz.tmp`; the resumed run overwrites and renames it,
    so nothing is left behind and the entry is complete."""
    from difffake.cli import main

    one, cut = tmp_path / "one", tmp_path / "cut"
    video = synthetic_videos / "astro_0.mp4"
    assert main(["prepare", str(video), "--store", str(one), "--frames", "3"]) == 0
    full = (one / "faces" / "astro_0.mp4.npz").read_bytes()
    FaceStore(cut, FaceStore(one).settings)
    (cut / "faces").mkdir()
    (cut / "faces" / ".astro_0.mp4.npz.tmp").write_bytes(full[: len(full) // 2])   # half an archive
    assert FaceStore(cut).ids() == []                                             # never taken for an entry
    assert main(["prepare", str(video), "--store", str(cut), "--frames", "3"]) == 0
    assert sorted(p.name for p in (cut / "faces").iterdir()) == ["astro_0.mp4.npz"]
    assert (cut / "faces" / "astro_0.mp4.npz").read_bytes() == full
