"""A real uvicorn server on a free loopback port, in a thread, for the serve tests."""
from __future__ import annotations

import contextlib
import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(app, timeout: float = 30.0):
    """Yield the base URL of `app` served by uvicorn on 127.0.0.1; stopped and joined on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_done(client, scan_id: str, timeout: float = 120.0) -> dict:
    """Poll GET /api/scans/{id} until done or failed; the last body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/api/scans/{scan_id}")
        assert r.status_code == 200, r.text
        body = r.json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"scan {scan_id} not finished after {timeout} s: {body}")


def multipart_stream(name: str, total: int, chunk: int = 1 << 20, boundary: str = "difffakeboundary"):
    """(content type, generator) of a multipart body whose `file` holds `total` zero bytes, made on the fly."""
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent = {"bytes": 0}

    def gen():
        yield head
        block = bytes(chunk)
        left = total
        while left > 0:
            piece = block[:min(chunk, left)]
            left -= len(piece)
            sent["bytes"] += len(piece)
            yield piece
        yield tail
    return f"multipart/form-data; boundary={boundary}", gen(), sent, len(head) + total + len(tail)


def faststart_copy(src, dst):
    """The same video with its index (moov) first, as phones and web encoders write it (PyAV remux)."""
    import av

    with av.open(str(src)) as i, av.open(str(dst), "w", options={"movflags": "faststart"}) as o:
        s = i.streams.video[0]
        out = o.add_stream_from_template(s)
        for p in i.demux(s):
            if p.dts is not None:
                p.stream = out
                o.mux(p)
    return dst
