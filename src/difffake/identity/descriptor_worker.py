"""A helper process that computes dlib identity descriptors, fed over a pipe.

A plain child process (`python -P -m difffake.identity.descriptor_worker`), not
multiprocessing: a spawned multiprocessing child re-runs the caller's main
script, which breaks any user script without a `__main__` guard. `-P` keeps
modules in the working folder from being imported.

Wire format, little-endian. Request: int64 id, uint32 height, uint32 width,
then height*width*3 bytes of RGB crop and 68*2 float32 landmarks (crop pixels).
Reply: int64 id, then 128 float32 (NaN where dlib failed on that face).
"""
from __future__ import annotations

import json
import logging
import queue
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future

import numpy as np

from .embedder import DESCRIPTOR_SIZE

log = logging.getLogger("difffake.identity")
_REQUEST = struct.Struct("<qII")
_REPLY_ID = struct.Struct("<q")
_LANDMARK_BYTES = 68 * 2 * 4
_DESC_BYTES = DESCRIPTOR_SIZE * 4


def _read_exact(stream, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def serve(settings: dict, stdin=None, stdout=None) -> int:
    """The worker's loop: one reply per request, until stdin closes."""
    from .embedder import DlibIdentityEmbedder

    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    embedder = DlibIdentityEmbedder(max_frames=settings["max_frames"], min_face_px=settings["min_face_px"],
                                    padding=settings["padding"])
    while (head := _read_exact(stdin, _REQUEST.size)) is not None:
        req_id, h, w = _REQUEST.unpack(head)
        crop = _read_exact(stdin, h * w * 3)
        lms = _read_exact(stdin, _LANDMARK_BYTES)
        if crop is None or lms is None:
            return 1
        try:
            desc = embedder.descriptor(np.frombuffer(crop, np.uint8).reshape(h, w, 3),
                                       np.frombuffer(lms, np.float32).reshape(68, 2))
        except RuntimeError as exc:   # dlib's own failure on an odd face: that row says NaN
            log.warning("identity descriptor failed: %s", exc)
            desc = np.full(DESCRIPTOR_SIZE, np.nan, np.float32)
        stdout.write(_REPLY_ID.pack(req_id) + np.asarray(desc, "<f4").tobytes())
        stdout.flush()
    return 0


class DescriptorProcess:
    """The parent's side: `submit(crop, landmarks)` returns a Future of the descriptor.

    A writer thread feeds the pipe (a crop is larger than the pipe's buffer, and the
    caller must not wait for the worker); a reader thread resolves the futures.
    """

    def __init__(self, settings: dict):
        self._proc = subprocess.Popen([sys.executable, "-P", "-m", __name__, json.dumps(settings)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._futures: dict[int, Future] = {}
        self._ended = False   # the reader saw the helper end: nothing submitted after can be answered
        self._lock = threading.Lock()
        self._next = 0
        self._outbox: queue.Queue = queue.Queue()
        self._writer = threading.Thread(target=self._write_loop, name="identity-writer", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="identity-reader", daemon=True)
        self._writer.start()
        self._reader.start()

    def submit(self, crop: np.ndarray, landmarks: np.ndarray) -> Future:
        crop = np.ascontiguousarray(crop, np.uint8)
        future: Future = Future()
        with self._lock:
            if self._ended:
                future.set_exception(RuntimeError("the identity helper process ended"))
                return future
            req_id, self._next = self._next, self._next + 1
            self._futures[req_id] = future
        h, w = crop.shape[:2]
        self._outbox.put(_REQUEST.pack(req_id, h, w) + crop.tobytes()
                         + np.ascontiguousarray(landmarks, "<f4").tobytes())
        return future

    def _write_loop(self) -> None:
        while (msg := self._outbox.get()) is not None:
            try:
                self._proc.stdin.write(msg)
                self._proc.stdin.flush()
            except OSError as exc:   # the worker is gone: the reader fails what is pending
                log.warning("identity helper process: %s", exc)
                return
        self._proc.stdin.close()

    def _read_loop(self) -> None:
        out = self._proc.stdout
        while (head := _read_exact(out, _REPLY_ID.size)) is not None:
            body = _read_exact(out, _DESC_BYTES)
            if body is None:
                break
            with self._lock:
                future = self._futures.pop(_REPLY_ID.unpack(head)[0], None)
            if future is not None:
                future.set_result(np.frombuffer(body, "<f4").astype(np.float32))
        with self._lock:   # the worker ended: nothing pending (or submitted later) may wait forever
            pending, self._futures, self._ended = list(self._futures.values()), {}, True
        for future in pending:
            if not future.done():
                future.set_exception(RuntimeError("the identity helper process ended"))

    def close(self) -> None:
        """End the worker and both threads (the writer waits on its queue even after the worker died)."""
        self._outbox.put(None)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._writer.join(timeout=5)
        self._reader.join(timeout=5)
        for stream in (self._proc.stdin, self._proc.stdout):
            if not stream.closed:
                stream.close()


if __name__ == "__main__":
    sys.exit(serve(json.loads(sys.argv[1])))
