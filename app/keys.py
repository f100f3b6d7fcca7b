"""API keys: created once (the secret is shown once), stored as a salted HMAC-SHA256, compared in constant time.

A key reads `cw_<key_id>_<secret>`. The key id is public (it names the key in the audit log and in `keys list`);
only the HMAC of the secret, keyed by a random per-key salt, is stored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from casewise.errors import RequestError
from casewise.store import ApiKeyRow, Store

Role = Literal["clinician", "admin"]
ROLES: tuple[Role, ...] = ("clinician", "admin")
PREFIX = "cw_"
KEY_ID_BYTES = 6
SECRET_BYTES = 32
NAME_MAX = 64


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class KeyInfo:
    """What the API knows about the caller: never the secret."""

    key_id: str
    name: str
    role: Role
    created_at: dt.datetime | None = None
    revoked: bool = False

    @property
    def actor(self) -> str:
        """The audit log's name for this caller."""
        return f"key:{self.key_id}:{self.name}"[:128]

    def may(self, role: Role) -> bool:
        """Admin keys may do everything a clinician key may."""
        return self.role == "admin" or self.role == role


def _digest(salt: str, secret: str) -> str:
    return hmac.new(bytes.fromhex(salt), secret.encode("utf-8"), hashlib.sha256).hexdigest()


def _info(row: ApiKeyRow) -> KeyInfo:
    return KeyInfo(key_id=row.key_id, name=row.name, role=row.role,  # type: ignore[arg-type]
                   created_at=row.created_at, revoked=row.revoked)


def ensure_tables(store: Store) -> None:
    """Bring the store's schema (the api_keys table with it) to the latest migration; cheap when it is there."""
    from casewise.migrations import upgrade

    upgrade(store.engine)


def create_key(store: Store, name: str, role: str) -> tuple[KeyInfo, str]:
    """Create a key; return its public info and the full key, which is not stored and cannot be shown again."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise RequestError("name", f"must be 1-{NAME_MAX} printable characters")
    if role not in ROLES:
        raise RequestError("role", f"must be one of {', '.join(ROLES)}")
    key_id = secrets.token_hex(KEY_ID_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    salt = secrets.token_hex(16)
    row = ApiKeyRow(key_id=key_id, name=name, role=role, salt=salt, digest=_digest(salt, secret), created_at=_now())
    with store.session() as s:
        s.add(row)
    return _info(row), f"{PREFIX}{key_id}_{secret}"


def list_keys(store: Store, include_revoked: bool = True) -> list[KeyInfo]:
    """All keys, oldest first."""
    with store.session() as s:
        q = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
        if not include_revoked:
            q = q.where(ApiKeyRow.revoked.is_(False))
        return [_info(r) for r in s.scalars(q)]


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke a key by id; False when there is no such key. Revoked keys stay listed (the audit log names them)."""
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None:
            return False
        if not row.revoked:
            row.revoked = True
            row.revoked_at = _now()
        return True


def parse_key(presented: str) -> tuple[str, str] | None:
    """Split `cw_<key_id>_<secret>` into (key_id, secret); None when it is not shaped like a key."""
    if not presented.startswith(PREFIX):
        return None
    key_id, sep, secret = presented[len(PREFIX):].partition("_")
    if not sep or len(key_id) != KEY_ID_BYTES * 2 or not secret or len(secret) > 128:
        return None
    return key_id, secret


def authenticate(store: Store, presented: str) -> KeyInfo | None:
    """The key's info when `presented` is a valid, unrevoked key; else None (constant-time secret comparison)."""
    parsed = parse_key(presented.strip())
    if parsed is None:
        return None
    key_id, secret = parsed
    with store.session() as s:
        row = s.get(ApiKeyRow, key_id)
        if row is None:
            # Spend the same work as a real comparison, so timing does not reveal which key ids exist.
            hmac.compare_digest(_digest("00" * 16, secret), "0" * 64)
            return None
        ok = hmac.compare_digest(_digest(row.salt, secret), row.digest)
        return _info(row) if ok and not row.revoked else None
