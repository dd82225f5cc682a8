"""Headless Chromium (Debian's) driven by Playwright's async API, for the kiosk screen tests.

Never downloads a browser: Debian's ``/usr/bin/chromium`` with the flags of RECIPES.md.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("NONGAN_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required"]


def require_chromium() -> None:
    if not Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (scripts/bootstrap dev installs it)")
        pytest.skip(f"{CHROMIUM} is not installed")


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    require_chromium()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


LAYOUT_CHECK = (Path(__file__).with_name("layout_check.js")).read_text(encoding="utf-8")
"""Run in the page: every element inside the viewport, every control at least 48 px."""
