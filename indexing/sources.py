"""Find the clinic's files under one or more folders and tell what kind each is."""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path

from casewise.types import DocType

log = logging.getLogger(__name__)

SUFFIXES: dict[str, DocType] = {
    ".pdf": "pdf", ".docx": "docx", ".txt": "txt", ".md": "md", ".html": "html", ".htm": "html",
    ".eml": "eml", ".csv": "csv", ".xlsx": "xlsx",
}


def doc_type(path: Path) -> DocType | None:
    return SUFFIXES.get(path.suffix.lower())


def doc_id_for(path: Path) -> str:
    """Stable id of a source location (the same file path keeps its id when its content changes)."""
    return "D" + hashlib.sha256(str(path.resolve()).encode("utf-8")).hexdigest()[:15]


def content_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _matches(rel: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(rel, p) or fnmatch.fnmatch("/" + rel, p) for p in patterns)


def discover(roots: Iterable[Path], include: list[str], exclude: list[str],
             refused: list[tuple[str, str]] | None = None) -> list[Path]:
    """Every supported file under the roots (recursive), filtered by include/exclude globs, sorted, resolved.

    Linked folders are not entered. A linked file is followed only when its target lies inside one of the roots:
    pointing Casewise at /records never reads /etc. Each link refused is logged and, when `refused` is given,
    appended to it as (path of the link, reason) - the shape of `IndexReport.quarantined`.
    """
    roots = [Path(r).expanduser() for r in roots]
    inside = [r.resolve() for r in roots]
    found: set[Path] = set()
    for root in roots:
        if root.is_file():
            found.add(root.resolve())  # named explicitly by the user: taken as given
            continue
        for p in root.rglob("*"):
            if not p.is_file():
                continue
            rel = p.relative_to(root).as_posix()
            if not (doc_type(p) and _matches(rel, include) and not _matches(rel, exclude) and not p.name.startswith(".")):
                continue
            target = p.resolve()
            if not any(target.is_relative_to(r) for r in inside):
                reason = "symbolic link to a file outside every source folder: not followed"
                log.warning("skipped %s: %s", p.name, reason)
                if refused is not None:
                    refused.append((str(p), reason))
                continue
            found.add(target)
    return sorted(found)
