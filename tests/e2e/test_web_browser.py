"""`moviechat serve` in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright only drives the system's browser (`executable_path`); it never downloads one (CI
installs Chromium with apt: .ci/run). What is checked is what a person would see and what the
page does on the network: the link opens the app and the token leaves the address bar; a
question typed in the page is answered and saved; the page is not blank; without the token the
page says what to do; and every request the page makes stays on this machine.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.png import distinct_colours
from tests.support.web_serve import Serve, app_env, conversations, wait_until

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    # Without the background-networking flags Chromium tries to reach Google at start.
    "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
QUESTION = "Who directed Alien?"
ANSWER = "Ridley Scott directed Alien in 1979."

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("textual_serve") is None,
                       reason="needs the [web] extra (textual-serve)"),
    pytest.mark.skipif(importlib.util.find_spec("playwright") is None,
                       reason="needs Playwright for Python (the [dev] extra)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="no Chromium here: apt-get install chromium (see .ci/run)"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh, temporary profile (--user-data-dir).
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                              headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_chat_in_a_real_browser_stays_on_this_machine(
        browser: Any, tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.default_reply = Reply(text=ANSWER, delay=0.01)
    with Serve(["--base-url", loopback.base_url], env=app_env(tmp_path), cwd=tmp_path) as serve:
        context = browser.new_context(viewport={"width": 800, "height": 480})
        requests: list[str] = []
        problems: list[str] = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        page.on("websocket", lambda socket: requests.append(socket.url))
        page.on("console", lambda message: problems.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(serve.url)
        assert page.url == serve.base + "/", "the token stayed in the address bar"
        page.wait_for_selector("body.-first-byte", timeout=30_000)  # the app's first frame
        # No click first: the page gives the app the keys, and the app its prompt.
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        wait_until(lambda: [m.get("content") for c in conversations(tmp_path / "data")
                            for m in c.get("messages", [])] == [QUESTION, ANSWER],
                   20, "the reply was not saved")
        assert loopback.last_request["messages"][-1]["content"] == QUESTION
        shot = page.screenshot()
        (tmp_path / "chat.png").write_bytes(shot)
        assert distinct_colours(shot) > 20, "the page looks blank"

        # The same address without the token (a browser without the cookie): refused, with
        # a page that says what to do.
        stranger = browser.new_context()
        other = stranger.new_page()
        other.on("request", lambda request: requests.append(request.url))
        response = other.goto(serve.base + "/")
        assert response is not None and response.status == 403
        assert "needs the link that `moviechat serve` printed" in other.inner_text("body")
        stranger.close()
        context.close()

    hosts = {urlsplit(url).hostname for url in requests}
    assert hosts == {"127.0.0.1"}, requests
    assert any(url.startswith("ws://127.0.0.1") for url in requests)  # the log saw the app
    assert not problems, problems  # no script error, no blocked font or style (CSP)


def test_copy_and_links_go_through_the_browser_safely(
        browser: Any, tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.default_reply = Reply(text=ANSWER, delay=0.01)
    with Serve(["--base-url", loopback.base_url], env=app_env(tmp_path), cwd=tmp_path) as serve:
        context = browser.new_context(viewport={"width": 800, "height": 480})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=serve.base)
        elsewhere: list[str] = []

        def stay_here(route: Any) -> None:  # nothing may reach the internet: answer locally
            if route.request.url.startswith(serve.base):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.fulfill(status=200, body="elsewhere", content_type="text/plain")

        context.route("**/*", stay_here)
        pages: list[Any] = []
        context.on("page", lambda opened: pages.append(opened))
        page = context.new_page()
        page.goto(serve.url)
        page.wait_for_selector("body.-first-byte", timeout=30_000)
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        wait_until(lambda: [m.get("finish_reason") for c in conversations(tmp_path / "data")
                            for m in c.get("messages", [])][-1:] == ["stop"], 20, "no reply")

        # Copy: up to the last message, then c. The app's OSC 52 becomes the browser's
        # clipboard (this page is on loopback, a "secure context" that may write it).
        page.keyboard.press("ArrowUp")
        page.wait_for_timeout(500)  # the focus moves to the message (a person is not faster)
        page.keyboard.press("c")
        deadline = 50
        while page.evaluate("navigator.clipboard.readText()") != ANSWER and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert page.evaluate("navigator.clipboard.readText()") == ANSWER

        # The page opens only what the app asks for (after its dialog), and only web
        # addresses: not the blank window xterm.js opens for text that looks like a link,
        # not a script or a file.
        for attempt in ("window.open()", "window.open('javascript:alert(1)', '_blank')",
                        "window.open('file:///etc/passwd', '_blank')"):
            page.evaluate(attempt)
        page.wait_for_timeout(300)
        assert pages == [page]
        page.evaluate("window.open('https://example.org/film', '_blank')")
        deadline = 50
        while len(pages) < 2 and deadline:
            page.wait_for_timeout(100)
            deadline -= 1
        assert [p.url for p in pages[1:]] == ["https://example.org/film"]
        assert pages[1].evaluate("window.opener") is None  # it cannot reach back into the app
        assert elsewhere == ["https://example.org/film"]
        context.close()
