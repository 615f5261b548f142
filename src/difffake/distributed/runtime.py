"""Joining or starting Ray: the one place that imports it."""
from __future__ import annotations

import logging
import os

from ..errors import UsageError

log = logging.getLogger("difffake.distributed")

EXTRA = 'pip install "difffake[ray]"'
LOCAL = "local"   # `--ray` without an address: start a Ray instance on this machine


class RayNotInstalled(UsageError):
    """--ray was asked for but Ray is not importable (exit 2: install the extra)."""


def import_ray():
    try:
        import ray
    except ImportError as exc:
        raise RayNotInstalled(f"--ray needs Ray, which is not installed ({exc}); install the extra: {EXTRA}") from None
    return ray


def owns_session(workflow):
    """A Ray instance that `workflow` started ends with it: one still up when the interpreter
    exits can crash the exit (a segfault after the work is done, so the wrong exit code)."""
    import functools

    @functools.wraps(workflow)
    def run(*args, **kwargs):
        ray = import_ray()
        was_up = ray.is_initialized()
        try:
            return workflow(*args, **kwargs)
        finally:
            if not was_up and ray.is_initialized():
                ray.shutdown()
    return run


def connect(address: str | None = LOCAL, num_cpus: int | None = None):
    """ray.init: 'auto' joins the running cluster, 'HOST:PORT' (or ray://...) joins
    that one, None/'local' starts a private instance here. Returns the ray module."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    # Workers import difffake from wherever this driver does (a source checkout too).
    env = {"env_vars": {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    if address in (None, LOCAL):
        # Ray starts workers at niceness 15 to favour its own daemons; on a shared machine
        # that starves CPU-bound actors behind every other job (measured: 2 actors slower
        # than 1). A private instance runs them at the driver's priority instead.
        os.environ.setdefault("RAY_worker_niceness", "0")
        for attempt in (1, 2, 3):   # Ray gives its raylet 30 s to come up: too short on a loaded machine
            try:   # address "local": never silently join a running cluster
                ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                         runtime_env=env, object_store_memory=200 * 1024 ** 2)
                break
            except Exception as exc:   # Ray raises a bare Exception for this timeout
                if "timed out during startup" not in str(exc) or attempt == 3:
                    raise
                log.warning("Ray: the local node did not start in time (attempt %d); retrying", attempt)
                ray.shutdown()
    else:
        ray.init(address=address, log_to_driver=False, runtime_env=env)
    res = ray.cluster_resources()
    log.info("Ray: %s CPUs, %s GPUs, %d nodes", res.get("CPU", 0), res.get("GPU", 0),
             len([n for n in ray.nodes() if n.get("Alive")]))
    return ray


def cluster_gpus(ray) -> float:
    return float(ray.cluster_resources().get("GPU", 0))


def cluster_cpus(ray) -> int:
    return int(ray.cluster_resources().get("CPU", 1))
