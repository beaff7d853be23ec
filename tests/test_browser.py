"""A learner's view: the quiz widget in real JupyterLab, driven in headless Chromium (Playwright).

Starts JupyterLab on a free loopback port with a token, opens a notebook holding a quiz cell,
runs it, answers wrong then right, and checks the explanation and the score a learner sees.
A screenshot is kept in build/test-artifacts/. The server is stopped by its PID.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "build" / "test-artifacts"

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def jupyterlab(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian packages chromium and "
                    "chromium-driver (scripts/apt-install.sh)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'from helpers import quiz\nquiz.show_quiz("00_welcome")')])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "quiz_check.ipynb")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "TLW_PROGRESS_FILE": str(tmp_path / "progress.json"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    bindir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bindir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--notebook-dir={tmp_path}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}",
                                            timeout=2) as r:
                    json.load(r)
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("JupyterLab did not start") from None
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/quiz_check.ipynb?token={token}", tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_quiz_in_jupyterlab(jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    url, workdir = jupyterlab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        try:
            page.goto(url)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=180_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                                   "#jp-main-statusbar :text('Idle')", timeout=180_000)
            question = page.locator(".tlw-question").first
            for attempt in range(4):  # a run sent before the kernel connection is up is dropped
                page.locator(".jp-Cell .jp-InputArea-editor").first.click()
                page.keyboard.press("Shift+Enter")
                try:
                    question.wait_for(timeout=60_000)
                    break
                except PlaywrightTimeout:
                    if attempt == 3:
                        raise
            assert page.locator(".tlw-question").count() == 5
            # Each radio circle sits at the left edge of its own option text, not far away.
            offsets = page.evaluate("""() => [...document.querySelectorAll(
                '.tlw-quiz .widget-radio-box label')].map(l => {
                    const i = l.querySelector('input').getBoundingClientRect();
                    return i.left - l.getBoundingClientRect().left; })""")
            assert offsets and max(offsets) < 16, offsets
            question.locator("label", has_text="It guarantees higher accuracy").click()
            question.get_by_role("button", name="Check").click()
            feedback = question.locator(".tlw-feedback")
            feedback.wait_for(timeout=30_000)
            assert "Nothing guarantees that" in feedback.inner_text()
            assert "Score: 0 / 5" in page.locator(".tlw-score").inner_text()
            question.get_by_role("button", name="Try again").click()
            question.locator("label", has_text="far fewer labelled examples").click()
            question.get_by_role("button", name="Check").click()
            page.wait_for_function(
                "document.querySelector('.tlw-score').innerText.includes('Score: 1 / 5')",
                timeout=30_000)
            assert "Correct" in question.locator(".tlw-feedback").inner_text()
        finally:
            page.screenshot(path=str(ARTIFACTS / "quiz_in_jupyterlab.png"), full_page=True)
            browser.close()
    answers = json.loads((workdir / "progress.json").read_text())["answers"]
    assert [(a["question"], a["correct"]) for a in answers] == [
        ("benefit-of-transfer", False), ("benefit-of-transfer", True)]
    shutil.rmtree(workdir / "rt", ignore_errors=True)
