"""Helpers for the officers' workspace browser tests: officer logins in Chromium, numbered screenshots
(test-artifacts/screenshots/officer-NN-name.png), the stack's tables and signed task links."""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from silastri_local.client import ApiClient, wait_for
from silastri_local.stack_process import StackProcess

from .conftest import _PAGE_CHECKS, ACTION_TIMEOUT_MS, PHONE, Watch

DESKTOP = {"width": 1280, "height": 900}
PREVIEW_AGENTS = [
    "WhatsApp/2.23.20.0", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]


class OfficerScreens:
    """officer-NN-name.png full-page screenshots; each also runs the shared page checks (lang, one h1,
    no sideways scrolling at 360 px, every control labelled)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("officer-*.png"):
            old.unlink()

    def shot(self, page: Page, name: str) -> Path:
        problems = page.evaluate(_PAGE_CHECKS)
        assert not problems, f"{name}: {problems}"
        self.count += 1
        path = self.folder / f"officer-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def submit_login(page: Page, email: str, password: str) -> None:
    """Fill and send the /masuk form on the page as it is."""
    page.get_by_label("Email").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


def login(page: Page, email: str, password: str, target: str = "/petugas") -> None:
    """Sign in through the shared /masuk page, coming from an officer page (which asks for the login)."""
    page.goto(target)
    page.wait_for_url(re.compile(r"/masuk\?"))
    submit_login(page, email, password)
    page.wait_for_url(re.compile(re.escape(target.split("?")[0]) + r"(\?|$)"))


class OfficerBrowser:
    """Fresh browser contexts, each signed in as one officer (or signed out), watched for requests off the stack,
    script errors and CSP violations."""

    def __init__(self, browser: Any, stack: StackProcess) -> None:
        self.browser, self.stack = browser, stack
        self.officers = stack.officers()
        self.opened: list[tuple[Any, Watch]] = []

    def open(self, role: str | None, viewport: dict[str, int] = PHONE, user_agent: str | None = None) -> Page:
        options: dict[str, Any] = {"base_url": self.stack.url, "viewport": viewport, "locale": "id-ID",
                                   "timezone_id": "Asia/Jakarta"}
        if user_agent:
            options["user_agent"] = user_agent
        context = self.browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        watch = Watch(self.stack.url)
        page.on("request", watch.request)
        page.on("console", watch.console)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        self.opened.append((context, watch))
        if role:
            login(page, self.officers[role]["email"], self.officers[role]["password"])
        return page

    def close(self) -> None:
        for context, _ in self.opened:
            context.close()
        for _, watch in self.opened:
            watch.check()


def notice(page: Page, text: str) -> None:
    expect(page.locator("#pemberitahuan")).to_contain_text(text)


def open_task_from_queue(page: Page, registration_number: str, step_title: str) -> str:
    """From the dashboard, follow the queue entry of one application; returns the task id."""
    page.goto("/petugas")
    entry = page.locator("li.task").filter(has_text=registration_number).filter(has_text=step_title)
    expect(entry).to_have_count(1)
    entry.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/petugas/tugas/[0-9a-f]+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(step_title)
    return page.url.rsplit("/", 1)[1]


def task_item(stack: StackProcess, task_id: str) -> dict[str, Any]:
    item = stack.aws("dynamodb").get_item(TableName="silastri-TasksTable", Key={"task_id": {"S": task_id}},
                                          ConsistentRead=True)["Item"]
    return {name: next(iter(value.values())) for name, value in item.items()}


def timeline_length(stack: StackProcess, application_id: str) -> int:
    return int(stack.aws("dynamodb").query(
        TableName="silastri-EventsTable", KeyConditionExpression="application_id = :a",
        ExpressionAttributeValues={":a": {"S": application_id}}, Select="COUNT", ConsistentRead=True)["Count"])


def outbox_task_link(api: ApiClient, task_id: str) -> str:
    """The path of the signed task link the officers were sent (WhatsApp/e-mail, local outbox)."""

    def find() -> str | None:
        for message in api.outbox():
            link = message.get("link") or ""
            if f"/petugas/tugas/{task_id}?l=" in link:
                return link[link.index("/petugas/"):]
        return None

    return str(wait_for(find, timeout=30, what="task link in the outbox"))


def signed_link(stack: StackProcess, task_id: str, expires: int) -> str:
    """A correctly signed link with a chosen expiry (the stack's secret, as services/links.py signs)."""
    secret = (stack.data_dir / "app-secret.key").read_text().strip()
    key = hmac.new(secret.encode(), b"silastri:links:v1", hashlib.sha256).digest()
    signature = hmac.new(key, f"task:{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"/petugas/tugas/{task_id}?l={expires}.{signature}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def plain_get(url: str, user_agent: str) -> tuple[int, dict[str, str], str]:
    """A GET as a link-preview bot makes it: no cookies, no redirects followed."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": user_agent, "Accept": "text/html,*/*"})
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")
