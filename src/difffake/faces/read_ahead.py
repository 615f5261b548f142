"""Decode the next frame while the current one is searched for a face.

OpenCV releases the GIL while it seeks and decodes, so a second thread that
runs the frame generator overlaps decoding with face detection on another core.
At most `depth` decoded frames wait in the queue (plus the one being decoded and
the one being searched), so memory stays bounded for large frames. The frames,
their order and any error raised by the generator are exactly those of
iterating it directly.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Iterate `items` in a background thread, `depth` items ahead of the caller."""
    box: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    break
        except BaseException as exc:   # handed to the caller's thread, raised there
            put((_DONE, exc))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()   # the generator's own cleanup (e.g. releasing the capture) runs here
        put((_DONE, None))

    worker = threading.Thread(target=produce, name="frame-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = box.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()   # the caller stopped early (or is done): let the producer end
        worker.join()
