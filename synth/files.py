"""Byte-for-byte reproducible output: fixed timestamps inside Office zip packages."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

# Naive on purpose: OOXML core properties are written as UTC 'Z' timestamps by both libraries.
FIXED_DATETIME = datetime(2024, 1, 1, 9, 0, 0)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CORE_DATE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


def normalize_office_zip(data: bytes) -> bytes:
    """Rewrite an OOXML package (docx, xlsx) with fixed entry timestamps and fixed core-property dates.

    python-docx and openpyxl stamp the current time into the zip entries, and openpyxl also into
    ``docProps/core.xml`` at save time, so the same content would otherwise give different bytes.
    """
    stamp = FIXED_DATETIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                blob = _CORE_DATE.sub(rb"\g<1>" + stamp + rb"\g<2>", blob)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, blob)
    return out.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with Unix newlines, creating parent folders."""
    write_bytes(path, text.encode("utf-8"))
