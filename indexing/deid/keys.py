"""Secret-keyed pseudonyms, date offsets and surrogate tags (HMAC-SHA256): stable across runs, irreversible without the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import unicodedata

PSEUDONYM_PREFIX = "PT-"
PSEUDONYM_CHARS = 10


def _mac(secret: bytes, purpose: str, value: str) -> bytes:
    # Domain separation: one secret, independent keys per purpose, so a pseudonym reveals nothing about a date shift.
    return hmac.new(secret, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()


def normalize_id(value: str) -> str:
    """Canonical form of an identifier: no spaces, dashes or dots, upper case (so '12.345-A' == '12345a')."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


def normalize_name(value: str) -> str:
    """Canonical form of a name for surrogate consistency: no accents, lower case, single spaces."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.lower().replace(".", " ").split())


def pseudonym(secret: bytes, patient_id: str) -> str:
    """'PT-' + 10 base32 characters of HMAC(secret, patient id)."""
    digest = _mac(secret, "pseudonym", normalize_id(patient_id))
    return PSEUDONYM_PREFIX + base64.b32encode(digest).decode("ascii")[:PSEUDONYM_CHARS]


def date_offset_days(secret: bytes, patient_key: str, max_days: int) -> int:
    """A per-patient offset in [-max_days, +max_days], never 0."""
    if max_days < 1:
        raise ValueError("max_date_shift_days must be at least 1")
    n = int.from_bytes(_mac(secret, "date-offset", normalize_id(patient_key))[:8], "big")
    magnitude = 1 + n % max_days
    return magnitude if (n >> 32) & 1 else -magnitude


def tag(secret: bytes, purpose: str, value: str) -> str:
    """A short keyed fingerprint (hex) used to remember surrogates without storing original strings."""
    return _mac(secret, purpose, value).hex()[:24]
