"""A small OpenAI-compatible streaming server for tests: TTFT, token gap, errors and stalls are set per test.

It speaks just enough HTTP/1.1 (keep-alive, chunked server-sent events) for `/v1/completions` and
`/v1/chat/completions` with `stream: true`, the way vLLM answers them, including the final usage event.
It runs its own event loop in a thread so the code under test keeps the main thread; `python fake_openai.py`
serves it from a separate process (benchmarks/bench_verify.py).

Token k (0-based) of a request is sent at ttft_s + k * gap_s after its headers arrive, scheduled from that
instant rather than after the previous send, so the delays the client sees are the ones set here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeSettings", "FakeOpenAI"]


@dataclass
class FakeSettings:
    ttft_s: float = 0.0
    gap_s: float = 0.0
    error_rate: float = 0.0
    """Fraction of requests answered with HTTP 503 (seeded, so a test sees the same sequence every time)."""
    error_seed: int = 7
    stall_after_tokens: int | None = None
    """Stop sending (without closing) after this many tokens; 0 stalls before the first token."""
    silent: bool = False
    """Read the request, then never send even the status line."""
    refuse_ignore_eos: bool = False
    """Answer 400 to a body carrying ignore_eos, as servers without vLLM's extension do."""
    tokens_per_event: int = 1
    drop_done: bool = False
    """End the stream without `data: [DONE]` (a truncated stream)."""


@dataclass
class FakeOpenAI:
    settings: FakeSettings = field(default_factory=FakeSettings)
    host: str = "127.0.0.1"
    port: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-openai", daemon=True)
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._rng = random.Random(self.settings.error_seed)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        fut.result(timeout=10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                path, body = request
                await self._respond(path, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _respond(self, path: str, body: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        start = time.perf_counter()
        s = self.settings
        self.paths.append(path)
        self.bodies.append(body)
        if s.silent:
            await asyncio.sleep(3600)
        if path not in ("/v1/completions", "/v1/chat/completions"):
            await _plain(writer, 404, {"error": {"message": f"no route {path}"}})
            return
        if s.refuse_ignore_eos and "ignore_eos" in body:
            await _plain(writer, 400, {"error": {"message": "Unrecognized request argument: ignore_eos"}})
            return
        if s.error_rate and self._rng.random() < s.error_rate:
            await _plain(writer, 503, {"error": {"message": "overloaded"}})
            return
        chat = path.endswith("/chat/completions")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
        if chat:
            await _event(writer, {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        total = int(body.get("max_tokens") or 16)
        sent = 0
        k = 0
        while sent < total:
            if s.stall_after_tokens is not None and sent >= s.stall_after_tokens:
                await asyncio.sleep(3600)
            due = start + s.ttft_s + k * s.gap_s
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            n = min(s.tokens_per_event, total - sent)
            text = " tok" * n
            choice: dict[str, Any] = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
            await _event(writer, {"choices": [choice]})
            sent += n
            k += 1
        await _event(writer, {"choices": [], "usage": {"prompt_tokens": len(str(body.get("prompt", "")).split()),
                                                        "completion_tokens": sent}})
        if not s.drop_done:
            await _chunk(writer, b"data: [DONE]\n\n")
        await _chunk(writer, b"")


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, Any]] | None:
    head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
    if not head:
        return None
    lines = head.decode("latin-1").split("\r\n")
    _method, path, _version = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    raw = await reader.readexactly(length) if length else b"{}"
    return path, json.loads(raw)


async def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


async def _event(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    await _chunk(writer, b"data: " + json.dumps(payload).encode() + b"\n\n")


async def _plain(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    reason = {400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}.get(status, "Error")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    await writer.drain()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="serve the fake OpenAI-compatible endpoint until interrupted")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--gap", type=float, default=0.0)
    parser.add_argument("--error-rate", type=float, default=0.0)
    opts = parser.parse_args()
    settings = FakeSettings(ttft_s=opts.ttft, gap_s=opts.gap, error_rate=opts.error_rate)
    fake = FakeOpenAI(settings, port=opts.port).start()
    print(fake.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    fake.stop()
