"""ASGI middleware: request size limits, security headers, Prometheus metrics. Pure ASGI, so streams stay streams."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casewise.store import AUDIT_CLIENT

#: The chat page loads only its own files; no inline script, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": raw})


class BodySizeLimit:
    """413 for bodies above the limit: by Content-Length up front, and by counting when the length is not declared."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        message = {"error": {"code": "too_large", "message": f"request body above the limit of {limit} bytes"}}
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"error": {"code": "bad_request", "message": "bad Content-Length"}})
                    return
                if declared > limit:
                    await _send_json(send, 413, message)
                    return
        seen = 0
        started = False
        rejected = False

        async def counting_receive() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client is gone; whatever it sends afterwards is dropped.
                    rejected = True
                    if not started:
                        await _send_json(send, 413, message)
                    return {"type": "http.disconnect"}
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal started
            if rejected:
                return
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not rejected:
                raise


class CatchAll:
    """Unexpected exceptions become a JSON 500. The log gets the exception type and the stack, never the message
    (messages of library exceptions can quote the data they choked on)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            import logging
            import traceback

            route = getattr(scope.get("route"), "path", "?")
            frames = "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_tb(exc.__traceback__))
            logging.getLogger("api").error("internal error %s in %s %s\n%s", type(exc).__name__, scope["method"],
                                           route, frames)
            if not started:
                from sqlalchemy.exc import OperationalError

                if isinstance(exc, OperationalError):
                    await _send_json(send, 503, {"error": {"code": "store_unavailable", "message":
                                     "the system of record cannot be used (unreachable, locked, or an older schema); "
                                     "see the server log"}})
                    return
                await _send_json(send, 500, {"error": {"code": "internal_error",
                                                       "message": "internal error; see the server log"}})


class ClientAddress:
    """Makes the caller's address (after uvicorn's proxy-header handling) part of every audit entry of the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        token = AUDIT_CLIENT.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            AUDIT_CLIENT.reset(token)


class SecurityHeaders:
    """Adds CSP, nosniff, frame and referrer policy headers to every response (and HSTS over HTTPS)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                have = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = list(msg.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in have]
                if scope["path"].startswith("/v1/"):
                    msg["headers"].append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https" and b"strict-transport-security" not in have:
                    msg["headers"].append(HSTS)  # served over TLS: browsers must not fall back to plain HTTP
            await send(msg)

        await self.app(scope, receive, add_headers)


class Metrics:
    """Prometheus collectors of one app (own registry, so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("casewise_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("casewise_http_request_seconds", "time to the last byte, by route",
                                 ["route", "method"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
        self.in_flight = Gauge("casewise_http_in_flight", "requests being served", registry=self.registry)
        self.audit_entries = Counter("casewise_audit_entries_written", "audit entries written by the API",
                                     ["action"], registry=self.registry)
        self.rate_limited = Counter("casewise_rate_limited", "requests refused by the rate limiter",
                                    registry=self.registry)


class MetricsMiddleware:
    """Counts requests and their latency by route template (never by concrete path: ids are not labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        self.metrics.in_flight.inc()

        async def watch(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            await self.app(scope, receive, watch)
        finally:
            self.metrics.in_flight.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or ("static" if scope["path"].startswith("/static") else "other")
            self.metrics.requests.labels(template, scope["method"], str(status)).inc()
            self.metrics.latency.labels(template, scope["method"]).observe(time.perf_counter() - started)
