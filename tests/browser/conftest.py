"""Browser tests: the applicant's pages in Debian Chromium (Playwright), against `silastri up` in a subprocess.

Screenshots of every page visited go to test-artifacts/screenshots/NN-name.png (git-ignored)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from silastri_local.client import ApiClient
from silastri_local.journey import officer_clients
from silastri_local.stack_process import StackProcess

# Browser expectations wait as long as the work they wait for can take on a loaded 2-core CI machine (an
# upload's validation, a decision resuming the run): Playwright's 5 s default for `expect` is not that.
EXPECT_TIMEOUT_MS = 30_000
ACTION_TIMEOUT_MS = 45_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 360, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

# Every page must pass these in the browser: one h1, Bahasa, no sideways scrolling on a 360-px phone,
# every form control labelled.
_PAGE_CHECKS = """() => {
  const problems = [];
  if (document.documentElement.lang !== "id") problems.push("html lang is not id");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`expected one h1, found ${h1}`);
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    const wide = [...document.querySelectorAll("body *")].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(-3).map(el => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
    problems.push(`horizontal scroll: ${document.documentElement.scrollWidth} > ${window.innerWidth} (${wide})`);
  }
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.type === "hidden") continue;
    const labelled = (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby");
    if (!labelled) problems.push(`unlabelled ${el.tagName.toLowerCase()} name=${el.name}`);
  }
  return problems;
}"""


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("browser"))
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def stack() -> Iterator[StackProcess]:
    # its own directory, not pytest's rotating basetemp: a concurrent pytest run may prune that
    data_dir = Path(tempfile.mkdtemp(prefix="silastri-browser-"))
    process = StackProcess(data_dir).start()
    yield process
    process.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def api(stack) -> ApiClient:
    client = ApiClient(stack.url)
    officer = next(iter(stack.officers().values()))  # the local outbox is for officers only
    client.outbox_reader = client.login(officer["email"], officer["password"])
    return client


@pytest.fixture(scope="session")
def staff(stack, api) -> dict[str, ApiClient]:
    return officer_clients(api, stack.officers())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not longer: Playwright's sync API keeps an event loop running on the
    main thread while it is open, which breaks asyncio users (pyhanko) in other tests of this worker."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian Chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Screens:
    """Numbered full-page screenshots; each one also runs the page checks."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("[0-9][0-9]-*.png"):
            old.unlink()

    def shot(self, page: Any, name: str) -> Path:
        problems = page.evaluate(_PAGE_CHECKS)
        assert not problems, f"{name}: {problems}"
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="session")
def screens() -> Screens:
    return Screens(SCREENSHOTS)


class Watch:
    """What the page did that it must not: requests off the loopback (no CDN), script errors, CSP reports."""

    def __init__(self, base_url: str) -> None:
        self.host = urlparse(base_url).hostname
        self.external: list[str] = []
        self.errors: list[str] = []

    def request(self, request: Any) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http://", "https://")) and host != self.host:
            self.external.append(request.url)

    def console(self, message: Any) -> None:
        if message.type == "error" and not re.search(r"status of 4\d\d", message.text):
            self.errors.append(message.text)

    def check(self) -> None:
        assert not self.external, f"requests outside the stack: {self.external[:5]}"
        assert not self.errors, f"browser errors: {self.errors[:5]}"


@pytest.fixture
def phone(browser, stack) -> Iterator[Any]:
    """A fresh 360×800 phone-sized browser context (its own cookies) on the stack."""
    context = browser.new_context(base_url=stack.url, viewport=PHONE, locale="id-ID", timezone_id="Asia/Jakarta",
                                  accept_downloads=True)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    watch = Watch(stack.url)
    page.on("request", watch.request)
    page.on("console", watch.console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    yield page
    context.close()
    watch.check()
