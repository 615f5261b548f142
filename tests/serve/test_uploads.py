"""difffake.serve.uploads: one multipart upload streamed to a private file, through a real
Starlette Request fed chunk by chunk; every refusal's status, code and exact message, and what
is left on disk (nothing, when refused)."""
from __future__ import annotations

import asyncio
import stat

import pytest

pytest.importorskip("starlette", reason="needs the serve extra (pip install -e '.[serve]')")

from starlette.requests import Request

from difffake.serve.uploads import (
    MAX_NAME,
    MULTIPART_SLACK,
    UploadError,
    check_declared_length,
    check_name,
    receive_upload,
)

BOUNDARY = "testboundary42"


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    return (f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: video/mp4\r\n\r\n").encode() \
        + data + b"\r\n"


def body(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def request(data: bytes, chunk: int = 7, ctype: str | None = None, length: str | None = "auto") -> Request:
    """A real Starlette Request whose body arrives in `chunk`-byte messages."""
    headers = [(b"content-type", (ctype if ctype is not None else f"multipart/form-data; boundary={BOUNDARY}").encode())]
    if length == "auto":
        length = str(len(data))
    if length is not None:
        headers.append((b"content-length", length.encode()))
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]
    messages = [{"type": "http.request", "body": p, "more_body": i < len(pieces) - 1} for i, p in enumerate(pieces)]

    async def receive():
        return messages.pop(0)
    return Request({"type": "http", "method": "POST", "path": "/api/scans", "headers": headers}, receive)


def receive(req, dest, limit=1000):
    return asyncio.run(receive_upload(req, dest, limit))


def refused(req, dest, limit=1000) -> UploadError:
    with pytest.raises(UploadError) as exc:
        receive(req, dest, limit)
    assert not dest.exists(), "a refused upload left its file"
    assert str(exc.value) == exc.value.message
    return exc.value


def test_the_file_field_is_streamed_to_a_private_file(tmp_path):
    video = bytes(range(256)) * 3
    data = body(part("note", b"hello"), part("file", video, "my clip (1).mp4"), part("other", b"x" * 50))
    up = receive(request(data, chunk=5), tmp_path / "upload")
    assert (up.path, up.name, up.size) == (tmp_path / "upload", "my clip (1).mp4", len(video))
    assert up.path.read_bytes() == video
    assert stat.S_IMODE(up.path.stat().st_mode) == 0o600


def test_a_second_file_field_is_ignored(tmp_path):
    data = body(part("file", b"first", "a.mp4"), part("file", b"second", "b.mp4"))
    up = receive(request(data), tmp_path / "upload")
    assert (up.name, up.path.read_bytes()) == ("a.mp4", b"first")


def test_a_file_of_exactly_the_limit_is_taken(tmp_path):
    up = receive(request(body(part("file", b"v" * 100, "a.mp4")), chunk=64), tmp_path / "upload", limit=100)
    assert up.size == 100


def test_streamed_over_the_limit_is_413_and_nothing_is_kept(tmp_path):
    data = body(part("file", b"v" * 101, "a.mp4"))
    e = refused(request(data, chunk=64, length=None), tmp_path / "upload", limit=100)
    assert (e.status, e.code, e.message) == (413, "too_large", "upload is over the limit of 100 bytes")


def test_declared_length_over_the_limit_is_413_before_reading(tmp_path):
    limit = 5000
    e = refused(request(b"", length=str(limit + MULTIPART_SLACK + 1)), tmp_path / "upload", limit=limit)
    assert (e.status, e.code) == (413, "too_large")
    assert e.message == f"upload of {limit + MULTIPART_SLACK + 1:,} bytes is over the limit of 5,000 bytes"
    check_declared_length({"content-length": str(limit + MULTIPART_SLACK)}, limit)   # the slack is allowed
    check_declared_length({}, limit)                                                 # chunked: checked later


def test_a_length_that_is_no_number_is_400(tmp_path):
    e = refused(request(b"", length="12 bytes"), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (400, "bad_length", "Content-Length '12 bytes' is not a number")


@pytest.mark.parametrize("ctype", ["video/mp4", "multipart/form-data", "application/x-www-form-urlencoded", ""])
def test_not_multipart_with_a_boundary_is_415(ctype, tmp_path):
    e = refused(request(b"raw video", ctype=ctype), tmp_path / "upload")
    assert (e.status, e.code, e.message) == \
        (415, "not_multipart", "send the video as multipart/form-data in a field named `file`")


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.mp4", "a\\b.mp4", "tab\there.mp4", "..", "."])
def test_a_file_name_that_is_no_plain_name_is_400(name, tmp_path):
    e = refused(request(body(part("file", b"video", name))), tmp_path / "upload")
    assert (e.status, e.code) == (400, "bad_filename")
    assert e.message == f"file name {name!r} is not a plain file name (no folders, no control characters)"


def test_a_text_field_named_file_is_400(tmp_path):
    e = refused(request(body(part("file", b"just text"))), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (400, "not_a_file", "the `file` field must be a file, not a text field")


def test_no_file_field_is_400(tmp_path):
    e = refused(request(body(part("video", b"bytes", "a.mp4"))), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (400, "no_file", "no complete `file` field in the form")


def test_an_empty_file_is_400(tmp_path):
    e = refused(request(body(part("file", b"", "empty.mp4"))), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (400, "empty_file", "the uploaded file is empty")


def test_other_fields_over_64_kib_are_413(tmp_path):
    data = body(part("junk", b"j" * (MULTIPART_SLACK + 1)), part("file", b"video", "a.mp4"))
    e = refused(request(data, chunk=4096, length=None), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (413, "too_large", "form fields other than `file` are over 64 KiB")


def test_a_body_cut_inside_the_file_is_not_a_complete_file(tmp_path):
    data = part("file", b"video bytes", "a.mp4")   # no closing boundary: the part never ends
    e = refused(request(data), tmp_path / "upload")
    assert (e.status, e.code, e.message) == (400, "no_file", "no complete `file` field in the form")   # half kept: removed


def test_a_malformed_body_is_400_naming_the_parser_error(tmp_path):
    e = refused(request(b"this is not multipart at all\r\n"), tmp_path / "upload")
    assert (e.status, e.code) == (400, "bad_multipart")
    assert e.message.startswith("malformed multipart body (MultipartParseError: ") and e.message.endswith(")")


def test_check_name_takes_plain_names_and_quotes_refused_ones_cut_short():
    for name in ("clip.mp4", "видео 2.MOV", "a" * MAX_NAME, "...mp4", "-x.mp4"):
        assert check_name(name) == name
    for name in ("", "a" * (MAX_NAME + 1), "a\x00b", "new\nline", "/abs.mp4"):
        with pytest.raises(UploadError) as exc:
            check_name(name)
        assert exc.value.status == 400 and exc.value.message.startswith(f"file name {name[:80]!r} is not")
