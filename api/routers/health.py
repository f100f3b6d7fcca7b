"""Liveness, readiness and Prometheus metrics (no key needed; none of them returns clinical content)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import ApiSettingsDep, RuntimeDep
from api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


def _check_llm(rt: RuntimeDep, timeout_s: float) -> str:
    llm = rt.settings.llm
    if llm.backend == "none":
        return "not configured"
    if llm.backend == "llamacpp":
        from pathlib import Path

        return "ok" if llm.gguf_path and Path(llm.gguf_path).is_file() else "gguf file missing"
    import httpx

    try:
        r = httpx.get(f"{(llm.base_url or '').rstrip('/')}/models", timeout=timeout_s,
                      headers={"Authorization": f"Bearer {llm.api_key.get_secret_value()}"})
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if r.status_code < 500 else f"HTTP {r.status_code}"


def _readiness(request: Request, rt: RuntimeDep, timeout_s: float) -> Readiness:
    from sqlalchemy import text

    checks: dict[str, str] = {}
    try:
        with rt.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["store"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["store"] = f"error ({type(exc).__name__})"
    try:
        with request.app.state.index_lock.read():
            checks["index"] = "ok" if rt.index.exists() else "empty (nothing indexed yet)"
    except Exception as exc:  # noqa: BLE001
        checks["index"] = f"error ({type(exc).__name__})"
    try:
        _ = rt.embedder  # built once; a failure here is what the check reports
        checks["embedding"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a ConfigError's message names the setting to fix
        checks["embedding"] = f"error ({type(exc).__name__})"
    checks["llm"] = _check_llm(rt, timeout_s)
    ready = all(checks[c] == "ok" for c in ("store", "index", "embedding")) and checks["llm"] in ("ok", "not configured")
    return Readiness(ready=ready, checks=checks)


@router.get("/readyz", response_model=Readiness, summary="Store, index and (when configured) the LLM are reachable",
            responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(request: Request, rt: RuntimeDep, api: ApiSettingsDep) -> JSONResponse:
    result = await run_in_threadpool(_readiness, request, rt, api.readiness_timeout_s)
    return JSONResponse(result.model_dump(), status_code=200 if result.ready else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
