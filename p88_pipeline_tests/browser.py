"""Headless Chromium (Debian's package) driven by Playwright's Python API, for the UI checks.

Playwright's own browser downloads are never used (`playwright install` fetches builds from
outside the package registries): the browser is the system's `chromium`, passed as
`executable_path`. Without either piece the check is skipped with the reason and the fix.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def unavailable_reason() -> str | None:
    """Why the browser check cannot run here, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[browser]')"
    if chromium_path() is None:
        return "no chromium on PATH (Debian: apt-get install -y chromium)"
    return None


def screenshot_pages(pages: dict[str, tuple[str, str]], out: Path) -> dict[str, str]:
    """Load each page (name -> (url, text to wait for)), screenshot it to out/<name>.png;
    returns each page's visible text."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    texts = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            for name, (url, expect) in pages.items():
                page.goto(url, wait_until="networkidle", timeout=60_000)
                skip = page.get_by_role("button", name="Skip")  # the first-visit newsletter box
                if skip.count():
                    skip.first.click()
                page.get_by_text(expect).first.wait_for(timeout=60_000)
                page.wait_for_timeout(1500)  # let the graph finish its layout animation
                page.screenshot(path=str(out / f"{name}.png"))
                texts[name] = page.inner_text("body")
        finally:
            browser.close()
    return texts
