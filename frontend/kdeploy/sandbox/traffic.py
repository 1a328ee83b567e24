"""A traffic client for zero-downtime checks: GETs without pause, one thread per URL.

Every request opens a fresh connection (and asks the server to close it), so a connection that a
proxy or app drops during a switch is a failed request, not a silently retried one. Requests go
straight to the URL's host: `http.client` never reads `http_proxy`/`HTTP_PROXY`.

    with Traffic(["http://10.213.7.11/version", "http://10.213.7.12/version"]) as traffic:
        deploy()
    summary = traffic.summary()
    assert summary.failed == 0, summary.errors
    assert all(body == "v2" for body in summary.last.values())
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit

ERROR_SAMPLE = 10  # errors kept in a summary


@dataclass(frozen=True)
class Result:
    """One request: its URL, start (epoch seconds), latency (seconds) and outcome."""

    url: str
    start: float
    latency: float
    status: int | None  # None when no response arrived
    error: str | None  # the exception, None when a response arrived
    body: str = ""  # decoded, surrounding whitespace stripped, at most `body_limit` characters

    @property
    def ok(self) -> bool:
        """A 2xx response."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """Why the request failed (or `ok`), in one line."""
        if self.error is not None:
            return f"{self.url}: {self.error}"
        return f"{self.url}: HTTP {self.status}" + (f" {self.body[:80]!r}" if self.body else "")


@dataclass(frozen=True)
class Summary:
    """What a client saw: counts, latency percentiles of the served requests, bodies per URL."""

    served: int
    failed: int
    errors: list[str] = field(default_factory=list)  # the first ERROR_SAMPLE failures
    p50: float | None = None  # seconds; None without a served request
    p99: float | None = None
    bodies: dict[str, set[str]] = field(default_factory=dict)  # of the served requests
    last: dict[str, str] = field(default_factory=dict)  # the last served body per URL

    @property
    def total(self) -> int:
        """Requests sent."""
        return self.served + self.failed


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (`fraction` in 0..1) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summarize(results: Iterable[Result]) -> Summary:
    """Summarize `results` (in the order they finished)."""
    served: list[Result] = []
    failed: list[Result] = []
    for result in results:
        (served if result.ok else failed).append(result)
    bodies: dict[str, set[str]] = {}
    last: dict[str, str] = {}
    for result in sorted(served, key=lambda r: r.start):
        bodies.setdefault(result.url, set()).add(result.body)
        last[result.url] = result.body
    latencies = [r.latency for r in served]
    return Summary(served=len(served), failed=len(failed),
                   errors=[r.describe() for r in failed[:ERROR_SAMPLE]],
                   p50=percentile(latencies, 0.50), p99=percentile(latencies, 0.99),
                   bodies=bodies, last=last)


def get(url: str, timeout: float, body_limit: int = 1024) -> Result:
    """One GET of `url` on a new connection; a network failure is a failed Result, not raised."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    started, clock = time.time(), time.perf_counter()
    connection = kind(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace").strip()[:body_limit]
        return Result(url, started, time.perf_counter() - clock, response.status, None, body)
    except (OSError, http.client.HTTPException) as exc:
        # TimeoutError, ConnectionRefusedError, RemoteDisconnected (a dropped connection), ...
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return Result(url, started, time.perf_counter() - clock, None, error)
    finally:
        connection.close()


class Traffic:
    """Sends GETs without pause to each URL (one thread per URL) until stopped.

    Args:
        urls: http or https URLs (https with Python's default certificate checks).
        timeout: seconds for connecting and for each read; a slower request is failed.
        pause: seconds between two requests of one thread (0: none).
        body_limit: characters of each body kept.
    """

    def __init__(self, urls: Sequence[str], timeout: float = 2.0, pause: float = 0.0,
                 body_limit: int = 1024) -> None:
        if not urls:
            raise ValueError("Traffic needs at least one URL")
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"not an http(s) URL: {url}")
        self.urls = list(urls)
        self.timeout = timeout
        self.pause = pause
        self.body_limit = body_limit
        self._results: list[Result] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Traffic:
        """Start one sending thread per URL."""
        if self._threads:
            raise RuntimeError("Traffic already started")
        self._stop.clear()
        self._threads = [threading.Thread(target=self._loop, args=(url,), daemon=True,
                                          name=f"traffic {url}") for url in self.urls]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Summary:
        """Stop sending, wait for the requests in flight, return the summary of every request."""
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout * 2 + 5)
        self._threads = []
        return self.summary()

    def results(self, since: float | None = None) -> list[Result]:
        """A copy of the results so far (those started at or after `since`, epoch seconds)."""
        with self._lock:
            results = list(self._results)
        return results if since is None else [r for r in results if r.start >= since]

    def summary(self, since: float | None = None) -> Summary:
        """The summary of the results so far (started at or after `since`)."""
        return summarize(self.results(since))

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until each URL has at least `count` results; False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            results = self.results()
            if all(sum(r.url == url for r in results) >= count for url in self.urls):
                return True
            time.sleep(0.02)
        return False

    def _loop(self, url: str) -> None:
        while not self._stop.is_set():
            result = get(url, self.timeout, self.body_limit)
            with self._lock:
                self._results.append(result)
            if self.pause:
                self._stop.wait(self.pause)

    def __enter__(self) -> Traffic:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
