"""API settings. Interim home until `casewise.settings.Settings` gains an `api: ApiSettings` field.

Until then they are read from `CASEWISE_API__*` environment variables, the same names the nested field will use
(e.g. `CASEWISE_API__RATE_PER_MINUTE=120`), so nothing changes for an operator when the field moves into Settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from casewise.settings import Settings


class ApiSettings(BaseSettings):
    """Limits and switches of the HTTP API."""

    model_config = SettingsConfigDict(env_prefix="CASEWISE_API__", extra="ignore")

    rate_per_minute: float = Field(120.0, gt=0, description="sustained requests per minute per API key")
    rate_burst: int = Field(30, ge=1, description="requests a key may make at once before the rate applies")
    max_body_kb: int = Field(64, ge=1, le=10_240, description="largest JSON request body")
    max_upload_mb: float | None = Field(None, gt=0, description="largest uploaded file; default ingest.max_file_mb")
    cors_origins: list[str] = Field(default_factory=list, description="origins allowed by CORS; empty = CORS off")
    sources: list[Path] = Field(default_factory=list,
                                description="folders a re-index scans (the uploads folder is always included)")
    readiness_timeout_s: float = Field(2.0, gt=0, description="how long /readyz waits for the LLM server")
    trust_proxy_headers: bool = False


def api_settings_for(settings: Settings) -> ApiSettings:
    """The API settings: `settings.api` once Settings has that field, else the environment."""
    nested = getattr(settings, "api", None)
    if isinstance(nested, ApiSettings):
        return nested
    return ApiSettings()  # type: ignore[call-arg]  # pydantic-settings fills the fields from the environment


def max_upload_bytes(api: ApiSettings, settings: Settings) -> int:
    """Uploads larger than this are refused with 413 (the indexer would quarantine them anyway)."""
    mb = api.max_upload_mb if api.max_upload_mb is not None else settings.ingest.max_file_mb
    return int(mb * 1024 * 1024)
