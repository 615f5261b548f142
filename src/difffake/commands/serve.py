"""`difffake serve`: a web page and JSON API to check videos (FastAPI on uvicorn)."""
from __future__ import annotations

import os
import sys

from ..errors import EXIT_USAGE

NAME = "serve"
HELP = "a web page and JSON API to check videos (loopback only unless given a token)"

EPILOG = """API (documented at /openapi.json):
  POST   /api/scans               multipart field `file` -> {"id": ...}
  GET    /api/scans/{id}          state, progress by stage, and the result when done
  GET    /api/scans/{id}/report   the HTML report
  DELETE /api/scans/{id}          delete the result now"""


def add_arguments(p) -> None:
    import argparse

    from ..serve.config import TOKEN_ENV
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default loopback; any other needs --token)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on (default 8000)")
    p.add_argument("--detector", default=None, help="detector folder (default: the built-in detector)")
    p.add_argument("--token", default=None,
                   help=f"require this token on every request (default: ${TOKEN_ENV} if set)")
    p.add_argument("--max-upload", default="2G", help="largest accepted upload, e.g. 2G or 500M (default 2G)")
    p.add_argument("--retention-hours", type=float, default=24.0,
                   help="finished results are deleted after this many hours (default 24)")
    p.add_argument("--workers", type=int, default=1, help="scans at once (default 1: a scan uses every core)")
    p.add_argument("--queue", type=int, default=4, help="waiting scans beyond the running ones, then 429 (default 4)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")


def run(args) -> int:
    from ..devices import check_device
    from ..serve.config import TOKEN_ENV, ServeConfig, is_loopback, parse_size

    check_device(args.device)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not is_loopback(args.host) and not token:
        print(f"difffake serve: error: --host {args.host} is reachable from other machines: "
              f"give --token (or set {TOKEN_ENV})", file=sys.stderr)
        return EXIT_USAGE
    try:
        limit = parse_size(args.max_upload)
    except ValueError as exc:
        print(f"difffake serve: error: --max-upload: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.workers < 1 or args.queue < 0 or args.retention_hours <= 0:
        print("difffake serve: error: --workers >= 1, --queue >= 0 and --retention-hours > 0",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as exc:
        print(f"difffake serve: error: needs the serve extra ({exc.name} is missing): "
              "pip install 'difffake[serve]'", file=sys.stderr)
        return EXIT_USAGE
    from ..detector import Detector

    # loaded now so a bad folder fails at once (exit 2), not in each job; the first worker takes it
    loaded = [Detector.load(args.detector, device=args.device)]
    cfg = ServeConfig(max_upload_bytes=limit, retention_s=args.retention_hours * 3600,
                      workers=args.workers, queue_size=args.queue, token=token, device=args.device)
    app = create_app(lambda: loaded.pop() if loaded else Detector.load(args.detector, device=args.device), cfg)
    print(f"difffake serve: uploads and reports in {app.state.root} (private, removed on exit)",
          file=sys.stderr)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"difffake serve: open http://{shown}:{args.port}/" + ("?token=…" if token else ""),
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0
