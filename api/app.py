"""The FastAPI application: `create_app(runtime)` wires settings, services, middleware, routers and the chat page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import max_upload_bytes
from api.errors import install_error_handlers
from api.middleware import BodySizeLimit, CatchAll, ClientAddress, Metrics, MetricsMiddleware, SecurityHeaders
from api.ratelimit import RateLimiter
from api.routers import admin, clinical, health, openai_compat, reports
from api.services.clinical import ClinicalService
from api.services.indexing import IndexService
from api.services.locks import ReadWriteLock
from app.runtime import Runtime
from casewise.errors import CasewiseError
from casewise.settings import ApiSettings

STATIC = Path(__file__).parent / "static"
MULTIPART_OVERHEAD = 64 * 1024  # form boundaries and headers around an uploaded file
log = logging.getLogger(__name__)

DESCRIPTION = """Answers "what worked for patients like this one?" from the clinic's own de-identified records,
citing the past cases. Authenticate with `Authorization: Bearer <API key>` (`casewise keys create`).
Errors are `{"error": {"code", "message"}}` with stable codes."""


def create_app(runtime: Runtime | None = None, api_settings: ApiSettings | None = None) -> FastAPI:
    """Build the app. Without a runtime one is built from Settings; the app then owns it and closes it at shutdown."""
    owns_runtime = runtime is None
    rt = runtime or Runtime()
    api = api_settings or rt.settings.api
    # The store's schema (api_keys included) is migrated when the Runtime opens its Store: `casewise.migrations`.
    lock = ReadWriteLock()
    metrics = Metrics()
    indexing = IndexService(rt, api, lock)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from fastapi.concurrency import run_in_threadpool

        # Load the embedding model and the de-identifier before the first request, not during it. A failure is
        # logged (its message names the setting at fault) and /readyz reports it; the server still starts.
        try:
            await run_in_threadpool(_warm_up, rt)
        except Exception as exc:  # noqa: BLE001
            log.error("warm-up failed: %s", exc if isinstance(exc, CasewiseError) else type(exc).__name__)
        nightly = None
        if api.reindex_at:
            from api.scheduler import DailyJob, nightly_reindex

            nightly = DailyJob(api.reindex_at, lambda: nightly_reindex(indexing, rt, lock))
            nightly.start()
        yield
        if nightly is not None:
            nightly.stop()
        indexing.close()
        if owns_runtime:
            rt.close()

    app = FastAPI(title="Casewise", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # Swagger UI needs a CDN and inline script: /openapi.json only
    app.state.runtime = rt
    app.state.api_settings = api
    app.state.index_lock = lock
    app.state.metrics = metrics
    app.state.limiter = RateLimiter(api.rate_per_minute, api.rate_burst)
    app.state.clinical = ClinicalService(rt, lock)
    app.state.indexing = indexing

    install_error_handlers(app)
    for r in (health.router, clinical.router, openai_compat.router, admin.router, reports.router):
        app.include_router(r)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    json_limit = api.max_body_kb * 1024
    upload_limit = max_upload_bytes(api, rt.settings) + MULTIPART_OVERHEAD

    def limit_for(method: str, path: str) -> int:
        return upload_limit if method == "POST" and path.rstrip("/") == "/v1/documents" else json_limit

    # Order: the last added runs first. Metrics see everything, including 413s and CORS preflights.
    app.add_middleware(CatchAll)
    app.add_middleware(BodySizeLimit, limit_for=limit_for)
    if api.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=api.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "X-API-Key"], allow_credentials=False)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(ClientAddress)
    return app


def _warm_up(rt: Runtime) -> None:
    """Load the models behind the first question (embedding, de-identification pipelines) now."""
    rt.deid.deidentify("Paciente de prueba con gonalgia. Test patient with knee pain.")
    rt.embedder.embed_queries(["warm up"])


def factory() -> FastAPI:
    """For `uvicorn api.app:factory --factory`: a runtime from Settings (CASEWISE_* environment)."""
    return create_app()
