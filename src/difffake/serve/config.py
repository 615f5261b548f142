"""Limits and defaults of `difffake serve` (safe by default)."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

GB = 1024 ** 3
TOKEN_ENV = "DIFFFAKE_TOKEN"


@dataclass
class ServeConfig:
    max_upload_bytes: int = 2 * GB     # larger uploads get 413, checked on Content-Length and while streaming
    retention_s: float = 24 * 3600     # finished results are deleted after this
    workers: int = 1                   # scans at once (CPU: one, the scan itself uses every core)
    queue_size: int = 4                # waiting jobs beyond the running ones; then 429
    token: str | None = None           # when set, every request must carry it
    device: str = "cpu"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_size(text: str) -> int:
    """'2G', '500M', '1048576' -> bytes."""
    t = text.strip().upper().removesuffix("B")
    units = {"K": 1024, "M": 1024 ** 2, "G": GB, "T": 1024 ** 4}
    try:
        if t and t[-1] in units:
            value = float(t[:-1]) * units[t[-1]]
        else:
            value = float(t)
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use e.g. 2G, 500M or a number of bytes)") from None
    if value <= 0:
        raise ValueError(f"size must be positive, got {text!r}")
    return int(value)
