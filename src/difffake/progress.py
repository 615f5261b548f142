"""Progress of long work: a tqdm bar on a terminal, periodic plain lines when piped or logged.

tqdm alone either hides itself when stderr is not a terminal (disable=None) or fills a
log with carriage-return redraws. `bar()` keeps tqdm's counting and rates and, off a
terminal, writes one line every `DIFFFAKE_PROGRESS_SECONDS` (default 10) instead:
"embed real: 40/593 video [00:21<04:52, 1.89 video/s]".
`-q` (QUIET) silences both; results and errors are never progress.
"""
from __future__ import annotations

import os
import sys

QUIET = False   # set by `difffake -q`
LINE_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


def piped_interval() -> float:
    """Seconds between two progress lines off a terminal (DIFFFAKE_PROGRESS_SECONDS)."""
    raw = os.environ.get("DIFFFAKE_PROGRESS_SECONDS", "10")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    return value if value >= 0 else 10.0


class LineStream:
    """A file for tqdm off a terminal: each redraw becomes one whole line, nothing else."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip("\n")
        if line.strip():
            self.stream.write(line + "\n")
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def bar(iterable=None, *, total=None, desc: str = "", unit: str = "it", stream=None, enabled: bool = True,
        initial: int = 0):
    """A tqdm progress bar (same `update`/`write`/`close`), lines when `stream` is not a terminal."""
    from tqdm import tqdm

    # No tqdm monitor thread: it only retunes miniters, and a thread that lives for the whole
    # process is there when DataLoader workers fork and when the interpreter shuts down
    # (both crashed in the test suite with it).
    tqdm.monitor_interval = 0
    stream = stream or sys.stderr
    if QUIET or not enabled:
        return tqdm(iterable, total=total, desc=desc, unit=unit, disable=True, initial=initial)
    if is_terminal(stream):
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, initial=initial)
    interval = piped_interval()
    # tqdm prints at its first update and at close; between them at most once per interval
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=LineStream(stream), initial=initial,
                mininterval=interval, maxinterval=max(interval, 1.0), miniters=1, ascii=True,
                bar_format=LINE_FORMAT)
