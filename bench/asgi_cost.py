"""In-process CPU cost per request: call an ASGI app directly, no sockets, no HTTP parsing.

Run with the interpreter of the project that holds the app (run.py does):

    python asgi_cost.py --app bench_app.main:app --spec '[{"name": ..., "method": "GET",
        "path": "/health/live", "status": 200}]' --seconds 2 --batches 5 [--access-log]

The lifespan runs first (as uvicorn would). Each endpoint is warmed up, then called
sequentially for --seconds split into --batches; the CPU time of this process
(time.process_time) per request is reported per batch, as JSON on stdout.
--access-log also emits uvicorn's access-log record after every response, through the
app's own logging configuration, as the served app does when ACCESS_LOG is on.
The database and Redis servers' own CPU is not counted: this is the app's share.
"""

import argparse
import asyncio
import importlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any


def load_app(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr or "app")


class Lifespan:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self._receive: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._send: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def __aenter__(self) -> dict[str, Any]:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self._task = asyncio.create_task(self.app(scope, self._receive.get, self._send.put))
        await self._receive.put({"type": "lifespan.startup"})
        message = await self._send.get()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"lifespan startup failed: {message}")
        return self.state

    async def __aexit__(self, *exc: object) -> None:
        await self._receive.put({"type": "lifespan.shutdown"})
        await self._send.get()
        await self._task


class Caller:
    """Builds uvicorn-like scopes and collects the response status."""

    def __init__(self, app: Any, state: dict[str, Any], access_log: bool) -> None:
        self.app = app
        self.state = state
        self.access_logger = logging.getLogger("uvicorn.access") if access_log else None
        self.counter = 0

    async def __call__(self, method: str, path: str, body: bytes) -> int:
        raw_path, _, query = path.partition("?")
        headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench")]
        if body:
            headers += [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": method,
            "root_path": "",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "headers": headers,
            # uvicorn hands every request a shallow copy of the lifespan state.
            "state": self.state.copy(),
        }
        done = asyncio.Event()
        sent_body = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        await self.app(scope, receive, send)
        if self.access_logger is not None:
            # The record uvicorn's httptools protocol emits when access_log is on.
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", method, path, "1.1", status
            )
        return status


async def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    app = load_app(args.app)
    results = []
    async with Lifespan(app) as state:
        caller = Caller(app, state, args.access_log)
        for endpoint in json.loads(args.spec):
            method, path, expected = endpoint["method"], endpoint["path"], endpoint["status"]
            prefix = f"asgi-{os.getpid()}-{endpoint['name']}"

            def body_for(
                i: int, endpoint: dict[str, Any] = endpoint, prefix: str = prefix
            ) -> bytes:
                if not endpoint.get("post_items"):
                    return b""
                return json.dumps(
                    {"name": f"{prefix}-{i}", "description": "written by the benchmark"}
                ).encode()

            n = 0
            for _ in range(args.warmup):
                n += 1
                status = await caller(method, path, body_for(n))
                if status != expected:
                    raise SystemExit(f"{endpoint['name']}: {method} {path} -> {status}")
            per_batch = args.seconds / args.batches
            batches = []
            for _ in range(args.batches):
                count = 0
                cpu0, wall0 = time.process_time(), time.perf_counter()
                while True:
                    n += 1
                    count += 1
                    await caller(method, path, body_for(n))
                    if count % 50 == 0 and time.perf_counter() - wall0 >= per_batch:
                        break
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                batches.append(
                    {"requests": count, "cpu_us": cpu / count * 1e6, "wall_us": wall / count * 1e6}
                )
            results.append({"name": endpoint["name"], "batches": batches})
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args()
    report(lambda: measure(args))


def report(probe: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    """Run `probe` on uvloop, as the app runs, with the project (the working directory)
    importable, and print its result for bench to read."""
    sys.path.insert(0, os.getcwd())
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results = runner.run(probe())
    # stdout carries only the result; the app's logs go to stderr.
    print("BENCH_JSON " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
