"""A file's sampled frames, decoded in a background thread from before its face search starts.

A batch scan ends each file on one core (the last embeddings, the identity check,
the density) while the other waits; decoding the next file's frames then keeps both
busy (benchmarks/results/scan.md: the batch column). Decoded frames wait in memory
up to `max_bytes` (always at least one frame), so a long 4K video cannot fill it.
The frames, their order, `info` and any error are exactly those of
faces.video.iter_frames: the error is raised where the caller reaches it.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .video import iter_frames

MAX_BYTES = 64 * 2 ** 20   # 93 frames of 640 x 360, 10 of 1080p


class FramesAhead:
    """Starts decoding at construction; iterate once for (frame index, RGB frame)."""

    def __init__(self, path, num_frames: int, max_bytes: int = MAX_BYTES,
                 decode_threads: int | None = None):
        self.path = Path(path)
        self.num_frames = int(num_frames)
        self.max_bytes = int(max_bytes)
        self.decode_threads = decode_threads   # FFmpeg's threads (faces.video.iter_frames)
        self.info: dict = {}
        self._cond = threading.Condition()
        self._items: deque[tuple[int, np.ndarray]] = deque()
        self._bytes = 0
        self._decoded = self._finished = self._stopped = False
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._produce, name="frames-ahead", daemon=True)
        self._thread.start()

    @property
    def buffered(self) -> int:
        """Frames decoded and not yet taken."""
        with self._cond:
            return len(self._items)

    def when_decoded(self, callback: Callable[[], None]) -> None:
        """Call `callback` once every frame is decoded (or decoding failed): at once if that happened
        already, else in the decoding thread before the last frame can be taken."""
        with self._cond:
            if not self._decoded:
                self._callbacks.append(callback)
                return
        callback()

    def _produce(self) -> None:
        frames = iter_frames(self.path, self.num_frames, self.info, decode_threads=self.decode_threads)
        try:
            for item in frames:
                with self._cond:
                    while self._items and self._bytes + item[1].nbytes > self.max_bytes and not self._stopped:
                        self._cond.wait()
                    if self._stopped:
                        return
                    self._items.append(item)
                    self._bytes += item[1].nbytes
                    self._cond.notify_all()
        except BaseException as exc:   # handed to the caller's thread, raised there
            self._error = exc
        finally:
            frames.close()   # releases the capture
            with self._cond:
                self._decoded = True
                callbacks, self._callbacks = self._callbacks, []
            try:
                if not self._stopped:
                    for callback in callbacks:
                        callback()
            finally:   # a failing callback must not leave the caller waiting for the end
                with self._cond:
                    self._finished = True
                    self._cond.notify_all()

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        try:
            while True:
                with self._cond:
                    while not self._items and not self._finished:
                        self._cond.wait()
                    if self._items:
                        item = self._items.popleft()
                        self._bytes -= item[1].nbytes
                        self._cond.notify_all()
                    elif self._error is not None:
                        raise self._error
                    else:
                        return
                yield item
        finally:
            self.close()

    def close(self) -> None:
        """Stop decoding and drop what waits (the caller is done or gave up)."""
        with self._cond:
            self._stopped = True
            self._items.clear()
            self._bytes = 0
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()
