"""`difffake serve`: the JSON API through httpx against a real uvicorn on loopback (and TestClient
where the server's queue is held), with real videos and a real (tiny) detector."""
from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra (pip install -e '.[serve]')")
httpx = pytest.importorskip("httpx")
pytest.importorskip("av")

from fastapi.testclient import TestClient
from serve_support import faststart_copy, live_server, multipart_stream, wait_done

from difffake.serve.app import create_app
from difffake.serve.config import GB, ServeConfig

LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tiny_detector):
    app = create_app(lambda: tiny_detector, ServeConfig(max_upload_bytes=LIMIT, queue_size=2))
    with live_server(app) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client, app


def _post(client, name, data, ctype="video/mp4"):
    return client.post("/api/scans", files={"file": (name, data, ctype)})


def test_scan_through_the_api_is_the_cli_scan(server, tiny_detector, synthetic_videos):
    from difffake.workflows.scan import scan_files

    client, _ = server
    video = synthetic_videos / "astro_0.mp4"
    r = _post(client, "astro_0.mp4", video.read_bytes())
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done" and job["progress"] == 1.0
    [cli] = list(scan_files(tiny_detector, [(str(video), "astro_0.mp4")]))
    res = job["result"]
    assert res["status"] == "ok" and res["verdict"] == cli.verdict
    assert res["score"] == pytest.approx(cli.score) and res["pair_scores"] == pytest.approx(cli.pair_scores)
    assert res["path"] == "astro_0.mp4"          # the client's name, never the server's folder
    import hashlib
    assert job["evidence"]["sha256"] == hashlib.sha256(video.read_bytes()).hexdigest()
    assert job["evidence"]["width"] == 320 and job["evidence"]["fps"] == pytest.approx(10.0)

    page = client.get(f"/api/scans/{job['id']}/report")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert job["evidence"]["sha256"] in page.text and "Score components" in page.text
    assert "difffake-serve-" not in page.text     # no server path in the report
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_progress_is_reported_by_stage(server, synthetic_videos):
    client, _ = server
    sid = _post(client, "a.mp4", (synthetic_videos / "astro_1.mp4").read_bytes()).json()["id"]
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = client.get(f"/api/scans/{sid}").json()
        seen.add((body["state"], body["stage"]))
        assert 0.0 <= body["progress"] <= 1.0
        if body["state"] == "done":
            break
        time.sleep(0.01)
    assert body["state"] == "done" and body["stages"] == ["decode", "faces", "embed", "score"]
    assert ("done", "score") in seen


def test_delete_removes_the_result_and_its_folder(server, synthetic_videos):
    client, app = server
    sid = _post(client, "a.mp4", (synthetic_videos / "astro_2.mp4").read_bytes()).json()["id"]
    wait_done(client, sid)
    folder = app.state.root / sid
    assert (folder / "report.html").is_file() and not (folder / "upload").exists()  # video gone once scanned
    assert client.delete(f"/api/scans/{sid}").json() == {"id": sid, "deleted": True}
    assert client.get(f"/api/scans/{sid}").status_code == 404
    assert client.get(f"/api/scans/{sid}/report").status_code == 404
    assert client.delete(f"/api/scans/{sid}").status_code == 404
    assert not folder.exists()


@pytest.mark.parametrize("case", ["traversal", "text_as_mp4", "truncated", "truncated_faststart", "empty",
                                  "not_multipart", "no_file_field", "bad_id"])
def test_bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(server, synthetic_videos, tmp_path, case):
    client, app = server
    video = (synthetic_videos / "astro_0.mp4").read_bytes()
    if case == "traversal":
        r = _post(client, "../../etc/passwd", video)
        want = 400
    elif case == "text_as_mp4":
        r, want = _post(client, "clip.mp4", b"this is a text file, not a video\n" * 20), 415
    elif case == "truncated":
        r, want = _post(client, "cut.mp4", video[: len(video) // 2]), 415
    elif case == "truncated_faststart":
        fast = faststart_copy(synthetic_videos / "astro_0.mp4", tmp_path / "fast.mp4").read_bytes()
        r, want = _post(client, "cut.mp4", fast[: len(fast) // 2]), 422
    elif case == "empty":
        r, want = _post(client, "empty.mp4", b""), 400
    elif case == "not_multipart":
        r, want = client.post("/api/scans", content=video, headers={"content-type": "video/mp4"}), 415
    elif case == "no_file_field":
        r, want = client.post("/api/scans", data={"other": "x"}, files={"f": ("a.mp4", b"x")}), 400
    else:
        r, want = client.get("/api/scans/..%2F..%2Fetc%2Fpasswd"), (404, 422)
    assert r.status_code in (want if isinstance(want, tuple) else (want,)), r.text
    assert r.headers["content-type"] == "application/json" and r.json()["detail"]
    assert "difffake-serve-" not in r.text          # no private path in an error
    assert [p for p in app.state.root.iterdir() if (p / "upload").exists()] == []   # nothing left behind
    assert client.get("/").status_code == 200       # still serving
    ok = _post(client, "good.mp4", video)
    assert ok.status_code == 202 and wait_done(client, ok.json()["id"])["state"] == "done"


def test_declared_too_large_is_refused_before_reading(server):
    client, _ = server
    ctype, body, sent, length = multipart_stream("big.mp4", 3 * GB)
    r = client.post("/api/scans", content=body, headers={"content-type": ctype, "content-length": str(length)})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    assert sent["bytes"] < 64 * 1024 * 1024       # the client was stopped long before 3 GB


def test_streamed_too_large_is_refused_at_the_limit(server):
    client, app = server
    ctype, body, sent, _ = multipart_stream("big.mp4", 3 * GB)   # chunked: no Content-Length to check
    r = client.post("/api/scans", content=body, headers={"content-type": ctype})
    assert r.status_code == 413, r.text
    assert sent["bytes"] < 64 * 1024 * 1024
    assert [p for p in app.state.root.iterdir() if (p / "upload").exists()] == []


def test_full_queue_answers_429_with_retry_after(tiny_detector, synthetic_videos):
    video = (synthetic_videos / "astro_0.mp4").read_bytes()
    app = create_app(lambda: tiny_detector, ServeConfig(workers=1, queue_size=1), start_workers=False)
    with TestClient(app) as client:   # workers held: the two accepted jobs wait in the queue
        assert [_post(client, "a.mp4", video).status_code for _ in range(2)] == [202, 202]
        r = _post(client, "a.mp4", video)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and r.json()["code"] == "busy"
        app.state.manager.start()
        ids = [j for j in list(app.state.manager._jobs)]
        assert all(wait_done(client, i)["state"] == "done" for i in ids)
        assert _post(client, "a.mp4", video).status_code == 202   # room again


def test_results_expire_after_the_retention(tiny_detector, synthetic_videos):
    app = create_app(lambda: tiny_detector, ServeConfig(retention_s=0.5))
    with TestClient(app) as client:
        sid = _post(client, "a.mp4", (synthetic_videos / "astro_0.mp4").read_bytes()).json()["id"]
        wait_done(client, sid)
        deadline = time.monotonic() + 5
        while (app.state.root / sid).exists() and time.monotonic() < deadline:
            time.sleep(0.1)   # the idle worker sweeps without any request arriving
        assert not (app.state.root / sid).exists()
        assert client.get(f"/api/scans/{sid}").status_code == 404


def test_token_is_required_on_every_request_when_set(tiny_detector):
    app = create_app(lambda: tiny_detector, ServeConfig(token="s3cret"))
    with TestClient(app) as client:
        for path in ("/", "/openapi.json", "/api/scans/" + "0" * 32):
            assert client.get(path).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert client.get("/openapi.json?token=s3cret").status_code == 200


def test_openapi_documents_the_api(server):
    client, _ = server
    spec = client.get("/openapi.json").json()
    assert {"/api/scans", "/api/scans/{scan_id}", "/api/scans/{scan_id}/report"} <= set(spec["paths"])
    body = spec["paths"]["/api/scans"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["properties"]["file"]["format"] == "binary"
    assert "delete" in spec["paths"]["/api/scans/{scan_id}"]


def test_cli_refuses_a_public_address_without_a_token(capsys, monkeypatch):
    from difffake.cli import main
    monkeypatch.delenv("DIFFFAKE_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "--token" in capsys.readouterr().err
    assert main(["serve", "--max-upload", "lots"]) == 2
