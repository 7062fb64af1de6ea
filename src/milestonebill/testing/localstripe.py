"""Run ``localstripe`` (a stateful Stripe stand-in from PyPI) for tests.

:class:`LocalStripe` starts it in a subprocess bound to 127.0.0.1 on a free
port, waits until it answers, and stops it; :class:`WebhookReceiver` is a
tiny HTTP server that collects the signed webhooks localstripe posts.

localstripe differs from Stripe in ways that matter here: it ignores
idempotency keys, rejects some parameters Stripe accepts (``description``
on a PaymentIntent, ``payment_method_options`` on a SetupIntent), has no
US bank accounts, and only emits ``payment_intent.succeeded`` and
``payment_intent.payment_failed`` among the events the adapter maps.
Those behaviours are covered with the in-memory gateway and the
request-shape tests instead.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import IO, Final

from milestonebill.gateways.base import WebhookDelivery

__all__ = ["TEST_API_KEY", "LocalStripe", "WebhookReceiver", "free_port", "localstripe_available"]

#: Any ``sk_`` key is accepted by localstripe.
TEST_API_KEY: Final = "sk_test_milestonebill_localstripe"

# Run localstripe's aiohttp app on loopback only and keep its state in memory
# (its own entry point binds every interface and pickles its store to /tmp).
_LAUNCHER: Final = """
import sys
from aiohttp import web
from localstripe import resources, server
resources.store.dump_to_disk = lambda: None
web.run_app(server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def localstripe_available() -> bool:
    """True when the ``localstripe`` package can be imported."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalStripe:
    """A running localstripe on a loopback port.

    Use it as a context manager::

        with LocalStripe() as ls:
            gateway = StripeGateway(ls.api_key, base_url=ls.base_url)
    """

    def __init__(self, port: int | None = None, startup_timeout: float = 20.0) -> None:
        self._auto_port = port is None
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.api_key = TEST_API_KEY
        self._timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> LocalStripe:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start the server and wait until it answers an authenticated request.

        When the port was picked automatically and another process took it
        in the meantime, a new free port is tried (up to three times).
        """
        for _ in range(3):
            if self._start_once():
                return
            output = self._output()
            self.stop()
            if not self._auto_port or "address already in use" not in output.lower():
                break
            self.port = free_port()
            self.base_url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"localstripe did not start on port {self.port}: {output}")

    def _start_once(self) -> bool:
        # Kept open while the server runs, closed in stop().
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop the server (only the process this object started)."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=10)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    def _request(self, method: str, path: str, data: bytes | None = None) -> int:
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method,
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        with contextlib.closing(urllib.request.urlopen(req, timeout=5)) as resp:
            return int(resp.status)

    def _ready(self) -> bool:
        try:
            return self._request("GET", "/v1/customers") == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def register_webhook(self, name: str, url: str, secret: str) -> None:
        """Ask localstripe to POST every event to ``url``, signed with ``secret``."""
        body = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
        self._request("POST", f"/_config/webhooks/{name}", body)

    def flush(self) -> None:
        """Forget every object localstripe holds."""
        self._request("DELETE", "/_config/data")


class WebhookReceiver:
    """Collects webhook POSTs on 127.0.0.1; use as a context manager."""

    def __init__(self) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                delivery = WebhookDelivery(
                    body, self.headers.get("Stripe-Signature", ""), datetime.now(UTC)
                )
                with receiver._cond:
                    receiver.deliveries.append(delivery)
                    receiver._cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, *needles: bytes, timeout: float = 10.0) -> WebhookDelivery:
        """The first delivery whose body contains every one of ``needles``.

        Waits up to ``timeout`` seconds (localstripe posts about a second late).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for d in self.deliveries:
                    if all(n in d.payload for n in needles):
                        return d
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no webhook containing {needles!r} within {timeout}s")
                self._cond.wait(left)

    def iter_matching(self, needle: bytes) -> Iterator[WebhookDelivery]:
        """Every delivery so far whose body contains ``needle``."""
        with self._cond:
            found = [d for d in self.deliveries if needle in d.payload]
        return iter(found)
