"""Scan jobs: a bounded queue, worker threads, progress by stage, retention.

A slot is reserved BEFORE an upload is read, so a full server answers 429 at
once instead of after receiving gigabytes. Each job owns a private folder
(the upload, then the report); the upload is deleted as soon as it is scanned,
the folder when the job is deleted or expires.
"""
from __future__ import annotations

import logging
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..scanning import STAGES

log = logging.getLogger("difffake.serve")

# share of a scan's time each stage takes (measured: faces and embed dominate), for one progress number
STAGE_WEIGHTS = {"decode": 0.05, "faces": 0.6, "embed": 0.3, "score": 0.05}


@dataclass
class Job:
    id: str
    folder: Path
    name: str = ""
    state: str = "uploading"        # uploading | queued | running | done | failed
    stage: str | None = None
    stage_done: int = 0
    stage_total: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    result: dict | None = None
    evidence: dict | None = None
    error: str | None = None
    upload: Path | None = None
    probed: object = None            # Evidence from the content check
    accuracy: list | None = None     # (label, value) rows of the model card's measured accuracy
    deleted: bool = False

    @property
    def progress(self) -> float:
        if self.state == "done":
            return 1.0
        if self.stage is None:
            return 0.0
        i = STAGES.index(self.stage)
        before = sum(STAGE_WEIGHTS[s] for s in STAGES[:i])
        share = self.stage_done / self.stage_total if self.stage_total else 0.0
        return round(before + STAGE_WEIGHTS[self.stage] * share, 3)

    def public(self) -> dict:
        d = {"id": self.id, "name": self.name, "state": self.state, "progress": self.progress,
             "stage": self.stage, "stage_done": self.stage_done, "stage_total": self.stage_total,
             "stages": list(STAGES), "created": self.created, "started": self.started,
             "finished": self.finished, "seconds": (self.finished - self.started)
             if self.finished and self.started else None}
        if self.state == "done":
            d["result"], d["evidence"] = self.result, self.evidence
            d["model_accuracy"] = [{"label": k, "value": v} for k, v in (self.accuracy or [])]
        if self.error:
            d["error"] = self.error
        return d


class JobManager:
    """run(job, progress) does the scan and fills job.result; it runs on a worker thread."""

    def __init__(self, root: Path, run: Callable, workers: int = 1, queue_size: int = 4,
                 retention_s: float = 24 * 3600, start: bool = True):
        self.root, self._run = Path(root), run
        self.workers, self.capacity = workers, workers + queue_size
        self.retention_s = retention_s
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._durations: list[float] = []
        if start:
            self.start()

    # -------------------------------------------------------------- lifecycle
    def start(self) -> None:
        for k in range(self.workers - len(self._threads)):
            t = threading.Thread(target=self._work, name=f"difffake-scan-{k}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=30)
        with self._lock:
            for job in list(self._jobs.values()):
                shutil.rmtree(job.folder, ignore_errors=True)
            self._jobs.clear()

    # ------------------------------------------------------------------ slots
    def _active(self) -> int:
        return sum(j.state in ("uploading", "queued", "running") for j in self._jobs.values())

    def reserve(self) -> Job | None:
        """A new job in state 'uploading' with its private folder, or None when the queue is full."""
        self.sweep()
        with self._lock:
            if self._active() >= self.capacity:
                return None
            job_id = secrets.token_hex(16)
            folder = self.root / job_id
            folder.mkdir(mode=0o700)
            job = Job(id=job_id, folder=folder)
            self._jobs[job_id] = job
            return job

    def retry_after(self) -> int:
        """Seconds a client should wait: the mean job time times the jobs ahead, per worker."""
        mean = sum(self._durations[-20:]) / len(self._durations[-20:]) if self._durations else 10.0
        with self._lock:
            ahead = self._active()
        return max(1, int(round(mean * max(1, ahead) / self.workers)))

    def submit(self, job: Job) -> None:
        with self._lock:
            job.state = "queued"
        self._queue.put(job.id)

    def fail_upload(self, job: Job) -> None:
        """An upload that was refused: its job and folder disappear."""
        self.delete(job.id)

    # ---------------------------------------------------------------- access
    def get(self, job_id: str) -> Job | None:
        self.sweep()
        with self._lock:
            return self._jobs.get(job_id)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is None:
                return False
            job.deleted = True
            running = job.state == "running"
        if not running:  # a running job's worker removes the folder when it finishes
            shutil.rmtree(job.folder, ignore_errors=True)
        return True

    def sweep(self) -> None:
        """Delete finished jobs older than the retention."""
        now = time.time()
        with self._lock:
            old = [j.id for j in self._jobs.values()
                   if j.finished is not None and now - j.finished >= self.retention_s]
        for job_id in old:
            self.delete(job_id)

    # ---------------------------------------------------------------- worker
    def _work(self) -> None:
        warm = getattr(self._run, "warm", None)
        if warm is not None:
            try:
                warm()
            except Exception:  # the first job will retry and report the failure in its state
                log.exception("worker warm-up failed")
        while not self._stop.is_set():
            try:
                job_id = self._queue.get(timeout=min(60.0, max(1.0, self.retention_s)))
            except queue.Empty:   # idle: results still expire on time
                self.sweep()
                continue
            if job_id is None:
                return
            with self._lock:
                job = self._jobs.get(job_id)
                if job is None or job.deleted:
                    continue
                job.state, job.started = "running", time.time()

            def progress(stage: str, done: int, total: int, job=job) -> None:
                job.stage, job.stage_done, job.stage_total = stage, done, total

            try:
                self._run(job, progress)
                state, error = "done", None
            except Exception as exc:  # one bad job never stops the worker
                log.exception("job %s (%s) failed", job.id, job.name)
                state, error = "failed", f"{job.name}: {type(exc).__name__}: {exc}"
            finally:
                if job.upload is not None:
                    job.upload.unlink(missing_ok=True)   # the video is not kept once scanned
            with self._lock:
                job.state, job.error, job.finished = state, error, time.time()
                self._durations.append(job.finished - job.started)
                gone = job.deleted
            if gone:
                shutil.rmtree(job.folder, ignore_errors=True)
