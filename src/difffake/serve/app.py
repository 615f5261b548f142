"""The FastAPI application of `difffake serve`: upload page, JSON API, report pages.

Every error is JSON ({"detail": message, "code": short name}) with a 4xx status
when the client can fix it; the server keeps serving whatever a client sends.
"""
from __future__ import annotations

import secrets
import shutil
import tempfile
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ..errors import MediaError
from .config import ServeConfig
from .jobs import JobManager
from .uploads import UploadError, receive_upload

ID_PATTERN = r"^[0-9a-f]{32}$"
REPORT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
PAGE_CSP = ("default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "img-src 'self' data:; frame-src 'self'")
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "the video (its content is probed; the name is a label)"}}}}}}}
ERROR = {"content": {"application/json": {"schema": {"type": "object", "properties": {
    "detail": {"type": "string"}, "code": {"type": "string"}}}}}}


# refusals sent before the body is read: closing the connection stops the client's upload
# (else the server would have to read and discard, say, 3 GB to keep the connection alive)
CLOSE_ON = {413, 429, 415}


def error(status: int, code: str, message: str, headers=None) -> JSONResponse:
    headers = dict(headers or {})
    if status in CLOSE_ON:
        headers["Connection"] = "close"
    return JSONResponse({"detail": message, "code": code}, status_code=status, headers=headers)


class TokenGate:
    """ASGI middleware: every request carries the token (Authorization: Bearer, or ?token=)."""

    def __init__(self, app, token: str):
        self.app, self.token = app, token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"")
        given = given[7:].strip() if given.lower().startswith(b"bearer ") else b""
        if not given:
            q = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])
            given = q[0].encode()
        if not secrets.compare_digest(given, self.token):
            return await error(401, "token", "this server needs its token: "
                               "Authorization: Bearer TOKEN, or ?token=TOKEN")(scope, receive, send)
        return await self.app(scope, receive, send)


def make_runner(load_detector):
    """The job body: the library scan the CLI uses, then the report; one detector per worker thread."""
    local = threading.local()

    def warm():
        """Load the detector (and dlib's landmark model) when the worker starts, not in the first job."""
        if not hasattr(local, "detector"):
            local.detector = load_detector()
            local.detector.face_detector()

    def run(job, progress):
        from ..detector import ScanResult
        from ..reporting.render import render_report
        from ..reporting.words import model_card
        from ..scanning import scan_video

        warm()
        det = local.detector
        try:
            res = scan_video(det, job.upload, job.name, keep_record=True, evidence=job.probed,
                             progress=progress)
        except MediaError as exc:
            res = ScanResult(path=job.name, video_id=job.name, status="error", error=f"{job.name}: {exc.reason}")
            res.evidence = job.probed
        res.path = job.name   # the client's label, never the server's private path
        (job.folder / "report.html").write_text(render_report([res], det, show_paths=False),
                                                encoding="utf-8")
        job.accuracy = model_card(det)["accuracy_rows"]
        job.result = res.to_dict()
        job.evidence = job.probed.to_dict() if job.probed is not None else None
    run.warm = warm
    return run


def create_app(load_detector, config: ServeConfig | None = None, start_workers: bool = True) -> FastAPI:
    """The application. load_detector() -> Detector is called once per worker thread."""
    from ..reporting.render import environment

    cfg = config or ServeConfig()
    root = Path(tempfile.mkdtemp(prefix="difffake-serve-"))   # 0700: private to this user
    manager = JobManager(root, make_runner(load_detector), cfg.workers, cfg.queue_size,
                         cfg.retention_s, start=start_workers)

    @asynccontextmanager
    async def lifespan(app):
        yield
        manager.stop()
        shutil.rmtree(root, ignore_errors=True)

    app = FastAPI(title="difffake", version=__import__("difffake").__version__, lifespan=lifespan,
                  description="Check a face video for signs of a deepfake. Scores: higher = more likely fake.")
    app.state.manager, app.state.config, app.state.root = manager, cfg, root
    if cfg.token:
        app.add_middleware(TokenGate, token=cfg.token)

    @app.exception_handler(UploadError)
    async def _upload_error(request, exc: UploadError):
        return error(exc.status, exc.code, exc.message)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page():
        mb = cfg.max_upload_bytes / (1024 * 1024)
        html = environment().get_template("index.html.j2").render(
            max_size=f"{mb / 1024:g} GB" if mb >= 1024 else f"{mb:g} MB")
        return HTMLResponse(html, headers={"Content-Security-Policy": PAGE_CSP})

    @app.post("/api/scans", status_code=202, openapi_extra=UPLOAD_BODY,
              responses={202: {"description": "accepted: poll the scan", "content": {"application/json": {
                  "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}},
                  400: ERROR, 413: ERROR, 415: ERROR, 422: ERROR, 429: ERROR})
    async def create_scan(request: Request):
        """Upload a video (multipart field `file`); the scan starts when a worker is free."""
        job = manager.reserve()
        if job is None:
            return error(429, "busy", "the scan queue is full; try again later",
                         headers={"Retry-After": str(manager.retry_after())})
        try:
            up = await receive_upload(request, job.folder / "upload", cfg.max_upload_bytes)
            from ..evidence import TruncatedMedia, probe_media
            try:
                probed = await run_in_threadpool(probe_media, up.path)
            except TruncatedMedia as exc:
                raise UploadError(422, "truncated", f"{up.name}: {exc.reason}") from exc
            except MediaError as exc:
                raise UploadError(415, "not_media", f"{up.name}: {exc.reason}") from exc
        except UploadError:
            manager.fail_upload(job)
            raise
        job.name, job.upload, job.probed = up.name, up.path, probed
        manager.submit(job)
        return JSONResponse({"id": job.id, "state": job.state}, status_code=202)

    def _job(scan_id):
        job = manager.get(scan_id)
        if job is None or job.state == "uploading":
            return None
        return job

    @app.get("/api/scans/{scan_id}", responses={404: ERROR})
    async def get_scan(scan_id: str = PathParam(pattern=ID_PATTERN)):
        """State, progress by stage and, when done, the result (the object `scan --json` prints)."""
        job = _job(scan_id)
        return error(404, "unknown", "no such scan (finished scans expire)") if job is None else job.public()

    @app.get("/api/scans/{scan_id}/report", response_class=HTMLResponse, responses={404: ERROR, 409: ERROR})
    async def get_report(scan_id: str = PathParam(pattern=ID_PATTERN)):
        """The HTML report of a finished scan (self-contained)."""
        job = _job(scan_id)
        if job is None:
            return error(404, "unknown", "no such scan (finished scans expire)")
        report = job.folder / "report.html"
        if job.state != "done" or not report.is_file():
            return error(409, "not_ready", f"the scan is {job.state}: no report yet")
        return HTMLResponse(report.read_text(encoding="utf-8"),
                            headers={"Content-Security-Policy": REPORT_CSP})

    @app.delete("/api/scans/{scan_id}", responses={404: ERROR})
    async def delete_scan(scan_id: str = PathParam(pattern=ID_PATTERN)):
        """Delete a scan, its report and anything left of its upload."""
        job = _job(scan_id)
        if job is None or not manager.delete(scan_id):
            return error(404, "unknown", "no such scan")
        return {"id": scan_id, "deleted": True}

    return app
