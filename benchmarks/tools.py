"""The app's own time per tool round trip (issue 17: ≤ 30 ms), and its floor.

    python -m benchmarks.tools                       # fixture catalogue, 3 sessions
    python -m benchmarks.tools --catalogue PATH      # e.g. a million-title catalogue
    python -m benchmarks.tools --quick               # CI smoke test: one session
    python -m benchmarks.tools --json out.json

The real app (`python -m moviechat_tui`) in a pseudo-terminal, against the test suite's
loopback server in its own process (`--child-server`), which answers a question with
`ROUNDS` rounds of `search_films` calls (a real title each, so the catalogue is searched)
and then the answer. The server notes, on the shared monotonic clock, when it finished
sending each response and when the next request had arrived whole (each response comes
`MODEL_TIME` after its request, as from a fast model): the gap between the two is
everything but the model's time — reading the end of the stream, running the call (a
catalogue search), showing its line, building the next request with the results, the save
it schedules, and the HTTP request itself.

Floor (same run, same server): the openai SDK alone, sending the next request as soon as a
stream ends — the transport's share of the gap, which no app can go below.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.apps import GREETING, REPO, Sandbox, moviechat_argv, running
from benchmarks.config import MachineLoad
from benchmarks.results import Metric, percentile, table, write_json

ROUNDS = 5
"""Rounds of calls per question (the app allows 6)."""
MODEL_TIME = 0.1
"""Seconds the server waits before each response, as a fast model takes to its first token
(OpenAI's usually take 0.3–1 s). It is not part of the figure: the gap is measured from the
end of one response to the arrival of the next request."""
ANSWER = "Done looking: ZQXANSWER{n}"
QUESTION = "Look up these films for me, one at a time, please."


# -- the server, in its own process ----------------------------------------------------------

def _child_server(script: str) -> int:
    """The loopback server answering the replies in `script` (JSON), then the default;
    prints `URL <base_url>`, then per request `REQ <index> <arrived>` and `END <index>
    <finished>` (time.monotonic())."""
    from tests.support import loopback_server as lb

    class TimedHandler(lb._Handler):
        def _answer(self, index: int, body: dict[str, Any], reply: lb.Reply) -> None:
            say(f"REQ {index} {time.monotonic():.6f}")
            self._done_at = 0.0
            reply = dataclasses.replace(reply, text=reply.text.replace("{n}", f"{index:03d}"))
            try:
                super()._answer(index, body, reply)
            finally:  # also when the client left right after [DONE]
                say(f"END {index} {self._done_at or time.monotonic():.6f}")

        def _write_chunk(self, data: bytes) -> None:
            if data.startswith(b"data: [DONE]"):  # the response is over for the client
                self._done_at = time.monotonic()
            super()._write_chunk(data)

    class TimedServer(lb._Server):
        def __init__(self, address: tuple[str, int], owner: lb.LoopbackServer) -> None:
            self.owner = owner
            self.open_sockets = set()
            self.sockets_lock = threading.Lock()
            lb.ThreadingHTTPServer.__init__(self, address, TimedHandler)

    thinking = {"fault": lb.HANG, "hang_for": MODEL_TIME}
    server = lb.LoopbackServer(default_reply=lb.Reply(text=ANSWER, **thinking))
    for entry in json.loads(script):
        calls = [lb.ToolCall(c["name"], c["arguments"]) for c in entry.get("tool_calls", [])]
        server.push(lb.Reply.calling(*calls, **thinking) if calls
                    else lb.Reply(text=entry["text"], **thinking))
    printing = threading.Lock()

    def say(line: str) -> None:
        with printing:  # one whole line at a time: handlers run in threads
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
    server._httpd = TimedServer(("127.0.0.1", 0), server)
    server.port = server._httpd.server_address[1]
    thread = threading.Thread(target=server._httpd.serve_forever, daemon=True)
    thread.start()
    print(f"URL {server.base_url}", flush=True)
    sys.stdin.read()  # until the harness closes our stdin
    server._httpd.shutdown()
    return 0


class TimedServer:
    def __init__(self, replies: list[dict[str, Any]]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.tools", "--child-server", json.dumps(replies)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(REPO))
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "URL":
            self.close()
            raise RuntimeError(f"the timed server did not start: {first}")
        self.base_url = first[1]
        self.arrived: dict[int, float] = {}
        self.ended: dict[int, float] = {}
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            kind, index, at = line.split()
            with self._cond:
                (self.arrived if kind == "REQ" else self.ended)[int(index)] = float(at)
                self._cond.notify_all()

    def wait_ended(self, index: int, timeout: float = 30.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: index in self.ended, timeout):
                raise TimeoutError(f"request {index} was never answered")

    def gaps(self, first: int, last: int) -> list[float]:
        """ms from the end of response i to the arrival of request i + 1, i in [first, last)."""
        return [(self.arrived[i + 1] - self.ended[i]) * 1000 for i in range(first, last)]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the harness -----------------------------------------------------------------------------

def _titles(catalogue: Path, count: int, rng: random.Random) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(f"{catalogue.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    films = conn.execute("SELECT count(*) FROM films").fetchone()[0]
    ranks = [rng.randint(1, films) for _ in range(count)]
    titles = [conn.execute("SELECT title FROM films WHERE rank = ?", (rank,)).fetchone()[0]
              for rank in ranks]
    conn.close()
    return titles


def _script(titles: list[str]) -> list[dict[str, Any]]:
    """A warm-up answer, then the question's rounds of calls and its answer."""
    calls = [{"tool_calls": [{"name": "search_films",
                              "arguments": json.dumps({"query": title})}]}
             for title in titles]
    return [{"text": "Ready: ZQXWARM"}, *calls, {"text": ANSWER}]


def _app_session(catalogue: Path, titles: list[str]) -> list[float]:
    sandbox = Sandbox()
    data = sandbox.root / "data"
    (data / "films").mkdir(parents=True)
    (data / "films" / "catalogue.sqlite3").symlink_to(catalogue.absolute())
    server = TimedServer(_script(titles))
    try:
        argv = moviechat_argv(sandbox, "--model", "loopback-mini", data_dir=data,
                              base_url=server.base_url)
        with running(argv, sandbox) as term:
            term.wait_for_text(GREETING, timeout=30)
            term.send("Hello\r")  # imports openai and opens the connection: not timed
            term.wait_for_text("ZQXWARM", timeout=60)
            term.wait_for_row(0, lambda header: "●" not in header, timeout=30)  # idle
            term.send(QUESTION + "\r")
            term.wait_for_text(f"ZQXANSWER{len(titles) + 1:03d}", timeout=60)
            server.wait_ended(len(titles) + 1)
        return server.gaps(1, len(titles) + 1)
    finally:
        server.close()
        sandbox.cleanup()


def _floor_session(rounds: int) -> list[float]:
    """The openai SDK alone against the same server: next request as soon as a stream ends."""
    import asyncio

    import openai

    server = TimedServer([{"text": "x"} for _ in range(rounds + 1)])

    async def go() -> None:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-bench",
                                    http_client=openai.DefaultAsyncHttpxClient(
                                        trust_env=False))
        for _ in range(rounds + 1):
            stream = await client.chat.completions.create(
                model="loopback-mini", stream=True,
                messages=[{"role": "user", "content": "hi"}])
            async for _chunk in stream:
                pass
        await client.close()

    try:
        asyncio.run(go())
        server.wait_ended(rounds)
        return server.gaps(1, rounds)
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tools", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one session (CI smoke test)")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help=f"sessions of {ROUNDS} rounds each (default 3)")
    parser.add_argument("--catalogue", type=Path, metavar="PATH",
                        help="the catalogue to search (default: the test fixture's)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--child-server", metavar="SCRIPT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_server:
        return _child_server(args.child_server)

    os.chdir(REPO)
    load = MachineLoad()
    repeat = 1 if args.quick else args.repeat
    rng = random.Random(17)
    with tempfile.TemporaryDirectory(prefix="mc-bench-tools-") as tmp:
        catalogue = args.catalogue
        if catalogue is None:
            from tests.support.imdb_fixtures import install_catalogue

            catalogue = install_catalogue(Path(tmp))
        films = _films(catalogue)
        app: list[float] = []
        floor: list[float] = []
        for number in range(repeat):
            print(f"session {number + 1} of {repeat} …", file=sys.stderr, flush=True)
            app += _app_session(catalogue, _titles(catalogue, ROUNDS, rng))
            floor += _floor_session(ROUNDS)
    machine = load.summary()
    floor_p50 = statistics.median(floor)
    metrics = [
        Metric(f"tool round trip, app's time p50 ({len(app)} rounds, {films:,} films)",
               statistics.median(app), "msec", baseline=floor_p50,
               baseline_name="openai SDK alone", samples=app),
        Metric("tool round trip, app's time p95", percentile(app, 95), "msec",
               baseline=percentile(floor, 95), baseline_name="openai SDK alone",
               max_value=30.0),
        Metric("tool round trip, slowest", max(app), "msec"),
    ]
    print()
    print(f"moviechat-tui tool round trips — {os.cpu_count()} CPUs; other programs used "
          f"{machine['other_cpu_cores']:.2f} CPU cores on average")
    print()
    print(table(metrics))
    if args.json:
        write_json(args.json, metrics, {"quick": args.quick, "machine_load": machine})
    return 0


def _films(catalogue: Path) -> int:
    import sqlite3

    conn = sqlite3.connect(f"{catalogue.absolute().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM films").fetchone()[0])
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
