"""Ray runner: `prepare`, `scan` and `evaluate`'s face extraction over a Ray cluster.

    from difffake.distributed import ray_scan, ray_prepare
    summary = ray_scan(["@paths.txt"], "results.jsonl", address="auto")

A pool of actors each loads the detector (or the face pipeline) once and is fed
inputs with a bounded number in flight, read from the inputs as a stream.
Every input gets exactly one row in a JSON Lines log (status ok / no_face /
error and the reason); a rerun with the same output skips the ids already
written; a task that dies with its actor is retried (bounded) and then written
as an error row. Nothing here imports Ray until a function is called:
`pip install "difffake[ray]"`.
"""
from __future__ import annotations

from .runtime import RayNotInstalled
from .workflows import ray_prepare, ray_prepare_records, ray_scan

__all__ = ["RayNotInstalled", "ray_prepare", "ray_prepare_records", "ray_scan"]
