"""The open-loop load generator: Poisson arrivals against an OpenAI-compatible streaming endpoint.

Open loop means arrivals follow the clock, not the server: a slow server does not slow the offered load
down, it piles requests up, as real users would. Every request is timed from the moment it was due to be
sent, so time spent waiting for a free connection in the client counts against the server only if the
client itself is the bottleneck (which the overhead benchmark in benchmarks/bench_verify.py bounds).

httpx is imported inside `run_load`, so importing this module (and `servestack plan`) stays cheap.
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx

__all__ = ["Api", "LoadClass", "LoadConfig", "RequestResult", "LoadRun", "Progress", "make_prompt", "arrival_times",
           "class_schedule", "run_load"]

Api = Literal["completions", "chat"]

# A word-sized filler: common English words that BPE vocabularies (Llama, Mistral, GPT) hold as one token
# each with their leading space, so N words give about N prompt tokens (docs/verify.md).
_WORDS = ("the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on",
          "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you")


def make_prompt(words: int, seed: int) -> str:
    """A prompt of `words` words (about as many tokens); the seed varies it so no prefix cache serves it all."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) for _ in range(max(1, words)))


def arrival_times(rate: float, horizon_s: float, seed: int) -> list[float]:
    """Poisson arrival offsets (s) in [0, horizon_s): exponential gaps with mean 1/rate."""
    rng = random.Random(seed)
    times: list[float] = []
    t = rng.expovariate(rate)
    while t < horizon_s:
        times.append(t)
        t += rng.expovariate(rate)
    return times


@dataclass(frozen=True, slots=True)
class LoadClass:
    """One request size class of a mix: its share of the requests and the prompt and output it sends."""

    name: str
    share: float
    input_words: int
    max_tokens: int


def class_schedule(classes: tuple[LoadClass, ...], count: int, seed: int) -> list[LoadClass]:
    """The class of each of `count` requests, drawn independently with the classes' shares as probabilities.

    Independent draws split one Poisson arrival stream into one Poisson stream per class at rate x share,
    which is how a mix of users arrives; the seed makes a run repeatable.
    """
    rng = random.Random(seed * 7919 + 17)
    return rng.choices(list(classes), weights=[c.share for c in classes], k=count)


@dataclass(frozen=True, slots=True)
class LoadConfig:
    """One run: where to send, what, how fast and for how long. Times in seconds."""

    url: str
    """Full URL of the completions or chat completions route."""
    api: Api
    model: str
    rate: float
    """Offered requests/s (Poisson)."""
    duration_s: float
    """Measured window, after the warm-up."""
    warmup_s: float
    """Arrivals in the first `warmup_s` are sent but not counted."""
    timeout_s: float
    """Longest a single request may take, first byte to last; longer is a timeout error."""
    input_words: int
    max_tokens: int
    ignore_eos: bool = True
    seed: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    classes: tuple[LoadClass, ...] = ()
    """A request mix: each request takes one class's prompt and output length (input_words and max_tokens are
    then unused); empty for one class of input_words/max_tokens."""

    @property
    def deadline_s(self) -> float:
        """The whole run ends by then: the last arrival plus one request timeout, plus a second of slack."""
        return self.warmup_s + self.duration_s + self.timeout_s + 1.0


@dataclass(frozen=True, slots=True)
class RequestResult:
    """What one request did. Times in seconds from its due send time."""

    due_s: float
    """When it was due, from the start of the run."""
    warmup: bool
    ttft_s: float | None = None
    e2e_s: float | None = None
    output_tokens: int = 0
    error: str | None = None
    """None when it succeeded; else a short kind: timeout, connect, http_503, stream, ..."""
    detail: str | None = None
    request_class: str | None = None
    """The mix class it was sized as; None without a mix."""

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def tpot_s(self) -> float | None:
        """(e2e - ttft) / (tokens - 1): the mean gap between output tokens; None for a single token."""
        if self.ttft_s is None or self.e2e_s is None or self.output_tokens < 2:
            return None
        return (self.e2e_s - self.ttft_s) / (self.output_tokens - 1)


@dataclass(frozen=True, slots=True)
class LoadRun:
    """Every request of a run and its wall-clock frame."""

    config: LoadConfig
    results: list[RequestResult]
    started_at: float
    """time.time() at the start (for the record)."""
    hit_deadline: bool
    """True when the run deadline cancelled requests still in flight."""
    ignore_eos_refused: bool = False


Progress = Callable[[float, int, int], None]
"""Called about 10 times a second with (elapsed s, completed requests, errors)."""


class _StreamError(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        self.kind, self.detail = kind, detail
        super().__init__(detail)


class _Runner:
    def __init__(self, config: LoadConfig, client: httpx.AsyncClient, schedule: list[LoadClass]) -> None:
        self.config = config
        self.client = client
        self.schedule = schedule
        self.ignore_eos = config.ignore_eos
        self.ignore_eos_refused = False
        self.done = 0
        self.errors = 0

    def class_name(self, index: int) -> str | None:
        return self.schedule[index].name if self.schedule else None

    def body(self, index: int) -> dict[str, Any]:
        c = self.config
        words, max_tokens = c.input_words, c.max_tokens
        if self.schedule:
            words, max_tokens = self.schedule[index].input_words, self.schedule[index].max_tokens
        prompt = make_prompt(words, c.seed * 1_000_003 + index)
        body: dict[str, Any] = {"model": c.model, "max_tokens": max_tokens, "stream": True,
                                "stream_options": {"include_usage": True}, "temperature": 0.0}
        if c.api == "chat":
            body["messages"] = [{"role": "user", "content": prompt}]
        else:
            body["prompt"] = prompt
        if self.ignore_eos:
            # vLLM's extension: generate exactly max_tokens, so output length is the spec's, not the model's whim.
            body["ignore_eos"] = True
        return body

    async def one(self, index: int, due: float, t0: float, warmup: bool) -> RequestResult:
        import httpx

        start = t0 + due
        seen: list[float] = []  # the first token's time, once it arrives: tells a stall from silence
        try:
            first, end, tokens = await asyncio.wait_for(self._stream(index, seen), timeout=self.config.timeout_s)
        except asyncio.TimeoutError:
            stage = "no first token" if not seen else "the stream stalled after its first token"
            return self._fail(index, due, warmup, "timeout",
                              f"{stage}; request not done within {self.config.timeout_s:g} s")
        except _StreamError as exc:
            return self._fail(index, due, warmup, exc.kind, exc.detail)
        except httpx.ConnectError as exc:
            return self._fail(index, due, warmup, "connect", str(exc) or "connection refused")
        except httpx.TimeoutException as exc:
            return self._fail(index, due, warmup, "timeout", f"{type(exc).__name__}: {exc}")
        except httpx.HTTPError as exc:
            return self._fail(index, due, warmup, "stream", f"{type(exc).__name__}: {exc}")
        self.done += 1
        return RequestResult(due, warmup, ttft_s=first - start, e2e_s=end - start, output_tokens=tokens,
                             request_class=self.class_name(index))

    def _fail(self, index: int, due: float, warmup: bool, kind: str, detail: str) -> RequestResult:
        self.done += 1
        self.errors += 1
        return RequestResult(due, warmup, error=kind, detail=detail[:300], request_class=self.class_name(index))

    async def _stream(self, index: int, seen: list[float]) -> tuple[float, float, int]:
        """(time of the first token, time of [DONE], output tokens) of one streamed request."""
        c = self.config
        body = self.body(index)
        async with self.client.stream("POST", c.url, json=body, headers=c.headers) as response:
            if response.status_code != 200:
                text = (await response.aread()).decode("utf-8", "replace")
                if response.status_code == 400 and "ignore_eos" in text and self.ignore_eos:
                    # A server that is not vLLM may refuse the extension: stop sending it, keep the run going.
                    self.ignore_eos = False
                    self.ignore_eos_refused = True
                raise _StreamError(f"http_{response.status_code}", text[:300] or response.reason_phrase)
            first: float | None = None
            chunks = 0
            usage_tokens: int | None = None
            finished = False
            done_at = 0.0
            pending = b""
            # Server-sent events split by hand from the raw bytes: httpx's line iterator costs several times
            # more CPU per token, and the client's CPU is what bounds the rate one core can drive.
            async for block in response.aiter_bytes():
                lines = (pending + block).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        finished = True
                        done_at = time.perf_counter()
                        break
                    # Decode every event until the first token, then only those that can end or count the
                    # stream (usage, error); the rest are tokens, and only their count and timing matter.
                    if first is not None and b'"usage"' not in data and b'"error"' not in data:
                        chunks += 1
                        continue
                    event = _event(data)
                    usage = event.get("usage")
                    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
                        usage_tokens = usage["completion_tokens"]
                    if _has_text(event, c.api):
                        chunks += 1
                        if first is None:
                            first = time.perf_counter()
                            seen.append(first)
                # After [DONE] the loop runs on to the body's end, so the connection goes back to the pool:
                # leaving early would close it and every request would pay a new TCP connection.
            if not finished:
                raise _StreamError("stream", "the stream ended before data: [DONE]")
            if first is None:
                raise _StreamError("stream", "the stream carried no output token")
            # The server's count wins: one event may carry several tokens.
            return first, done_at, usage_tokens if usage_tokens is not None else chunks


def _event(data: bytes) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _StreamError("stream", f"not JSON in the event stream: {data[:80]!r}") from None
    if not isinstance(event, dict):
        raise _StreamError("stream", f"not a JSON object in the event stream: {data[:80]!r}")
    if "error" in event:
        raise _StreamError("stream", f"error event: {json.dumps(event['error'])[:200]}")
    return event


def _has_text(event: dict[str, Any], api: Api) -> bool:
    choices = event.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return False
    choice = choices[0]
    if api == "chat":
        delta = choice.get("delta")
        return isinstance(delta, dict) and bool(delta.get("content"))
    return bool(choice.get("text"))


async def _run(config: LoadConfig, progress: Progress | None) -> LoadRun:
    import httpx

    horizon = config.warmup_s + config.duration_s
    arrivals = arrival_times(config.rate, horizon, config.seed)
    # No pool limit: an open-loop client must not queue requests behind its own connection cap. Connect and
    # read timeouts bound each socket operation; `one` bounds each request as a whole.
    timeout = httpx.Timeout(config.timeout_s, pool=None)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    started_at = time.time()
    async with httpx.AsyncClient(timeout=timeout, limits=limits, trust_env=False) as client:
        schedule = class_schedule(config.classes, len(arrivals), config.seed) if config.classes else []
        runner = _Runner(config, client, schedule)
        t0 = time.perf_counter()
        tasks: list[asyncio.Task[RequestResult]] = []

        async def launch() -> None:
            for i, due in enumerate(arrivals):
                delay = t0 + due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(runner.one(i, due, t0, due < config.warmup_s)))

        async def tick() -> None:
            while progress is not None:
                progress(time.perf_counter() - t0, runner.done, runner.errors)
                await asyncio.sleep(0.1)

        ticker = asyncio.create_task(tick())
        launcher = asyncio.create_task(launch())
        hit_deadline = False
        deadline = t0 + config.deadline_s
        try:
            await asyncio.wait_for(launcher, timeout=max(0.0, deadline - time.perf_counter()))
            pending = [t for t in tasks if not t.done()]
            if pending:
                _, still = await asyncio.wait(pending, timeout=max(0.0, deadline - time.perf_counter()))
                hit_deadline = bool(still)
        except asyncio.TimeoutError:
            hit_deadline = True
        finally:
            ticker.cancel()
            launcher.cancel()
        end = time.perf_counter()
        results: list[RequestResult] = []
        for index, (task, due) in enumerate(zip(tasks, arrivals, strict=False)):
            if task.done() and not task.cancelled():
                results.append(task.result())
            else:
                task.cancel()
                results.append(RequestResult(due, due < config.warmup_s, error="timeout",
                                             detail=f"still running at the run deadline ({config.deadline_s:g} s)",
                                             request_class=runner.class_name(index)))
        await asyncio.gather(*tasks, return_exceptions=True)
        if progress is not None:
            progress(end - t0, len(results), sum(1 for r in results if not r.ok))
    return LoadRun(config, results, started_at, hit_deadline, runner.ignore_eos_refused)


def run_load(config: LoadConfig, progress: Progress | None = None) -> LoadRun:
    """Run the load test to completion (or its deadline) and return every request's result.

    The objects alive before the run are frozen out of the garbage collector's reach while it runs: a full
    collection stops every thread for as long as it scans the heap (about a second for a few million objects,
    as a long-lived process such as a notebook or a test session holds), and every request in flight would
    count that pause as the server's latency. Collections during the run then scan only the run's own objects.
    """
    caller_froze = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        return asyncio.run(_run(config, progress))
    finally:
        if not caller_froze:  # a caller's own frozen objects stay frozen
            gc.unfreeze()
