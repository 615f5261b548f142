"""difffake.identity.descriptor_worker: the helper's loop over its wire format (in this process,
on byte streams) and the parent's side with a real helper process: the same descriptors as
dlib in this process, and no future left waiting, and no thread left, once the helper is gone."""
from __future__ import annotations

import io
import os
import signal
import struct
import threading
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np
import pytest

from difffake.identity.descriptor_worker import DescriptorProcess, serve
from difffake.identity.embedder import DESCRIPTOR_SIZE, DlibIdentityEmbedder

WAIT = 60   # a guard only


@pytest.fixture(scope="module")
def embedder():
    return DlibIdentityEmbedder()


@pytest.fixture(scope="module")
def faces(tiny_store):
    """(crop, landmarks) of three frames of a real store entry."""
    rec = tiny_store.load("astro_0.mp4")
    return [(rec.crops[i], rec.landmarks[i].astype(np.float32)) for i in rec.face_positions()[:3]]


def request(req_id: int, crop, landmarks) -> bytes:
    h, w = crop.shape[:2]
    return (struct.pack("<qII", req_id, h, w) + np.ascontiguousarray(crop, np.uint8).tobytes()
            + np.ascontiguousarray(landmarks, "<f4").tobytes())


def replies(data: bytes) -> list[tuple[int, np.ndarray]]:
    size = 8 + 4 * DESCRIPTOR_SIZE
    assert len(data) % size == 0, len(data)
    return [(struct.unpack("<q", data[k:k + 8])[0], np.frombuffer(data[k + 8:k + size], "<f4"))
            for k in range(0, len(data), size)]


def helper_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("identity-") and t.is_alive()]


def test_serve_answers_each_request_in_order_with_dlibs_descriptor(embedder, faces):
    out = io.BytesIO()
    stdin = io.BytesIO(b"".join(request(i, c, lm) for i, (c, lm) in zip((7, 3, 123456789012), faces)))
    assert serve(embedder.settings(), stdin, out) == 0
    got = replies(out.getvalue())
    assert [i for i, _ in got] == [7, 3, 123456789012]
    for (_, desc), (crop, lm) in zip(got, faces):
        np.testing.assert_array_equal(desc, embedder.descriptor(crop, lm))
    assert not np.array_equal(got[0][1], got[1][1])   # three frames, three descriptors


def test_serve_stops_with_1_on_a_cut_request_and_with_0_on_a_closed_pipe(embedder, faces):
    crop, lm = faces[0]
    whole = request(1, crop, lm)
    out = io.BytesIO()
    assert serve(embedder.settings(), io.BytesIO(whole + whole[:100]), out) == 1
    assert [i for i, _ in replies(out.getvalue())] == [1]   # the whole request answered, the cut one not
    out = io.BytesIO()
    assert serve(embedder.settings(), io.BytesIO(whole[:-1]), out) == 1 and out.getvalue() == b""
    assert serve(embedder.settings(), io.BytesIO(b""), out) == 0 and out.getvalue() == b""


def test_the_helper_process_gives_dlibs_descriptors_and_closes_cleanly(embedder, faces):
    helper = DescriptorProcess(embedder.settings())
    try:
        futures = [helper.submit(c, lm) for c, lm in faces]
        for future, (crop, lm) in zip(futures, faces):
            np.testing.assert_array_equal(future.result(timeout=WAIT), embedder.descriptor(crop, lm))
        assert futures[0].result().dtype == np.float32 and futures[0].result().shape == (DESCRIPTOR_SIZE,)
    finally:
        helper.close()
    assert helper._proc.returncode == 0       # stdin closed: the helper's loop ended on its own
    assert helper_threads() == []


def test_a_helper_that_dies_fails_what_is_pending_and_what_comes_after(embedder, faces):
    crop, lm = faces[0]
    helper = DescriptorProcess(embedder.settings())
    try:
        os.kill(helper._proc.pid, signal.SIGSTOP)   # frozen: the request below cannot be answered
        pending = helper.submit(crop, lm)
        os.kill(helper._proc.pid, signal.SIGKILL)
        helper._proc.wait(timeout=WAIT)
        with pytest.raises(RuntimeError, match="the identity helper process ended"):
            pending.result(timeout=WAIT)
        helper._reader.join(timeout=WAIT)
        later = helper.submit(crop, lm)            # it used to wait forever: nobody was left to answer
        try:
            exc = later.exception(timeout=10)
        except FutureTimeout:
            pytest.fail("a descriptor asked for after the helper died never came, nor an error")
        assert isinstance(exc, RuntimeError) and str(exc) == "the identity helper process ended"
    finally:
        helper.close()
    assert helper._proc.returncode == -signal.SIGKILL
    assert helper_threads() == [], "close() left the helper's threads behind"


def test_closing_after_the_helper_died_while_idle_leaves_no_thread(embedder, faces):
    crop, lm = faces[0]
    helper = DescriptorProcess(embedder.settings())
    try:
        assert helper.submit(crop, lm).result(timeout=WAIT).shape == (DESCRIPTOR_SIZE,)
        helper._proc.kill()                        # nothing in flight: the writer waits for work
        helper._proc.wait(timeout=WAIT)
    finally:
        helper.close()
    assert helper_threads() == [], "the writer thread outlived close()"   # it waited on its queue forever
