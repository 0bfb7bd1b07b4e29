"""The /explore page in the distribution's headless Chromium (`.ci/ensure-browser` installs it),
driven by Playwright's Python package: it is only the driver, no browser build of its own."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    ViewportSize,
    async_playwright,
)

from services.identity.users import DEMO_PASSWORD
from tests.conftest import Api

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "explore"
LAPTOP = ViewportSize(width=1440, height=900)
TABLET = ViewportSize(width=820, height=1180)
TABLET_LANDSCAPE = ViewportSize(width=1180, height=820)
WAIT_SECONDS = 15.0


@pytest.fixture(name="chromium", scope="module")
async def _chromium() -> AsyncIterator[Browser]:
    assert CHROMIUM.exists(), "no /usr/bin/chromium: run .ci/ensure-browser (make install)"  # noqa: ASYNC240
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        await browser.close()


@pytest.fixture(name="tab")
async def _tab(chromium: Browser, server: str, api: Api) -> AsyncIterator[Explorer]:
    """A fresh tab (its own browser context) on the app of the test's `api`."""
    explorer = await Explorer.open(chromium, server)
    yield explorer
    await explorer.close()


@dataclass
class Explorer:
    """One browser tab on the page, recording console errors and every request it sends."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)

    @classmethod
    async def open(cls, chromium: Browser, base: str) -> Explorer:
        context = await chromium.new_context(viewport=LAPTOP, locale="zh-CN")
        page = await context.new_page()
        explorer = cls(page, base)
        page.on("console", explorer._console)
        page.on("pageerror", lambda error: explorer.errors.append(f"pageerror: {error}"))
        page.on("request", explorer._request)
        await page.goto(f"{base}/explore")
        return explorer

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            self.errors.append(f"{message.type}: {message.text}")

    def _request(self, request: Request) -> None:
        if not request.url.startswith((self.base + "/", "data:")):
            self.foreign.append(request.url)

    async def close(self) -> None:
        await self.page.context.close()

    async def until(self, script: str) -> Any:
        """Polls `script` (an expression) until it is truthy, for up to WAIT_SECONDS; returns
        its value. The page's content policy forbids eval, so polling happens from here, not
        inside the page (Playwright's wait_for_function evaluates a string)."""
        deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
        while True:
            value = await self.page.evaluate(script)
            if value:
                return value
            assert asyncio.get_running_loop().time() < deadline, f"never true: {script}"
            await asyncio.sleep(0.05)

    async def login(self, username: str, password: str = DEMO_PASSWORD) -> None:
        await self.page.fill("#username", username)
        await self.page.fill("#password", password)
        await self.page.press("#password", "Enter")
        await self.until("document.getElementById('who-name').textContent.length > 0")

    async def search(self, text: str) -> list[dict[str, str]]:
        await self.page.fill("#search", text)
        await self.page.press("#search", "Enter")
        await self.until("document.getElementById('search-count').textContent.length > 0")
        results: list[dict[str, str]] = await self.page.evaluate(
            "[...document.querySelectorAll('#results button')]"
            ".map((b) => ({id: b.dataset.id, text: b.textContent}))")
        return results

    async def open_with_keyboard(self, account_id: str) -> None:
        """Focuses the search result and presses Enter, as a keyboard user would."""
        await self.page.focus(f"#results button[data-id='{account_id}']")
        await self.page.keyboard.press("Enter")
        await self.until(f"document.querySelector('#tree .member.current')?.dataset.id "
                         f"=== {json.dumps(account_id)}")

    async def unnamed_controls(self) -> list[str]:
        """Visible buttons and inputs without an accessible name (label, text or aria-label)."""
        names: list[str] = await self.page.evaluate(
            "[...document.querySelectorAll('button, input, select')]"
            ".filter((e) => e.offsetParent !== null)"
            ".filter((e) => !(e.labels?.length || e.textContent.trim()"
            " || e.getAttribute('aria-label')))"
            ".map((e) => e.outerHTML)")
        return names

    async def tab_to(self, element_id: str, presses: int = 8) -> None:
        """Reaches the element with Tab from the top of the page."""
        await self.page.evaluate("document.activeElement?.blur()")
        for _ in range(presses):
            await self.page.keyboard.press("Tab")
            if await self.page.evaluate(f"document.activeElement?.id === '{element_id}'"):
                return
        raise AssertionError(f"#{element_id} not reached with {presses} presses of Tab")

    async def drawn(self) -> dict[str, Any]:
        drawn: dict[str, Any] = await self.page.evaluate("window.explorer.drawn()")
        return drawn

    async def text(self) -> str:
        body: str = await self.page.inner_text("body")
        return body

    async def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def finish(self, screenshot: str) -> None:
        """Saves the screenshot; the page logged no error or warning and sent nothing to
        another origin."""
        await self.screenshot(screenshot)
        assert self.errors == [] and self.foreign == []

    async def marks(self) -> list[str]:
        names: list[str] = await self.page.evaluate(
            "performance.getEntriesByType('mark').map((mark) => mark.name)")
        return names


def tree_of(account: dict[str, Any]) -> list[dict[str, Any]]:
    """The group tree as the page should draw it, top to bottom: each member's id, restricted
    flag and name (none for a stub), the account itself between its shareholders and its
    subsidiaries."""
    tree = account["groupTree"]

    def row(ref: dict[str, Any]) -> dict[str, Any]:
        return {"id": ref["id"], "restricted": ref["restricted"], "name": ref.get("name")}

    return [*(row(item["account"]) for item in sorted(tree["ancestors"],
                                                      key=lambda item: -item["depth"])),
            {"id": account["id"], "restricted": False, "name": account["name"]},
            *(row(item["account"]) for item in sorted(tree["descendants"],
                                                      key=lambda item: item["depth"]))]
