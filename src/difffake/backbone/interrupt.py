"""Stop a training run cleanly on SIGINT / SIGTERM: at the next step boundary.

The first signal only sets a flag; the training loop checks it after each
optimizer step (and between validation batches), saves a resumable state
(last.safetensors with the counters in its header, and last.json: each
replaced atomically, see backbone.checkpoints) and raises TrainingInterrupted.
A stop during validation saves the epoch's steps; the resumed run validates
that epoch first. A second SIGINT stops at
once (KeyboardInterrupt), losing the steps since the last save. Exit status,
as a shell reports a process ended by the signal: 128 + its number
(130 for SIGINT, 143 for SIGTERM).
"""
from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state; `step` is the step saved."""

    def __init__(self, signum: int, step: int, total: int, saved):
        self.signum, self.step, self.total, self.saved = signum, step, total, saved
        super().__init__(f"{signal.Signals(signum).name}: stopped at step {step}/{total}, state saved in {saved}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopOnSignal:
    """Context manager: while active, SIGINT / SIGTERM request a stop instead of killing."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def requested(self) -> bool:
        return self.signum is not None

    def _handle(self, signum, frame) -> None:
        if self.signum is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt   # second Ctrl-C: stop now
        self.signum = signum
        log.warning("%s: stopping after the current step and saving a resumable state "
                    "(Ctrl-C again stops at once, losing the steps since the last save)",
                    signal.Signals(signum).name)

    def __enter__(self) -> StopOnSignal:
        # Signal handlers can only be set from the main thread; elsewhere, no clean stop.
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def ignore_stop_signals(worker_id: int) -> None:
    """DataLoader worker_init_fn: the main process alone handles the stop; a worker
    killed by the terminal's Ctrl-C would make the main process fail instead."""
    for sig in StopOnSignal.SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
