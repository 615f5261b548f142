"""Receive one multipart upload (field `file`) by streaming it to a private file.

Starlette's own form parsing spools the whole body before the handler runs, so a
3 GB upload would reach the disk before any check; here the body is parsed as it
arrives (python-multipart's push parser) and refused with 413 as soon as it is
too large (at once from Content-Length, else when the limit is crossed). The
client's file name is kept only as a label: it never becomes a path.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

MULTIPART_SLACK = 64 * 1024   # boundaries and part headers on top of the file itself
MAX_NAME = 200
_NAME_OK = re.compile(r"^[^/\\\x00-\x1f]+$")


class UploadError(Exception):
    """A refused upload: HTTP status and a message for the client."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Upload:
    path: Path          # where the bytes are (inside the job's private folder)
    name: str           # the client's file name, a label only
    size: int


def check_name(name: str) -> str:
    """The client's file name if it is a plain name; a path or control characters are refused."""
    if not name or name in (".", "..") or len(name) > MAX_NAME or not _NAME_OK.match(name):
        raise UploadError(400, "bad_filename",
                          f"file name {name[:80]!r} is not a plain file name (no folders, no control characters)")
    return name


def check_declared_length(headers, limit: int) -> None:
    raw = headers.get("content-length")
    if raw is None:
        return
    try:
        declared = int(raw)
    except ValueError:
        raise UploadError(400, "bad_length", f"Content-Length {raw[:40]!r} is not a number") from None
    if declared > limit + MULTIPART_SLACK:
        raise UploadError(413, "too_large", f"upload of {declared:,} bytes is over the limit of {limit:,} bytes")


class _Receiver:
    """python-multipart callbacks: the `file` part goes to `dest`, other parts are discarded."""

    def __init__(self, dest: Path, limit: int):
        self.dest, self.limit = dest, limit
        self.fd: int | None = None
        self.name: str | None = None
        self.size = 0
        self.other = 0
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self.done_file = False

    def callbacks(self) -> dict:
        return {"on_part_begin": self._part_begin, "on_header_field": self._hfield,
                "on_header_value": self._hvalue, "on_header_end": self._hend,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._part_end}

    def _part_begin(self):
        self._headers, self._field, self._value, self._in_file = {}, b"", b"", False

    def _hfield(self, data, start, end):
        self._field += data[start:end]

    def _hvalue(self, data, start, end):
        self._value += data[start:end]

    def _hend(self):
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_done(self):
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") != b"file" or self.done_file:
            return
        if b"filename" not in params:
            raise UploadError(400, "not_a_file", "the `file` field must be a file, not a text field")
        self.name = check_name(params[b"filename"].decode("utf-8", "replace"))
        # O_EXCL + 0600: a fresh private file, never one that was there before
        self.fd = os.open(self.dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._in_file = True

    def _data(self, data, start, end):
        n = end - start
        if not self._in_file:
            self.other += n
            if self.other > MULTIPART_SLACK:
                raise UploadError(413, "too_large", "form fields other than `file` are over 64 KiB")
            return
        self.size += n
        if self.size > self.limit:
            raise UploadError(413, "too_large", f"upload is over the limit of {self.limit:,} bytes")
        view = memoryview(data)[start:end]
        while view:
            view = view[os.write(self.fd, view):]

    def _part_end(self):
        if self._in_file:
            os.close(self.fd)
            self.fd, self._in_file, self.done_file = None, False, True

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


async def receive_upload(request, dest: Path, limit: int) -> Upload:
    """Stream the request's multipart `file` field to `dest`; UploadError when refused (dest removed)."""
    check_declared_length(request.headers, limit)
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise UploadError(415, "not_multipart", "send the video as multipart/form-data in a field named `file`")
    rx = _Receiver(dest, limit)
    parser = MultipartParser(params[b"boundary"], rx.callbacks())
    try:
        async for chunk in request.stream():
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except UploadError:
        rx.close()
        dest.unlink(missing_ok=True)
        raise
    except Exception as exc:  # a malformed body: the client's fault, said plainly
        rx.close()
        dest.unlink(missing_ok=True)
        raise UploadError(400, "bad_multipart", f"malformed multipart body ({type(exc).__name__}: {exc})") from exc
    rx.close()
    if not rx.done_file:
        dest.unlink(missing_ok=True)
        raise UploadError(400, "no_file", "no complete `file` field in the form")
    if rx.size == 0:
        dest.unlink(missing_ok=True)
        raise UploadError(400, "empty_file", "the uploaded file is empty")
    return Upload(path=dest, name=rx.name, size=rx.size)
