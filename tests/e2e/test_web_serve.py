"""`moviechat serve`, end to end over its own protocol: a real `serve` on a free loopback port,
the loopback OpenAI-compatible server behind it, and aiohttp as the browser.

What a user (or an attacker who can reach the port) would notice: nothing is served without
the printed link's token; with it, keys typed in a tab reach the app, the question goes to the
model and the reply is saved; closing a tab or stopping `serve` ends the app processes after
saving; the export arrives as a download.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.web_serve import (
    MOVIECHAT,
    Serve,
    Tab,
    app_env,
    conversations,
    process_alive,
    wait_until,
)

pytestmark = pytest.mark.skipif(importlib.util.find_spec("textual_serve") is None,
                                reason="needs the [web] extra (textual-serve)")

QUESTION = "Who directed Alien?"
ANSWER = "Ridley Scott directed Alien in 1979."
LONG_ANSWER = " ".join(f"word{i}" for i in range(400))


@pytest.fixture
def serve(tmp_path: Path, loopback: LoopbackServer) -> Iterator[Serve]:
    loopback.default_reply = Reply(text=ANSWER, delay=0.01)
    with Serve(["--base-url", loopback.base_url], env=app_env(tmp_path), cwd=tmp_path) as s:
        yield s


def saved_messages(tmp_path: Path) -> list[dict[str, object]]:
    found = conversations(tmp_path / "data")
    assert len(found) == 1, found
    messages: list[dict[str, object]] = found[0]["messages"]
    return messages


async def test_nothing_is_served_without_the_token(serve: Serve) -> None:
    async with aiohttp.ClientSession() as stranger:
        for path in ("/", "/?token=wrong", f"/?token={serve.token[:-1]}",
                     "/static/js/textual.js", "/download/anything"):
            async with stranger.get(serve.base + path, allow_redirects=False) as response:
                assert response.status == 403, path
                assert "needs the link" in await response.text()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await stranger.ws_connect(serve.base.replace("http", "ws") + "/ws",
                                      origin=serve.base)
        assert refused.value.status == 403
    wrong = {f"moviechat-serve-{serve.port}": "wrong"}
    async with (aiohttp.ClientSession(cookies=wrong) as session,
                session.get(serve.base + "/") as response):
        assert response.status == 403
    # The right cookie, but a page of another site (cross-site websocket hijacking), or a
    # name that is not this machine's (DNS rebinding): refused too.
    async with aiohttp.ClientSession(cookies=serve.cookie) as browser:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await browser.ws_connect(serve.base.replace("http", "ws") + "/ws",
                                     origin="http://evil.example")
        assert refused.value.status == 403
        async with browser.get(serve.base + "/",
                               headers={"Host": f"evil.example:{serve.port}"}) as response:
            assert response.status == 403
    assert serve.tabs() == [], "a refused websocket started an app"


async def test_the_token_becomes_a_cookie_and_leaves_the_address(serve: Serve) -> None:
    # unsafe=True: aiohttp's jar, unlike a browser's, keeps no cookies for IP addresses.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        async with browser.get(serve.url, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/"
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        async with browser.get(serve.url) as response:  # follows the redirect with the cookie
            assert response.status == 200
            assert str(response.url) == serve.base + "/"
            page = await response.text()
            assert "no-store" in response.headers["Cache-Control"]
            assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert serve.token not in page
    # Works offline: everything the page loads comes from this server.
    assert "googleapis" not in page
    for address in re.findall(r"""(?:src|href)=["']([^"']+)""", page):
        assert address.startswith(("/", "data:")), address


KEY = "sk-test-web-0123456789abcdefSECRET"


async def test_a_question_typed_in_a_tab_is_answered_and_saved(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.default_reply = Reply(text=ANSWER, delay=0.01)
    config = tmp_path / "config.toml"
    config.write_text(f'api_key = "{KEY}"\n', encoding="utf-8")
    config.chmod(0o600)
    args = ["--base-url", loopback.base_url, "--config", str(config)]
    with Serve(args, env=app_env(tmp_path), cwd=tmp_path) as serve:
        async with Tab(serve) as tab:
            await tab.wait_for("Ask about a film")
            await tab.send(QUESTION)  # typed at once, no click first: the prompt has focus
            await tab.press("enter")
            loopback.wait_for_requests(1)
            assert loopback.last_request["messages"][-1]["content"] == QUESTION
            await tab.wait_for(ANSWER)
            await tab.wait_until(lambda: [m.get("content") for m in saved_messages(tmp_path)]
                                 == [QUESTION, ANSWER], 10, "the reply was not saved")
            async with (aiohttp.ClientSession(cookies=serve.cookie) as browser,
                        browser.get(serve.base + "/") as page):
                html = await page.text()
        assert saved_messages(tmp_path)[1]["finish_reason"] == "stop"
        # The key from the config file was used, and never sent to the browser.
        assert loopback.request_headers[-1]["authorization"] == f"Bearer {KEY}"
        assert KEY.encode() not in tab.received and KEY[-12:].encode() not in tab.received
        assert KEY not in html and str(config) not in html


async def test_closing_the_tab_mid_reply_saves_it_and_ends_its_app(
        serve: Serve, loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.default_reply = Reply(text=LONG_ANSWER, delay=0.05)
    async with Tab(serve) as tab:
        await tab.wait_for("Ask about a film")
        [app] = serve.tabs()
        await tab.send(QUESTION)
        await tab.press("enter")
        await tab.wait_for("word5")
    # The tab is closed: like a closed terminal, its app saves what arrived and exits.
    wait_until(lambda: not process_alive(app), 20, "the tab's app is still running")
    user, reply = saved_messages(tmp_path)
    assert user["content"] == QUESTION
    assert str(reply["content"]).startswith("word0 word1 word2 word3 word4 word5")
    assert reply["content"] != LONG_ANSWER
    assert reply["finish_reason"] == "cancelled"  # ended and saved, not cut off mid-stream
    assert serve.tabs() == []
    assert serve.process is not None and serve.process.poll() is None  # serve goes on


async def test_ctrl_c_stops_every_tab_after_saving(
        serve: Serve, loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.default_reply = Reply(text=LONG_ANSWER, delay=0.05)
    async with Tab(serve) as first, Tab(serve) as second:
        await first.wait_for("Ask about a film")
        await second.wait_for("Ask about a film")
        apps = serve.tabs()
        assert len(apps) == 2
        await first.send(QUESTION)
        await first.press("enter")
        await first.wait_for("word5")
        code, out, err = serve.stop(signal.SIGINT)
        await first.wait_until(lambda: first.closed and second.closed, 10,
                               "the tabs' pages were not told")
    assert code == 0, err
    assert "Stopped serving" in out
    assert not any(process_alive(pid) for pid in apps)
    user, reply = saved_messages(tmp_path)
    assert user["content"] == QUESTION
    assert str(reply["content"]).startswith("word0 word1 word2")
    assert reply["finish_reason"] == "cancelled"


async def test_export_arrives_as_a_download(serve: Serve, tmp_path: Path) -> None:
    async with Tab(serve) as tab:
        await tab.wait_for("Ask about a film")
        await tab.send(QUESTION)
        await tab.press("enter")
        await tab.wait_for(ANSWER)
        await tab.press("ctrl+s")
        await tab.wait_until(lambda: any(m[0] == "deliver_file_start" for m in tab.messages),
                             10, "no download was offered")
        key = next(m[1] for m in tab.messages if m[0] == "deliver_file_start")
        async with (aiohttp.ClientSession() as stranger,
                    stranger.get(f"{serve.base}/download/{key}") as response):
            assert response.status == 403
        async with (aiohttp.ClientSession(cookies=serve.cookie) as browser,
                    browser.get(f"{serve.base}/download/{key}") as response):
            assert response.status == 200
            disposition = response.headers["Content-Disposition"]
            body = await response.text()
    [written] = (tmp_path / "data" / "exports").glob("*.md")
    assert disposition.startswith("attachment;") and written.name in disposition
    assert body == written.read_text(encoding="utf-8")
    assert QUESTION in body and ANSWER in body


def _serve_once(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MOVIECHAT, "serve", *flags, "--base-url", "http://127.0.0.1:9/v1"],
                          env=app_env(tmp_path), capture_output=True, text=True, timeout=30)


def test_an_open_network_address_needs_the_token_and_gets_a_warning(tmp_path: Path) -> None:
    refused = _serve_once(tmp_path, "--host", "0.0.0.0", "--no-token")
    assert refused.returncode == 2
    assert "--no-token is refused on 0.0.0.0" in refused.stderr
    # TEST-NET-1 is no address of this machine: the warning comes, then nothing is served.
    warned = _serve_once(tmp_path, "--host", "192.0.2.1", "--port", "0")
    assert "other machines can reach" in warned.stderr
    assert "not encrypted" in warned.stderr
    assert warned.returncode == 1
    assert "192.0.2.1 is not an address of this machine" in warned.stderr


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve_once(tmp_path, "--port", str(port))
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"moviechat serve: port {port} on 127.0.0.1 is already in use: pick another with "
        "--port (0 picks a free one).")


def test_a_broken_config_stops_serve_before_any_tab(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("model = [\n", encoding="utf-8")
    result = _serve_once(tmp_path, "--config", str(config))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(config) in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
async def test_a_killed_serve_leaves_no_tab_behind(
        serve: Serve, loopback: LoopbackServer, tmp_path: Path) -> None:
    loopback.default_reply = Reply(text=LONG_ANSWER, delay=0.05)
    async with Tab(serve) as tab:
        await tab.wait_for("Ask about a film")
        [app] = serve.tabs()
        await tab.send(QUESTION)
        await tab.press("enter")
        await tab.wait_for("word5")
        assert serve.process is not None
        serve.process.kill()  # no chance to stop its tabs
        serve.process.wait()
        wait_until(lambda: not process_alive(app), 20, "the tab outlived serve")
    user, reply = saved_messages(tmp_path)
    assert user["content"] == QUESTION
    assert str(reply["content"]).startswith("word0 word1 word2")


async def test_a_link_opens_in_the_browser_only_after_the_dialog(
        serve: Serve, loopback: LoopbackServer) -> None:
    loopback.default_reply = Reply(text="See [Alien on IMDb](https://www.imdb.com/title/"
                                   "tt0078748/) for more.", delay=0.01)
    async with Tab(serve) as tab:
        await tab.wait_for("Ask about a film")
        await tab.send(QUESTION)
        await tab.press("enter")
        screen = await tab.wait_for("Alien on IMDb")
        row = next(y for y, line in enumerate(screen.splitlines()) if "Alien on IMDb" in line)
        column = screen.splitlines()[row].index("Alien on IMDb") + 2
        await tab.click(column, row)  # the mouse, as xterm.js reports it
        await tab.wait_for("Open this link in your browser?")
        assert not any(m[0] == "open_url" for m in tab.messages)  # not before the user says
        await tab.press("enter")  # "Open" has the focus
        await tab.wait_until(lambda: any(m[0] == "open_url" for m in tab.messages), 10,
                             "the page was not asked to open the link")
    [opened] = [m[1] for m in tab.messages if m[0] == "open_url"]
    assert opened == {"url": "https://www.imdb.com/title/tt0078748/", "new_tab": True}


async def test_quitting_in_a_tab_ends_its_app_and_tells_the_page(serve: Serve) -> None:
    async with Tab(serve) as tab:
        await tab.wait_for("Ask about a film")
        [app] = serve.tabs()
        await tab.press("ctrl+q")
        await tab.wait_until(lambda: tab.closed, 15, "the page was not told the app ended")
    wait_until(lambda: not process_alive(app), 15, "the app is still running")
    assert serve.process is not None and serve.process.poll() is None


def test_without_the_web_extra_serve_says_how_to_get_it(tmp_path: Path) -> None:
    hide = ("import sys; sys.modules['textual_serve'] = sys.modules['aiohttp'] = None; "
            "from moviechat_tui.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", hide, "serve"], env=app_env(tmp_path),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr == ("moviechat serve: the browser mode needs the [web] extra: "
                             "pip install 'moviechat-tui[web]'\n")
