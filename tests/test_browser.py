"""A learner's view in real JupyterLab, driven in headless Chromium (Playwright).

Starts JupyterLab on a free loopback port with a token. One test opens a notebook holding a
quiz cell, runs it, answers wrong then right, and checks the explanation and the score a learner
sees; another runs a whole course notebook with Run All from the Run menu and counts the stderr
outputs a learner would see (none expected). Screenshots are kept in build/test-artifacts/.
The server is stopped by its PID.

On a loaded machine JupyterLab can be slow to learn the kernel specs and then asks which kernel
to use: a "Select Kernel" dialog that covers the page and swallows every click. So the kernel is
started through the server's REST API first (a session for the notebook's path, which JupyterLab
joins instead of asking), the test waits until the server reports it idle, and any dialog that
still appears is accepted (for "Select Kernel": the default kernel) before each action.
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
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "build" / "test-artifacts"

pytestmark = pytest.mark.browser


TIMEOUT_S = 300          # kernel start and page load on a loaded 2-core machine
NOTEBOOK = "quiz_check.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the server's REST API

def _api(server, path, method="GET", body=None, timeout=10):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server['base']}{path}", data=data, method=method,
                                     headers={"Authorization": f"token {server['token']}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as r:
        return json.load(r)


def start_kernel_for(server, path: str) -> str:
    """A session (and its kernel) for the notebook at ``path``: JupyterLab joins it when it opens
    the notebook, so it never has to ask which kernel to start. Returns the kernel's id."""
    for session in _api(server, "/api/sessions"):
        if session.get("path") == path and session.get("kernel"):
            return session["kernel"]["id"]
    session = _api(server, "/api/sessions", "POST", {
        "path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}},
        timeout=TIMEOUT_S)
    return session["kernel"]["id"]


def ping_kernel(server, kernel_id: str, timeout: float = TIMEOUT_S) -> bool:
    """Ask the new kernel for its info over its own connection file and wait for the answer.

    The server reports a kernel "starting" until the kernel has said something on its IOPub
    channel, which it does only when asked; JupyterLab asks when it connects. Asking here first
    lets the test wait for "idle" before a page is even opened. False if there is no connection
    file to use (then the page's own connection does it).

    A kernel still importing on a loaded machine can miss a heartbeat, and jupyter_client then
    calls it dead (seen here: "Kernel died before replying to kernel_info" while the other test
    worker trained). So the heartbeat gets 30 s instead of 1, and a failed try is repeated until
    ``timeout``; a kernel that is really gone still fails, with jupyter_client's message."""
    from jupyter_client import BlockingKernelClient

    connection = server["workdir"] / "rt" / f"kernel-{kernel_id}.json"
    if not connection.is_file():
        return False
    deadline = time.time() + timeout
    while True:
        client = BlockingKernelClient(connection_file=str(connection))
        client.load_connection_file()
        client.hb_channel.time_to_dead = 30.0
        client.start_channels()
        try:
            client.wait_for_ready(timeout=max(1.0, deadline - time.time()))
            return True
        except RuntimeError:
            if time.time() > deadline:
                raise
            time.sleep(2)
        finally:
            client.stop_channels()


def wait_kernel_idle(server, path: str, timeout: float = TIMEOUT_S) -> str:
    """Until the server reports the kernel of ``path``'s session idle (started and answering);
    returns its id. The session is looked up on every poll: if a dialog made JupyterLab start
    another kernel, that is the one to wait for.

    The server learns the state from the kernel's IOPub messages, and its listener can join
    after the kernel's first ones went out (seen under load: a kernel that answered stayed
    "starting" for minutes). So a kernel still "starting" is asked again every few seconds:
    each answer is published anew, and the server sees that one."""
    deadline, state, nudged = time.time() + timeout, None, time.time()
    while time.time() < deadline:
        try:
            kernels = [s["kernel"]["id"] for s in _api(server, "/api/sessions")
                       if s.get("path") == path and s.get("kernel")]
            state = _api(server, f"/api/kernels/{kernels[0]}").get("execution_state") \
                if kernels else "no session"
        except OSError as err:  # the kernel was just replaced, or the server is busy
            state = f"unreachable ({err})"
        if state == "idle":
            return kernels[0]
        if state == "starting" and time.time() - nudged > 5:
            try:
                ping_kernel(server, kernels[0], timeout=30)
            except RuntimeError:  # no answer within 30 s: still starting, poll on
                pass
            nudged = time.time()
        time.sleep(0.5)
    raise TimeoutError(f"the kernel of {path} not idle after {timeout:.0f} s (last: {state})")


# ---------------------------------------------------------------- dialogs

DIALOG = ".jp-Dialog"


def accept_dialog(page, seen: list) -> None:
    """Accept whatever JupyterLab dialog is open: for "Select Kernel" that starts the kernel the
    dialog proposes (the notebook's own); a dialog without an accept button is closed."""
    dialog = page.locator(DIALOG).first
    try:
        seen.append(" ".join(dialog.inner_text(timeout=5_000).split())[:200])
    except Exception:  # it closed by itself meanwhile
        return
    accept = dialog.locator(".jp-Dialog-button.jp-mod-accept")
    try:
        if accept.count():
            accept.first.click(timeout=10_000)
        else:
            page.keyboard.press("Escape")
    except Exception:
        page.keyboard.press("Escape")


def watch_dialogs(page) -> list:
    """Accept dialogs before every action Playwright performs; returns what they said."""
    seen = []
    page.add_locator_handler(page.locator(DIALOG).first, lambda _: accept_dialog(page, seen))
    return seen


def clear_dialogs(page, seen: list) -> None:
    """The same, now (waits such as ``wait_for_selector`` do not run locator handlers)."""
    for _ in range(5):
        if not page.locator(DIALOG).count():
            return
        accept_dialog(page, seen)
        page.wait_for_timeout(500)


@contextmanager
def serve_jupyterlab(workdir: Path, notebook: str, env: dict | None = None):
    """JupyterLab on a free loopback port with a token, serving ``workdir``; stopped afterwards.
    Yields the server's base URL, token, folder and the URL that opens ``notebook``."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "TLW_PROGRESS_FILE": str(workdir / "progress.json"),
           "JUPYTER_CONFIG_DIR": str(workdir / "cfg"), "JUPYTER_RUNTIME_DIR": str(workdir / "rt"),
           **(env or {})}
    bindir = Path(sys.executable).parent
    proc = subprocess.Popen(
        [str(bindir / "jupyter"), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--notebook-dir={workdir}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=workdir)
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
        yield {"base": f"http://127.0.0.1:{port}", "token": token, "workdir": workdir,
               "url": f"http://127.0.0.1:{port}/lab/tree/{notebook}?token={token}"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def _require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian packages chromium and "
                    "chromium-driver (scripts/apt-install.sh)")


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def open_chromium(p, server, notebook: str):
    """Start ``notebook``'s kernel through the server and wait for it, then a headless Chromium
    page that accepts JupyterLab's dialogs. Returns (browser, page, dialogs seen)."""
    if ping_kernel(server, start_kernel_for(server, notebook)):
        wait_kernel_idle(server, notebook)
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.set_default_timeout(60_000)
    return browser, page, watch_dialogs(page)


def load_notebook(page, server, dialogs) -> None:
    """Open the server's notebook URL and wait until its cells are on the page."""
    page.goto(server["url"], timeout=TIMEOUT_S * 1000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_S * 1000)
    clear_dialogs(page, dialogs)


@pytest.fixture
def jupyterlab(tmp_path):
    _require_chromium()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        'from helpers import quiz\nquiz.show_quiz("00_welcome")')])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / NOTEBOOK)
    with serve_jupyterlab(tmp_path, NOTEBOOK) as server:
        yield server


def test_quiz_in_jupyterlab(jupyterlab):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    server = jupyterlab
    workdir = server["workdir"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser, page, dialogs = open_chromium(p, server, NOTEBOOK)
        try:
            load_notebook(page, server, dialogs)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                                   "#jp-main-statusbar :text('Idle')", timeout=TIMEOUT_S * 1000)
            sessions = [s for s in _api(server, "/api/sessions") if s["path"] == NOTEBOOK]
            assert len(sessions) == 1, sessions  # JupyterLab joined the session, not a second one
            question = page.locator(".tlw-question").first
            for attempt in range(4):  # a run sent before the kernel connection is up is dropped
                clear_dialogs(page, dialogs)
                wait_kernel_idle(server, NOTEBOOK)
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
            if dialogs:
                print("dialogs accepted:", *dialogs, sep="\n  ")
    answers = json.loads((workdir / "progress.json").read_text())["answers"]
    assert [(a["question"], a["correct"]) for a in answers] == [
        ("benefit-of-transfer", False), ("benefit-of-transfer", True)]
    shutil.rmtree(workdir / "rt", ignore_errors=True)


# ---------------------------------------------------------------- Run All, as a learner does it

RUN_ALL_NOTEBOOK = "04_fine_tuning.ipynb"   # the notebook where a learner once saw 11 stderr outputs


def _saved_notebook(server, path: str) -> dict:
    return _api(server, f"/api/contents/{path}?content=1", timeout=60)["content"]


def test_run_all_in_jupyterlab_shows_no_stderr(tmp_path):
    """Open a course notebook in JupyterLab, Run All from the Run menu, save, and count the stderr
    outputs in the saved file: a learner's run shows none (TensorFlow's C++ log lines once
    showed up here and not in the CI-executed copies). Quick mode keeps it short; the
    environment is a learner's: no TensorFlow log setting of its own."""
    from playwright.sync_api import sync_playwright

    _require_chromium()
    shutil.copy(ROOT / "notebooks" / RUN_ALL_NOTEBOOK, tmp_path / RUN_ALL_NOTEBOOK)
    env = {"TLW_QUICK": "1", "TLW_OFFLINE": "1", "TLW_RESULTS_DIR": str(tmp_path / "results"),
           "KERAS_HOME": str(tmp_path / "keras")}
    saved_env = os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)   # as in a learner's shell
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with serve_jupyterlab(tmp_path, RUN_ALL_NOTEBOOK, env) as server, sync_playwright() as p:
            browser, page, dialogs = open_chromium(p, server, RUN_ALL_NOTEBOOK)
            try:
                load_notebook(page, server, dialogs)
                wait_kernel_idle(server, RUN_ALL_NOTEBOOK)

                def run_all():
                    page.locator(".jp-Notebook .jp-Cell").first.click()
                    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()

                run_all()
                nb = _wait_until_all_ran(page, server, RUN_ALL_NOTEBOOK, run_all)
            finally:
                page.screenshot(path=str(ARTIFACTS / "run_all_in_jupyterlab.png"))
                browser.close()
                if dialogs:
                    print("dialogs accepted:", *dialogs, sep="\n  ")
    finally:
        if saved_env is not None:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = saved_env
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    stderr = [o["text"][:300] for o in outputs if o["output_type"] == "stream" and o["name"] == "stderr"]
    assert stderr == [], f"{len(stderr)} stderr outputs after Run All: {stderr}"
    assert any("image/png" in o.get("data", {}) for o in outputs)   # it really ran: figures came back


def _wait_until_all_ran(page, server, path: str, run_all, timeout: float = 900) -> dict:
    """Save the notebook (Ctrl+S) whenever the kernel has been idle for a few seconds, until every
    code cell in the saved file has an execution count; return that file's content. If nothing
    ran at all (a run sent before the page's kernel connection was up is dropped), Run All again."""
    deadline, idle_since, code, tries = time.time() + timeout, None, [], 1
    while time.time() < deadline:
        try:
            kernels = [s["kernel"]["id"] for s in _api(server, "/api/sessions")
                       if s.get("path") == path and s.get("kernel")]
            state = _api(server, f"/api/kernels/{kernels[0]}")["execution_state"] if kernels else None
        except OSError:
            state = None
        idle_since = (idle_since or time.time()) if state == "idle" else None
        if idle_since and time.time() - idle_since > 3:
            page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
            page.keyboard.press("Control+s")
            page.wait_for_timeout(2_000)
            nb = _saved_notebook(server, path)
            code = [c for c in nb["cells"] if c["cell_type"] == "code"]
            if code and all(c.get("execution_count") for c in code):
                return nb
            if any(o.get("output_type") == "error" for c in code for o in c["outputs"]):
                return nb   # Run All stops at an error: the assertion names it
            if not any(c.get("execution_count") for c in code) and tries < 4:
                run_all()
                tries += 1
            idle_since = None
        time.sleep(1)
    ran = sum(1 for c in code if c.get("execution_count"))
    raise TimeoutError(f"Run All of {path} not finished after {timeout:.0f} s ({ran}/{len(code)} cells ran)")
