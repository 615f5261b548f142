"""The upload page in a real browser: Debian's Chromium, headless, driven by Playwright.

Uploads a dev video to a real uvicorn serving the built-in detector, waits for
the verdict and checks what an analyst sees: verdict, score and file hash.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="needs the serve extra (pip install -e '.[serve]')")
sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")

from serve_support import live_server

from difffake.serve.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEV_VIDEO = "dev/fake/dfl_Keanu_Reeves_0.mp4"


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.mark.slow
@pytest.mark.shared_data
def test_page_uploads_a_video_and_shows_verdict_score_and_hash(browser, shared_data, tmp_path):
    from difffake.detector import Detector

    video = shared_data / DEV_VIDEO
    detector = Detector.load()
    with live_server(create_app(lambda: detector)) as url:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url + "/")
        assert "check a video" in page.title()
        page.set_input_files("#picker", str(video))
        page.locator("#summary").wait_for(state="visible", timeout=180_000)
        verdict = page.locator("#verdict").inner_text()
        assert verdict in ("REAL", "FAKE")
        assert re.fullmatch(r"-?\d+\.\d{3}", page.locator("#score").inner_text())
        assert page.locator("#sha256").inner_text() == hashlib.sha256(video.read_bytes()).hexdigest()
        assert "model card" in page.locator("#accuracy").inner_text()
        report = page.frame_locator("#report")
        report.locator("#components").wait_for(timeout=30_000)   # the full report, inside the page
        assert report.locator("#sha256").inner_text() == page.locator("#sha256").inner_text()
        shot = tmp_path / "serve.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
        if os.environ.get("DIFFFAKE_SCREENSHOT"):   # docs/serve.png is made this way
            shutil.copy(shot, os.environ["DIFFFAKE_SCREENSHOT"])
        page.close()
