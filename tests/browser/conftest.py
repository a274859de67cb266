"""Browser tests: Playwright drives Debian's chromium (never a browser Playwright downloads) headless against the
local stack, through the app the gateway serves at /app/. A failing test leaves a screenshot and the page's HTML in
tests/browser/output/ (gitignored); BROWSER_SCREENSHOTS=all keeps them for passing tests too."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
APP_INDEX = REPO_ROOT / "web" / "dist" / "index.html"
OUTPUT = Path(__file__).resolve().parent / "output"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium (apt-get install chromium)", pytrace=False)
    if not APP_INDEX.is_file():
        pytest.fail(f"{APP_INDEX} is missing: `make web` builds the app", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@pytest.fixture
def app_url(stack: Any) -> str:
    return f"{stack.gateway_url}/app/"


@pytest.fixture
def new_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Pages, each in its own browser context (its own storage: another browser, another session)."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        return page

    yield make
    if request.node.stash.get(_FAILED, False) or os.environ.get("BROWSER_SCREENSHOTS") == "all":
        OUTPUT.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
        for n, page in enumerate(pages):
            if page.is_closed():
                continue
            page.screenshot(path=str(OUTPUT / f"{name}-{n}.png"), full_page=True)
            (OUTPUT / f"{name}-{n}.html").write_text(page.content())
    for context in contexts:
        context.close()
