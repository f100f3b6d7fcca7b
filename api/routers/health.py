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


def _check_llm(rt: RuntimeDep, timeout_s: float) -> dict[str, str]:
    """`llm`: the summary; with an OpenAI-compatible backend also `llm <url>` per server in `llm.base_urls`.

    Ready when at least one server answers (requests fail over to it). URLs are shown without user, password or
    query, and the API key is never shown.
    """
    llm = rt.settings.llm
    if llm.backend == "none":
        return {"llm": "not configured"}
    if llm.backend == "llamacpp":
        from pathlib import Path

        return {"llm": "ok" if llm.gguf_path and Path(llm.gguf_path).is_file() else "gguf file missing"}
    from concurrent.futures import ThreadPoolExecutor

    urls = llm.endpoints
    if not urls:
        return {"llm": "no llm.base_url set"}
    key = llm.api_key.get_secret_value()
    with ThreadPoolExecutor(max_workers=min(len(urls), 8)) as pool:  # one timeout for all, not one per server
        states = list(pool.map(lambda url: _check_endpoint(url, key, timeout_s), urls))
    checks = {f"llm {_shown(url)}": state for url, state in zip(urls, states, strict=True)}
    up = sum(state == "ok" for state in states)
    if len(urls) == 1:
        summary = states[0]
    elif up == len(urls):
        summary = "ok"
    elif up:
        summary = f"ok ({up} of {len(urls)} servers answer)"
    else:
        summary = f"none of {len(urls)} servers answers"
    return {"llm": summary, **checks}


def _check_endpoint(url: str, key: str, timeout_s: float) -> str:
    import httpx

    try:
        r = httpx.get(f"{url.rstrip('/')}/models", timeout=timeout_s, headers={"Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        return f"unreachable ({type(exc).__name__})"
    return "ok" if r.status_code < 500 else f"HTTP {r.status_code}"


def _shown(url: str) -> str:
    """The URL without credentials, query or fragment (readiness bodies are not secret)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


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
    checks.update(_check_llm(rt, timeout_s))
    llm_ok = checks["llm"] == "not configured" or checks["llm"].startswith("ok")
    ready = all(checks[c] == "ok" for c in ("store", "index", "embedding")) and llm_ok
    return Readiness(ready=ready, checks=checks)


@router.get("/readyz", response_model=Readiness,
            summary="Store, index and (when configured) at least one LLM server are reachable; each server listed",
            responses={503: {"model": Readiness, "description": "not ready"}})
async def readyz(request: Request, rt: RuntimeDep, api: ApiSettingsDep) -> JSONResponse:
    result = await run_in_threadpool(_readiness, request, rt, api.readiness_timeout_s)
    return JSONResponse(result.model_dump(), status_code=200 if result.ready else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
