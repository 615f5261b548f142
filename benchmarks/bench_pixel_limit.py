"""Peak memory of `difffake scan` on large images, with and without difffake's pixel limit.

Builds (in a temporary folder) a 15000x15000 PNG of ~0.7 MB, a 15000x15000 JPEG
and a 7000x7000 PNG (49 MP, just under the default 50 MP limit), scans each
with the CLI of every source tree given, and writes a table of peak RSS
(os.wait4's ru_maxrss of the scan process), wall time, exit code and the
reason printed.

    python benchmarks/bench_pixel_limit.py --src before=/path/to/old/src --src after=src \
        --out benchmarks/results/pixel_limit.md
"""
from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def flat_png(path: Path, width: int, height: int) -> Path:
    """An RGB PNG of one grey level, compressed row by row (never held whole in memory)."""
    row = b"\0" + b"\x80" * (width * 3)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def flat_jpeg(path: Path, width: int, height: int) -> Path:
    from PIL import Image
    Image.new("RGB", (width, height), (128, 128, 128)).save(path, quality=80)
    return path


def make_files(folder: Path) -> None:
    flat_png(folder / "png_15000x15000.png", 15000, 15000)
    flat_jpeg(folder / "jpeg_15000x15000.jpg", 15000, 15000)
    flat_png(folder / "png_7000x7000.png", 7000, 7000)


def scan(src: str, file: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()))
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, "-m", "difffake", "scan", str(file)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)   # this child's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        lines = [ln for ln in out.read().splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    return dict(rss_mb=usage.ru_maxrss / 1024, seconds=time.perf_counter() - t0, rc=proc.returncode,
                line=line.replace(str(file.parent) + "/", ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", action="append", default=[], help="NAME=path of a difffake src folder")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--make", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make:   # in a child process: a forked scan inherits its parent's peak RSS
        make_files(args.make)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, __file__, "--make", str(tmp)], check=True)
        for f in sorted(tmp.iterdir(), reverse=True):
            for spec in args.src:
                name, src = spec.split("=", 1)
                r = scan(src, f)
                rows.append(f"| {f.name} | {f.stat().st_size / 1e6:.2f} MB | {name} | {r['rss_mb']:.0f} MB | "
                            f"{r['seconds']:.1f} s | {r['rc']} | {r['line'][:110]} |")
                print(rows[-1], flush=True)
    table = "\n".join(["| file | size | code | peak RSS | wall | exit | output |",
                       "|---|---|---|---|---|---|---|", *rows])
    if args.out:
        args.out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
