"""Shared by the browser tests: a page of the course opened from disk in headless Chromium
(Debian's `chromium`, driven by Playwright), with the page's JavaScript errors collected."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@contextmanager
def page_from_disk(path: Path, **page_options):
    """``(page, errors)``: ``path`` open in a new headless Chromium; ``errors`` collects the
    page's uncaught JavaScript errors. The browser closes on the way out."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs the Debian package chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(**page_options)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(path.as_uri())
            yield page, errors
        finally:
            browser.close()
