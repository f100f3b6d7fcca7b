"""API settings live in `casewise.settings.ApiSettings` (`[api]` in casewise.toml, `CASEWISE_API__*`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from casewise.settings import ApiSettings

if TYPE_CHECKING:
    from casewise.settings import Settings


def api_settings_for(settings: Settings) -> ApiSettings:
    """The API settings (`[api]` in casewise.toml, `CASEWISE_API__*` in the environment)."""
    return settings.api


def max_upload_bytes(api: ApiSettings, settings: Settings) -> int:
    """Uploads larger than this are refused with 413 (the indexer would quarantine them anyway)."""
    mb = api.max_upload_mb if api.max_upload_mb is not None else settings.ingest.max_file_mb
    return int(mb * 1024 * 1024)
