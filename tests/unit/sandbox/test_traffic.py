"""The traffic client against local HTTP servers, including ones that fail."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kdeploy.sandbox.traffic import Result, Traffic, get, percentile, summarize


class App:
    """What the local server answers: a version, and which paths fail how."""

    def __init__(self) -> None:
        self.version = "v1"
        self.fail_every = 0  # /flaky: every n-th request answers 500
        self.count = 0
        self.lock = threading.Lock()


def _handler(app: App) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with app.lock:
                app.count += 1
                count = app.count
            if self.path == "/drop":
                # Close the connection without a response: what a proxy does when it cuts one.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if self.path == "/slow":
                time.sleep(1.0)
            if self.path == "/500" or (self.path == "/flaky" and app.fail_every
                                       and count % app.fail_every == 0):
                self._answer(500, "boom\n")
                return
            self._answer(200, f"{app.version}\n")

        def _answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out (/slow) breaks the pipe: expected here


@pytest.fixture
def server() -> Iterator[tuple[str, App]]:
    app = App()
    httpd = QuietServer(("127.0.0.1", 0), _handler(app))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", app
    finally:
        httpd.shutdown()
        httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_get_reads_status_and_body(server: tuple[str, App]) -> None:
    base, _ = server
    result = get(f"{base}/version", timeout=2)
    assert result.ok and result.status == 200 and result.body == "v1" and result.error is None
    assert result.latency >= 0 and result.url == f"{base}/version"


def test_get_counts_500_drops_timeouts_and_refusals_as_failed(server: tuple[str, App]) -> None:
    base, _ = server
    bad = get(f"{base}/500", timeout=2)
    assert not bad.ok and bad.status == 500 and "HTTP 500" in bad.describe()
    dropped = get(f"{base}/drop", timeout=2)
    assert not dropped.ok and dropped.status is None
    assert "RemoteDisconnected" in (dropped.error or "") or "Reset" in (dropped.error or "")
    slow = get(f"{base}/slow", timeout=0.2)
    assert not slow.ok and "timed out" in (slow.error or "")
    refused = get(f"http://127.0.0.1:{_free_port()}/", timeout=2)
    assert not refused.ok and "ConnectionRefusedError" in (refused.error or "")


def test_get_ignores_an_env_proxy(server: tuple[str, App], monkeypatch: pytest.MonkeyPatch) -> None:
    base, _ = server
    dead = f"http://127.0.0.1:{_free_port()}"
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert get(f"{base}/version", timeout=2).ok


def test_traffic_serves_and_sees_the_switch(server: tuple[str, App]) -> None:
    base, app = server
    urls = [f"{base}/version", f"{base}/version?second"]
    with Traffic(urls, timeout=2) as traffic:
        assert traffic.wait_for(5)
        app.version = "v2"
        switched = time.time()
        # Only requests started after the switch can see v2: wait for some of each URL.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
                sum(r.url == url for r in traffic.results(since=switched + 0.01)) >= 3
                for url in urls):
            time.sleep(0.02)
    summary = traffic.summary()
    assert summary.failed == 0, summary.errors
    assert summary.served == summary.total >= 16
    assert summary.bodies == {url: {"v1", "v2"} for url in urls}
    assert summary.last == {url: "v2" for url in urls}
    assert summary.p50 is not None and summary.p99 is not None and summary.p50 <= summary.p99
    after = traffic.summary(since=switched + 0.01)
    assert after.bodies == {url: {"v2"} for url in urls}


def test_traffic_counts_failures_with_a_sample(server: tuple[str, App]) -> None:
    base, app = server
    app.fail_every = 3
    with Traffic([f"{base}/flaky", f"{base}/drop"], timeout=2) as traffic:
        assert traffic.wait_for(6)
    summary = traffic.summary()
    assert summary.failed >= 8  # every /drop and every third /flaky
    assert summary.served >= 3
    assert 0 < len(summary.errors) <= 10
    failures = [r for r in traffic.results() if not r.ok]
    assert {r.status for r in failures} == {500, None}  # the 500s and the dropped connections
    assert f"{base}/drop" not in summary.bodies  # no body of a failed request
    assert summary.bodies[f"{base}/flaky"] == {"v1"}


def test_traffic_stops_and_rejects_bad_urls(server: tuple[str, App]) -> None:
    base, _ = server
    traffic = Traffic([f"{base}/version"], timeout=2).start()
    assert traffic.wait_for(1)
    with pytest.raises(RuntimeError):
        traffic.start()
    summary = traffic.stop()
    count = len(traffic.results())
    assert summary.total == count
    time.sleep(0.1)
    assert len(traffic.results()) == count  # nothing sent after stop
    with pytest.raises(ValueError, match="not an http"):
        Traffic(["ftp://example/x"])
    with pytest.raises(ValueError):
        Traffic([])


def test_percentiles_and_summary_of_known_results() -> None:
    assert percentile([], 0.99) is None
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0
    results = [Result("u", 1.0, 0.1, 200, None, "v1"), Result("u", 2.0, 0.3, 200, None, "v2"),
               Result("u", 3.0, 9.0, None, "TimeoutError: timed out"),
               Result("w", 4.0, 0.2, 502, None, "bad gateway")]
    summary = summarize(results)
    assert (summary.served, summary.failed) == (2, 2)
    assert summary.errors == ["u: TimeoutError: timed out", "w: HTTP 502 'bad gateway'"]
    # Latency percentiles are of the served requests only.
    assert (summary.p50, summary.p99) == (0.1, 0.3)
    assert summary.bodies == {"u": {"v1", "v2"}} and summary.last == {"u": "v2"}
