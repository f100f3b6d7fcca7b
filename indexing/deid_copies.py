"""`casewise deid FILE|DIR --out DIR`: write de-identified copies of notes, to inspect what the policy removes."""

from __future__ import annotations

from pathlib import Path

from casewise.errors import InputFileError
from indexing.deid.deidentifier import Deidentifier
from indexing.parse import parse_text_document
from indexing.sources import doc_type

TEXT_TYPES = ("txt", "md", "html", "eml", "pdf", "docx")


def deid_path(deid: Deidentifier, src: Path, out_dir: Path, max_bytes: int = 50_000_000) -> int:
    """De-identify every text document under `src` into `out_dir` as .txt (same relative paths). Returns the count."""
    if not src.exists():
        raise InputFileError(str(src), "no such file or folder")
    files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file())
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    n = 0
    for path in files:
        dtype = doc_type(path)
        if dtype not in TEXT_TYPES:
            continue
        sections = parse_text_document(path, dtype, max_bytes)
        text = "\n\n".join((s.title + "\n" if s.title else "") + s.text for s in sections)
        rel = path.name if src.is_file() else str(path.relative_to(src))
        target = (out_dir / rel).with_suffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(deid.deidentify(text).text, encoding="utf-8")
        n += 1
    return n
