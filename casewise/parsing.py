"""The parser's role: a text-bearing file (PDF, DOCX, TXT/MD, HTML, EML) -> titled sections of its text.

A parser raises `casewise.errors.InputFileError` naming the file for anything it cannot read (corrupt, empty,
encrypted, oversized, undecodable), so the indexer quarantines that file and goes on with the rest.
The implementation is `indexing.parse.UnstructuredParser`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from casewise.types import DocType, Section

TEXT_TYPES: tuple[DocType, ...] = ("pdf", "docx", "txt", "md", "html", "eml")


class Parser(Protocol):
    """Reads one file into sections; never returns an empty list (no text is an InputFileError)."""

    name: str

    def parse(self, path: Path, dtype: DocType) -> list[Section]: ...
