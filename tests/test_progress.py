"""Progress off a terminal is periodic whole lines (a log gets them), and -q silences it."""
import io

from difffake import progress


class Pipe(io.StringIO):
    def isatty(self):
        return False


def test_piped_progress_is_whole_lines_with_counts(monkeypatch):
    monkeypatch.setenv("DIFFFAKE_PROGRESS_SECONDS", "0")
    out = Pipe()
    b = progress.bar(total=3, desc="embed real", unit="video", stream=out)
    for _ in range(3):
        b.update(1)
    b.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert lines[0].startswith("embed real: 0/3 video")
    assert any(line.startswith("embed real: 3/3 video") for line in lines)
    assert len(lines) >= 4   # one per update with a zero interval


def test_piped_progress_waits_for_its_interval(monkeypatch):
    monkeypatch.setenv("DIFFFAKE_PROGRESS_SECONDS", "3600")
    out = Pipe()
    for _ in progress.bar(range(50), desc="x", stream=out):
        pass
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("x: 0/50") and lines[-1].startswith("x: 50/50")
    assert len(lines) <= 3   # the start, the end (and the close), not 50 redraws


def test_quiet_prints_nothing(monkeypatch):
    monkeypatch.setattr(progress, "QUIET", True)
    out = Pipe()
    b = progress.bar(total=2, desc="x", stream=out)
    b.update(2)
    b.close()
    assert out.getvalue() == ""


def test_bad_interval_falls_back_to_ten_seconds(monkeypatch):
    monkeypatch.setenv("DIFFFAKE_PROGRESS_SECONDS", "soon")
    assert progress.piped_interval() == 10.0


def _prepare(tmp_path, *flags):
    import subprocess
    import sys

    import cv2
    from skimage import data

    tmp_path.mkdir(parents=True, exist_ok=True)
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return subprocess.run([sys.executable, "-m", "difffake", *flags, "prepare", str(image),
                           "--store", str(tmp_path / "store")], capture_output=True, text=True, timeout=300)


def test_cli_prepare_prints_progress_lines_when_piped_and_none_with_quiet(tmp_path):
    loud = _prepare(tmp_path / "a")
    assert loud.returncode == 0, loud.stderr
    assert "prepare: 1/1 video" in loud.stderr
    quiet = _prepare(tmp_path / "b", "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert "prepare: 1/1 video" not in quiet.stderr
    assert "1 inputs" in quiet.stdout   # the summary is a result, not progress


def test_bars_start_no_monitor_thread(monkeypatch):
    import threading

    monkeypatch.setenv("DIFFFAKE_PROGRESS_SECONDS", "0")
    before = {t.ident for t in threading.enumerate()}
    b = progress.bar(total=2, desc="x", stream=Pipe())
    b.update(2)
    started = [t.name for t in threading.enumerate() if t.ident not in before]
    b.close()
    assert started == []   # tqdm's monitor would be 'tqdm_monitor'
