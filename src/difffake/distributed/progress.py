"""Progress across the cluster: done / failed / rate / ETA as a bar on a
terminal, as a log line every `every` seconds when piped."""
from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("difffake.distributed")


class Progress:
    def __init__(self, total: int | None, desc: str, every: float = 30.0, stream=None):
        self.total, self.desc, self.every = total, desc, every
        self.stream = stream or sys.stderr
        self.done = self.failed = self.skipped = 0
        self.t0 = self.last = time.monotonic()
        self.bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="video", file=self.stream)

    def skip(self, n: int = 1) -> None:
        """Inputs already in the output: counted against the total, not the rate."""
        self.skipped += n
        if self.bar is not None:
            self.bar.update(n)

    def update(self, status: str) -> None:
        self.done += 1
        self.failed += status == "error"
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(self.summary(short=True), refresh=False)
        elif time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            log.info("%s: %s", self.desc, self.summary())

    def rate(self) -> float:
        """Videos per minute over this run."""
        elapsed = time.monotonic() - self.t0
        return 60.0 * self.done / elapsed if elapsed > 0 else 0.0

    def summary(self, short: bool = False) -> str:
        rate = self.rate()
        left = None if self.total is None else max(0, self.total - self.done - self.skipped)
        eta = "?" if not rate or left is None else _clock(60.0 * left / rate)
        if short:
            return f"failed {self.failed}, {rate:.1f}/min, ETA {eta}"
        of = "" if self.total is None else f"/{self.total}"
        return (f"{self.done + self.skipped}{of} done ({self.skipped} already written), {self.failed} failed, "
                f"{rate:.1f} videos/min, ETA {eta}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        log.info("%s: %s in %s", self.desc, self.summary(), _clock(time.monotonic() - self.t0))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
