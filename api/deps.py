"""Typed dependencies: the runtime, the services, and the caller's key with its role and rate limit."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from api.services.clinical import ClinicalService
from api.services.indexing import IndexService
from app.keys import KeyInfo, Role, authenticate
from app.runtime import Runtime
from casewise.settings import ApiSettings, Settings

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="the API key (alternative to Bearer)")


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def get_api_settings(request: Request) -> ApiSettings:
    return request.app.state.api_settings  # type: ignore[no-any-return]


def get_clinical(request: Request) -> ClinicalService:
    return request.app.state.clinical  # type: ignore[no-any-return]


def get_indexing(request: Request) -> IndexService:
    return request.app.state.indexing  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]
ClinicalDep = Annotated[ClinicalService, Depends(get_clinical)]
IndexingDep = Annotated[IndexService, Depends(get_indexing)]


def get_key(request: Request, rt: RuntimeDep,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
            header: Annotated[str | None, Depends(_header)]) -> KeyInfo:
    """The caller's key: 401 without a valid one, 429 when its token bucket is empty."""
    presented = (bearer.credentials if bearer else None) or header
    if not presented:
        raise ApiError(401, "unauthorized", "an API key is required (Authorization: Bearer <key>)",
                       {"WWW-Authenticate": "Bearer"})
    key = authenticate(rt.store, presented)
    if key is None:
        raise ApiError(401, "unauthorized", "unknown or revoked API key", {"WWW-Authenticate": "Bearer"})
    wait = request.app.state.limiter.take(key.key_id)
    if wait > 0:
        request.app.state.metrics.rate_limited.inc()
        raise ApiError(429, "rate_limited", f"rate limit of this key exceeded; retry in {wait:.1f} s",
                       {"Retry-After": str(max(1, math.ceil(wait)))})
    request.state.key = key
    return key


def require(role: Role) -> object:
    """A dependency that admits keys allowed to act as `role` (admin keys may do everything)."""

    def check(key: Annotated[KeyInfo, Depends(get_key)]) -> KeyInfo:
        if not key.may(role):
            raise ApiError(403, "forbidden", f"this key's role ({key.role}) may not do this; it needs {role}")
        return key

    return check


ClinicianKey = Annotated[KeyInfo, Depends(require("clinician"))]
AdminKey = Annotated[KeyInfo, Depends(require("admin"))]


def max_upload_bytes(api: ApiSettings, settings: Settings) -> int:
    """Uploads larger than this are refused with 413 (the indexer would quarantine them anyway)."""
    mb = api.max_upload_mb if api.max_upload_mb is not None else settings.ingest.max_file_mb
    return int(mb * 1024 * 1024)
