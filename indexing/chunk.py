"""Chunking that follows document structure: sections first, then word windows with overlap."""

from __future__ import annotations

from casewise.settings import ChunkSettings
from casewise.types import Section


def split_sections(sections: list[Section], cfg: ChunkSettings) -> list[tuple[str, str]]:
    """(section title, text) pieces of at most `max_words` words; short sections are merged with their neighbours."""
    pieces: list[tuple[str, str]] = []
    buf_title, buf_words = "", []  # type: tuple[str, list[str]]
    step = max(1, cfg.max_words - cfg.overlap_words)

    def flush() -> None:
        nonlocal buf_words, buf_title
        if buf_words:
            pieces.append((buf_title, " ".join(buf_words)))
        buf_words, buf_title = [], ""

    for sec in sections:
        words = sec.text.split()
        if not words:
            continue
        head = [f"{sec.title}:"] if sec.title else []
        if len(buf_words) + len(words) + len(head) <= cfg.max_words:
            buf_title = buf_title or sec.title
            buf_words += head + words
            continue
        flush()
        if len(words) + len(head) <= cfg.max_words:
            buf_title, buf_words = sec.title, head + words
            continue
        for start in range(0, len(words), step):
            window = words[start:start + cfg.max_words - len(head)]
            pieces.append((sec.title, " ".join(head + window)))
            if start + cfg.max_words - len(head) >= len(words):
                break
    flush()
    return pieces
