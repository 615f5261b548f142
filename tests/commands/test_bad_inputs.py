"""The bad-input corpus (issue 12): every odd file through the real `difffake scan --json` with
the shipped detector, alone (its status, exit code and reason) and all together in ONE batch
(the same results, in input order, exit 3 or 5).

The inputs are made by tests/media_corpus.py. Folder listing (symlinks, missing paths,
duplicate names) is tested elsewhere. As root, a chmod-000 file is still readable: the scans
then run under `setpriv` without the two capabilities that let root read anything (the test
of that file is skipped, with the reason, where setpriv cannot drop them).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from media_corpus import VERDICT, build_corpus

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DROP_READ_ANYTHING = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


def _unprivileged_prefix(folder: Path) -> list[str] | None:
    """Command prefix under which a chmod-000 file cannot be read; None when there is none."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    probe = folder / "probe_unreadable"
    probe.write_text("x")
    probe.chmod(0)
    try:
        done = subprocess.run([setpriv, *DROP_READ_ANYTHING, sys.executable, "-c",
                               f"open({str(probe)!r}).read()"], capture_output=True, text=True)
    finally:
        probe.unlink()
    return [setpriv, *DROP_READ_ANYTHING] if "PermissionError" in done.stderr else None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, astronaut_rgb):
    folder = tmp_path_factory.mktemp("bad inputs")   # a space in the folder name too
    os.chmod(folder, 0o755)
    cases = build_corpus(folder, astronaut_rgb)
    prefix = _unprivileged_prefix(folder)
    usable = [c for c in cases if not (c.needs == "unprivileged" and prefix is None)]
    return folder, cases, usable, prefix or []


def scan(prefix, folder: Path, names) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([*prefix, sys.executable, "-m", "difffake", "scan", "--json", "--", *names],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=600)


PROGRESS_LINE = re.compile(r"^scanning: \d+/\d+ file \[")


def check_stderr(stderr: str) -> None:
    """No traceback, and nothing from FFmpeg, OpenCV or libpng without difffake's prefix
    (difffake's own progress lines, "scanning: 3/38 file [...]" when piped, are not stray)."""
    assert "Traceback" not in stderr, stderr
    stray = [ln for ln in stderr.splitlines()
             if ln.strip() and not ln.startswith("difffake:") and not PROGRESS_LINE.match(ln)]
    assert not stray, f"unprefixed stderr lines: {stray}"


def check_case(case, result: dict) -> None:
    label = repr(case.name)
    assert result["path"] == case.name, label
    assert result["status"] == case.status, (label, result["status"], result["error"])
    if case.status == "ok":
        assert result["verdict"] in ("real", "fake") and result["score"] is not None, label
        assert result["evidence_level"] == ("low" if case.low_evidence else "normal"), (label, result["n_pairs"])
        assert result["pairs_expected"] == 24   # the shipped detector: 32 frames, 8 partners
    else:
        assert result["verdict"] == "unknown" and result["score"] is None, label
        message = result["error"] or ""
        if case.status == "error":
            assert case.name in message, f"{label}: the message does not name the file: {message!r}"
        for word in case.reason:
            assert word in message, f"{label}: {word!r} not in {message!r}"


def expected_exit(case, result: dict) -> int:
    if case.exit == VERDICT:
        return 1 if result["verdict"] == "fake" else 0
    return case.exit


def test_corpus_is_large_and_varied(corpus):
    _, cases, _, _ = corpus
    assert len(cases) >= 30
    assert {c.status for c in cases} == {"ok", "error", "no_face", "too_few_faces"}
    assert any(c.low_evidence for c in cases) and any(c.low_evidence is False for c in cases)


def test_every_input_alone(corpus):
    """Each file alone: its status, exit code and reason, and nothing raw on stderr."""
    folder, cases, usable, prefix = corpus
    # one child per file, as many at once as there are cores: each is mostly start-up, one core
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        scans = list(pool.map(lambda case: scan(prefix, folder, [case.name]), usable))
    for case, done in zip(usable, scans):
        check_stderr(done.stderr)
        lines = done.stdout.splitlines()
        assert len(lines) == 1, (case.name, done.stdout, done.stderr)
        result = json.loads(lines[0])
        check_case(case, result)
        assert done.returncode == expected_exit(case, result), (case.name, done.returncode, result["error"])
        case.extra["alone"] = result


def test_all_inputs_in_one_batch(corpus):
    """ONE scan of every input: one result per file, in input order, equal to the file's own
    scan; exit 3 (5 when something was judged fake)."""
    folder, _, usable, prefix = corpus
    done = scan(prefix, folder, [c.name for c in usable])
    check_stderr(done.stderr)
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["path"] for r in results] == [c.name for c in usable]
    for case, result in zip(usable, results):
        check_case(case, result)
        alone = case.extra.get("alone")
        if alone is not None:   # the batch gives every file the result it gets alone
            for key in ("status", "error", "verdict", "score", "n_pairs", "evidence_level"):
                assert result[key] == alone[key], (case.name, key, result[key], alone[key])
    flagged = any(r["verdict"] == "fake" for r in results)
    assert done.returncode == (5 if flagged else 3)


def test_unreadable_file_is_tested_or_says_why(corpus):
    _, cases, usable, prefix = corpus
    if not any(c.needs == "unprivileged" for c in usable):
        pytest.skip("running as root without setpriv able to drop CAP_DAC_OVERRIDE: a chmod-000 "
                    "file stays readable, so 'permission denied' cannot be produced here")
    assert any(c.name == "unreadable.mp4" for c in usable)
