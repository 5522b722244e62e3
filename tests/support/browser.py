"""Headless Chromium for tests that look at a page as a person sees it.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``, or ``$CHROMIUM``), installed by
``scripts/bootstrap.sh``; Playwright drives it. Never ``playwright install``: it would download a
browser of its own, which this project neither needs nor may fetch.

Fixtures — import them into a test module (``from tests.support.browser import browser, page,
artifacts  # noqa: F401``), or list this module in a conftest's ``pytest_plugins``:

- ``browser``: one Chromium for the whole session;
- ``page``: a fresh page (its own context: zh-CN, Asia/Shanghai, 1280×900) whose JavaScript errors
  are collected in ``page.errors`` and fail the test;
- ``artifacts``: a folder for what a person would want to look at after the run (screenshots),
  ``.local/test-artifacts/<test>/`` unless ``ALLIANCE_TEST_ARTIFACTS`` names another root; the test
  prints where it is.
"""

import os
import re
import shutil
from pathlib import Path

import eventlet
import eventlet.hubs
import greenlet
import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# No network beyond what a page asks for, nothing in the background, no GPU, no sandbox (tests run as root).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("ALLIANCE_TEST_ARTIFACTS") or Path(__file__).parents[2] / ".local" / "test-artifacts")


def launch(playwright, **options):
    """Debian's Chromium, headless, through ``playwright`` (a started ``sync_playwright()``)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run scripts/bootstrap.sh (as root on Debian it installs the"
            " 'chromium' package) or point CHROMIUM at one"
        )
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, **options)


def stop(manager):
    """Stop a started ``sync_playwright()`` also under eventlet (which the test suite runs on).

    Playwright's sync API runs asyncio in a greenlet of its own, and stopping switches to it until
    it ends. eventlet's hub makes itself the parent of every greenlet that waits on it, so the
    ended greenlet hands control to the hub instead of back to the caller, which then waits for
    ever. A hub callback resumes the caller once Playwright's greenlet has ended."""
    if not eventlet.patcher.is_monkey_patched("select"):
        manager.__exit__(None, None, None)
        return
    caller, hub, stopped = greenlet.getcurrent(), eventlet.hubs.get_hub(), []

    def resume_when_ended():
        if stopped:
            return
        if manager._dispatcher_fiber.dead:
            caller.switch()
        else:
            hub.schedule_call_global(0.01, resume_when_ended)

    hub.schedule_call_global(0.01, resume_when_ended)
    try:
        manager.__exit__(None, None, None)
    finally:
        stopped.append(True)


_running = {"users": 0}  # one Playwright and one Chromium for the whole run


@pytest.fixture(scope="session")
def browser():
    """Shared by every module that imports it: pytest makes a session fixture per module that
    imports it, and a second Playwright started while the first runs refuses ("Sync API inside
    the asyncio loop"), so they share one, stopped when the last of them ends."""
    if not _running["users"]:
        manager = sync_playwright()
        _running.update(manager=manager, chromium=launch(manager.start()))
    _running["users"] += 1
    try:
        yield _running["chromium"]
    finally:
        _running["users"] -= 1
        if not _running["users"]:
            try:
                _running["chromium"].close()
            finally:
                stop(_running["manager"])


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.errors = []
    opened.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not opened.errors, f"JavaScript errors on the page: {opened.errors}"


@pytest.fixture
def artifacts(request):
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"\n{request.node.nodeid}: artifacts in {folder}")
    return folder


def fonts_rendering(page, selector):
    """The fonts Chromium drew the text of the first element matching ``selector`` with: a list of
    {familyName, isCustomFont, glyphCount} (DevTools' CSS.getPlatformFontsForNode)."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": -1, "pierce": True})["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        if not node:
            raise AssertionError(f"nothing on the page matches {selector!r}")
        return session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        session.detach()
