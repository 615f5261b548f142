"""The fuzz targets (scripts/fuzz/targets/*.py): each runs clean under atheris for a short bounded time,
its seeds run clean, and every saved crash input (tests/fuzz_crashes/<target>/) is replayed as a
regression test. The long runs: scripts/fuzz/run.py (results in benchmarks/results/fuzz.md)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from difffake.errors import DifffakeError

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "scripts" / "fuzz" / "run.py"
TARGETS = sorted(p.stem for p in (REPO / "scripts" / "fuzz" / "targets").glob("*.py") if not p.name.startswith("_"))
CRASHES = REPO / "tests" / "fuzz_crashes"
TOTAL_SECONDS = 45            # all targets together (the issue allows 60 s of fuzzing in CI)
SECONDS = max(5, TOTAL_SECONDS // max(1, len(TARGETS)))
CRASH_FILES = sorted(p for p in CRASHES.glob("*/*") if p.is_file() and not p.name.startswith((".", "README")))


def _runner():
    spec = importlib.util.spec_from_file_location("fuzz_runner", RUNNER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _target(name: str):
    module = sys.modules.get(f"fuzz_target_{name}")
    return module or _runner().load_target(name)


def _feed(module, data: bytes) -> None:
    try:
        module.one_input(data)
    except DifffakeError:
        pass   # a refusal that names the file and the reason: the expected answer


def test_every_target_follows_the_convention():
    assert "detector_folder" in TARGETS
    for name in TARGETS:
        module = _target(name)
        assert callable(module.one_input), name
        assert _runner().seeds_of(module), f"{name}: no SEEDS / seeds()"


@pytest.mark.parametrize("name", TARGETS)
def test_seeds_run_clean(name):
    module = _target(name)
    for seed in _runner().seeds_of(module):
        _feed(module, seed)   # anything but a DifffakeError fails the test with its traceback


@pytest.mark.parametrize("path", CRASH_FILES, ids=[f"{p.parent.name}/{p.name}" for p in CRASH_FILES])
def test_saved_crash_inputs_no_longer_crash(path):
    _feed(_target(path.parent.name), path.read_bytes())


@pytest.mark.parametrize("name", TARGETS)
def test_fuzzing_briefly_finds_no_crash(name, tmp_path):
    pytest.importorskip("atheris")
    out = subprocess.run([sys.executable, str(RUNNER), "--target", name, "--seconds", str(SECONDS),
                          "--crashes", str(tmp_path / "crashes"), "--out", str(tmp_path / "fuzz.md")],
                         capture_output=True, text=True, timeout=SECONDS + 240,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(
                             filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))})
    assert out.returncode == 0, f"{name}: crash inputs in {tmp_path / 'crashes'}\n{out.stdout}\n{out.stderr[-6000:]}"
    row = next(line for line in (tmp_path / "fuzz.md").read_text().splitlines() if line.startswith(f"| {name} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert int(cells[1]) > 0 and cells[3] == "0", row   # it ran inputs, and none crashed
