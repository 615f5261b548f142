"""Schemathesis against the served OpenAPI schema: generated requests never get a 5xx.

Schemathesis' pytest plugin does not load under pytest 9 here, so each operation's
Hypothesis strategy is driven directly (same generator, same check).
"""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra (pip install -e '.[serve]')")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from serve_support import live_server

from difffake.serve.app import create_app
from difffake.serve.config import ServeConfig

MAX_EXAMPLES = 25   # per operation and mode: bounded, so the test stays well under a minute


@pytest.fixture(scope="module")
def api(tiny_detector):
    app = create_app(lambda: tiny_detector, ServeConfig(max_upload_bytes=1024 * 1024, queue_size=2))
    with live_server(app) as url:
        yield url, schemathesis.openapi.from_url(f"{url}/openapi.json")


def _operations(schema):
    return [r.ok() for r in schema.get_all_operations()]


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_generated_request_gets_a_server_error(api, mode):
    url, schema = api
    ops = _operations(schema)
    assert {f"{o.method.upper()} {o.path}" for o in ops} >= {
        "POST /api/scans", "GET /api/scans/{scan_id}", "GET /api/scans/{scan_id}/report",
        "DELETE /api/scans/{scan_id}"}
    statuses = []
    for op in ops:
        strategy = op.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call_and_validate(base_url=url, checks=[not_a_server_error])
            statuses.append(response.status_code)
            assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"

        run()
    assert len(statuses) >= len(ops) and max(statuses) < 500
