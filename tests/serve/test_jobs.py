"""difffake.serve.jobs: a real JobManager with real worker threads running a small scan function
of the test's own. Every test stops its manager and checks that no 'difffake-scan' thread is left.

Waiting is done with a barrier job (one worker takes jobs in order, so when the barrier job
starts, every job before it has finished), never with sleeps."""
from __future__ import annotations

import stat
import threading
import time

import pytest

from difffake.serve.jobs import STAGE_WEIGHTS, Job, JobManager

WAIT = 60   # a guard only: a finished test never waits this long


def scan_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("difffake-scan") and t.is_alive()]


class Scanner:
    """The `run(job, progress)` of these tests: the job's name says what it does. A job named
    'barrier...' signals that it started and waits until the test opens its gate."""

    def __init__(self):
        self.ran: list[str] = []
        self.gates: dict[str, tuple[threading.Event, threading.Event]] = {}
        self.warmed = 0

    def gate(self, name: str):
        return self.gates.setdefault(name, (threading.Event(), threading.Event()))

    def open_all(self):
        for _, release in self.gates.values():
            release.set()

    def __call__(self, job, progress):
        self.ran.append(job.name)
        if job.name.startswith("barrier"):
            entered, release = self.gate(job.name)
            entered.set()
            assert release.wait(WAIT), "the test never released the barrier job"
            return
        if job.name.startswith("boom"):
            raise ValueError("bad frame")
        progress("faces", 2, 4)
        seen = (job.stage, job.stage_done, job.stage_total, job.progress)
        progress("score", 1, 1)
        (job.folder / "report.html").write_text("<html>report</html>")
        job.result, job.evidence, job.accuracy = {"verdict": "real", "seen": seen}, {"sha256": "ab"}, [("AUC", 0.9)]


@pytest.fixture
def managers(tmp_path):
    """make(**kw) -> (JobManager, Scanner); whatever a test leaves running is released and stopped."""
    made = []

    def make(scanner=None, **kw):
        scanner = scanner or Scanner()
        root = tmp_path / f"root{len(made)}"
        root.mkdir()
        m = JobManager(root, scanner, **kw)
        made.append((m, scanner))
        return m, scanner

    yield make
    for m, scanner in made:
        scanner.open_all()
        m.stop()
    assert scan_threads() == []


def stop(manager) -> None:
    manager.stop()
    assert scan_threads() == [], "a worker thread outlived JobManager.stop()"


def queue_job(manager, name: str, upload: bool = True) -> Job:
    job = manager.reserve()
    assert job is not None
    job.name = name
    if upload:
        job.upload = job.folder / "upload"
        job.upload.write_bytes(b"video bytes")
    manager.submit(job)
    return job


def wait_for_barrier(manager, scanner, name: str = "barrier") -> Job:
    """Queue a barrier job and wait until it runs: every job queued before it is finished."""
    barrier = queue_job(manager, name, upload=False)
    assert scanner.gate(name)[0].wait(WAIT), f"the worker never reached {name}"
    return barrier


def test_a_job_runs_to_done_and_keeps_only_its_report(managers):
    m, scanner = managers(workers=1)
    assert len(scan_threads()) == 1
    job = m.reserve()
    assert (job.state, job.progress) == ("uploading", 0.0)
    assert stat.S_IMODE(job.folder.stat().st_mode) == 0o700 and job.folder.parent == m.root
    job.name, job.upload = "clip.mp4", job.folder / "upload"
    job.upload.write_bytes(b"video bytes")
    m.submit(job)
    wait_for_barrier(m, scanner)
    assert m.get(job.id) is job
    assert (job.state, job.progress, job.error) == ("done", 1.0, None)
    assert job.result["seen"] == ("faces", 2, 4, round(STAGE_WEIGHTS["decode"] + STAGE_WEIGHTS["faces"] / 2, 3))
    assert (job.stage, job.stage_done, job.stage_total) == ("score", 1, 1)
    assert not job.upload.exists()                           # the video is not kept once scanned
    assert sorted(p.name for p in job.folder.iterdir()) == ["report.html"]
    d = job.public()
    assert d["state"] == "done" and d["result"]["verdict"] == "real" and d["evidence"] == {"sha256": "ab"}
    assert d["model_accuracy"] == [{"label": "AUC", "value": 0.9}] and "error" not in d
    assert d["seconds"] == job.finished - job.started >= 0 and d["stages"] == ["decode", "faces", "embed", "score"]
    folder = job.folder
    scanner.open_all()
    stop(m)
    assert not folder.exists() and m.get(job.id) is None    # stop removes every job's folder


def test_a_failing_job_is_failed_with_its_reason_and_the_worker_goes_on(managers):
    m, scanner = managers(workers=1)
    bad, good = queue_job(m, "boom.mp4"), queue_job(m, "ok.mp4")
    wait_for_barrier(m, scanner)
    assert (bad.state, bad.error, bad.result) == ("failed", "boom.mp4: ValueError: bad frame", None)
    assert not bad.upload.exists()                           # removed even when the scan raised
    d = bad.public()
    assert d["error"] == "boom.mp4: ValueError: bad frame" and "result" not in d and d["progress"] == 0.0
    assert good.state == "done" and scanner.ran == ["boom.mp4", "ok.mp4", "barrier"]
    scanner.open_all()
    stop(m)


def test_a_full_queue_refuses_until_a_slot_is_freed(managers):
    m, _ = managers(workers=1, queue_size=1, start=False)    # no worker: reserved jobs stay
    assert scan_threads() == []
    a, b = m.reserve(), m.reserve()
    assert a and b and m.reserve() is None                   # capacity = workers + queue
    assert m.retry_after() == 20                             # 10 s a job before any ran, 2 ahead, 1 worker
    m.fail_upload(a)
    assert not a.folder.exists() and m.get(a.id) is None
    c = m.reserve()
    assert c is not None and c.id not in (a.id, b.id)
    stop(m)
    assert not b.folder.exists() and not c.folder.exists()


def test_retry_after_uses_the_mean_of_finished_jobs_per_worker(managers):
    m, scanner = managers(workers=1)
    queue_job(m, "ok.mp4")
    wait_for_barrier(m, scanner)
    assert len(m._durations) == 1
    assert m._durations[0] < 0.5 and m.retry_after() == 1   # a job took ms (the barrier is the 1 ahead): 1 s at least
    scanner.open_all()
    stop(m)
    m2, _ = managers(workers=3, queue_size=3, start=False)
    for _ in range(6):
        m2.reserve()
    assert m2.retry_after() == 20                            # 10 s x 6 ahead / 3 workers
    stop(m2)


def test_a_queued_job_deleted_before_its_turn_is_never_run(managers):
    m, scanner = managers(workers=1)
    wait_for_barrier(m, scanner, "barrier1")                 # the worker is busy: the next job waits
    gone = queue_job(m, "deleted.mp4")
    assert gone.state == "queued"
    assert m.delete(gone.id) and gone.deleted and not gone.folder.exists()   # removed at once
    assert m.delete(gone.id) is False and m.delete("0" * 32) is False
    scanner.gate("barrier1")[1].set()
    wait_for_barrier(m, scanner, "barrier2")
    assert scanner.ran == ["barrier1", "barrier2"]            # the deleted job was skipped
    scanner.open_all()
    stop(m)


def test_a_running_job_deleted_keeps_its_folder_until_the_worker_is_done(managers):
    m, scanner = managers(workers=1)
    running = wait_for_barrier(m, scanner, "barrier1")
    assert running.state == "running"
    assert m.delete(running.id) and m.get(running.id) is None
    assert running.folder.exists()                           # the worker may still write there
    scanner.gate("barrier1")[1].set()
    wait_for_barrier(m, scanner, "barrier2")                  # barrier1 is finished now
    assert running.state == "done" and not running.folder.exists()
    scanner.open_all()
    stop(m)


def test_finished_jobs_expire_after_the_retention(managers):
    m, _ = managers(workers=1, retention_s=3600, start=False)
    old, fresh, running = m.reserve(), m.reserve(), m.reserve()
    old.state, old.finished = "done", time.time() - 3601
    fresh.state, fresh.finished = "done", time.time()
    running.state = "running"
    assert m.get(fresh.id) is fresh and m.get(old.id) is None
    assert not old.folder.exists() and fresh.folder.exists() and running.folder.exists()
    stop(m)


def test_a_failing_warm_up_does_not_stop_the_worker(managers):
    class Warming(Scanner):
        def warm(self):
            self.warmed += 1
            raise RuntimeError("no detector yet")

    m, scanner = managers(Warming(), workers=2)
    assert sorted(scan_threads()) == ["difffake-scan-0", "difffake-scan-1"]
    job = queue_job(m, "ok.mp4")
    barrier = wait_for_barrier(m, scanner)
    scanner.open_all()
    stop(m)   # two workers, two stop signals: both threads end
    assert scanner.warmed == 2 and job.state == "done" and barrier.state == "done"


def test_start_twice_adds_no_thread_and_stop_without_workers_is_fine(managers):
    m, _ = managers(workers=2, start=False)
    m.start()
    m.start()
    assert sorted(scan_threads()) == ["difffake-scan-0", "difffake-scan-1"]
    stop(m)
    m2, _ = managers(workers=1, start=False)
    stop(m2)


@pytest.mark.parametrize("stage, done, total, want", [
    (None, 0, 0, 0.0), ("decode", 1, 2, 0.025), ("faces", 3, 6, 0.35), ("embed", 0, 0, 0.65),
    ("score", 1, 1, 1.0)])
def test_progress_weights_the_stages(stage, done, total, want, tmp_path):
    job = Job(id="x", folder=tmp_path, state="running", stage=stage, stage_done=done, stage_total=total)
    assert job.progress == want
    assert Job(id="x", folder=tmp_path, state="done").progress == 1.0
    assert sum(STAGE_WEIGHTS.values()) == pytest.approx(1.0)
