"""Split a reasoning model's reply into its thinking and its final response.

HuatuoGPT-o1 writes `## Thinking` then `## Final Response`. Models drift: headers in bold or Spanish, a missing header,
extra headings, `<think>` tags, or a reply cut off by max_tokens. The parser never shows thinking as the answer:
a reply cut off mid-thinking yields an empty final response and the `truncated` flag.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

SectionKind = Literal["thinking", "final"]

_THINK_STRONG = r"thinking|reasoning|razonamiento|pensamiento|pensando"
_FINAL_STRONG = r"final\s+response|final\s+answer|respuesta\s+final|respuesta\s+definitiva"
_WEAK = r"answer|response|respuesta"

# One line that may be a section header; `_header_kind` decides. Names must stand alone as words.
_LINE = re.compile(
    r"^[ \t]*(?P<hash>#{1,6}[ \t]*)?(?P<b1>\*\*|__)?[ \t]*"
    rf"(?P<name>{_FINAL_STRONG}|{_THINK_STRONG}|{_WEAK})(?![\wÀ-ÿ])"
    r"[ \t]*(?P<b2>\*\*|__)?[ \t]*(?P<colon>[:：])?[ \t]*(?P<b3>\*\*|__)?[ \t]*(?P<rest>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)
_THINK_TAG = re.compile(r"<think>(?P<body>.*?)(?P<close></think>|\Z)", re.IGNORECASE | re.DOTALL)


@dataclass
class ParsedOutput:
    """The model's reasoning (None when it wrote none), the answer to show, and what went wrong."""

    thinking: str | None
    final: str
    flags: list[str] = field(default_factory=list)


def _kind_of(m: re.Match[str]) -> SectionKind | None:
    name = re.sub(r"\s+", " ", m.group("name").lower())
    markup = bool(m.group("hash") or m.group("b1"))
    colon = bool(m.group("colon"))
    rest = m.group("rest").strip().strip("*_").strip()
    if re.fullmatch(_FINAL_STRONG, name):
        kind: SectionKind = "final"
    elif re.fullmatch(_THINK_STRONG, name):
        kind = "thinking"
    else:  # "answer", "respuesta": common words, so they need header markup or to stand alone with a colon
        return "final" if (markup and (not rest or colon)) or (colon and not rest) else None
    return kind if (not rest or colon) else None


def header_kind(line: str) -> SectionKind | None:
    """'thinking' or 'final' when `line` is a section header the parser would act on, else None."""
    m = _LINE.fullmatch(line.rstrip("\r\n"))
    return _kind_of(m) if m else None


def _headers(text: str) -> list[tuple[SectionKind, int, int, str]]:
    """(kind, header start, header end, text after the header on the same line) for each header line."""
    out: list[tuple[SectionKind, int, int, str]] = []
    for m in _LINE.finditer(text):
        kind = _kind_of(m)
        if kind:
            out.append((kind, m.start(), m.end(), m.group("rest").strip()))
    return out


def _add(flags: list[str], flag: str) -> None:
    if flag not in flags:
        flags.append(flag)


def parse_output(text: str, finish_reason: str | None = None) -> ParsedOutput:
    """Parse a reply; `finish_reason` "length" (cut by max_tokens) adds the `truncated` flag.

    Flags: truncated, missing_final_response, missing_thinking_header, missing_headers, extra_sections, empty_output.
    """
    flags: list[str] = []
    cut = finish_reason == "length"
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        return ParsedOutput(None, "", ["empty_output"] + (["truncated"] if cut else []))

    tag_thinking: str | None = None
    m = _THINK_TAG.search(text)
    if m:
        tag_thinking = m.group("body").strip() or None
        if not m.group("close"):  # cut off inside <think>
            flags += ["missing_final_response", "truncated"]
            return ParsedOutput(tag_thinking, "", flags)
        text = text[: m.start()] + text[m.end():]

    heads = _headers(text)
    if not heads:
        if tag_thinking is None:
            _add(flags, "missing_headers")
        elif not text.strip():  # "<think>...</think>" and nothing after it: no answer was written
            _add(flags, "missing_final_response")
        if cut:
            _add(flags, "truncated")
        return ParsedOutput(tag_thinking, text.strip(), flags)

    preamble = text[: heads[0][1]].strip()
    sections: list[tuple[SectionKind, str]] = []
    for i, (kind, _start, end, rest) in enumerate(heads):
        stop = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        body = (rest + "\n" + text[end:stop]).strip() if rest else text[end:stop].strip()
        sections.append((kind, body))

    thinking_parts = [b for k, b in sections if k == "thinking" and b]
    finals = [(i, b) for i, (k, b) in enumerate(sections) if k == "final"]
    has_thinking_header = any(k == "thinking" for k, _ in sections)

    if not finals:
        thinking_all = [p for p in (tag_thinking, preamble, *thinking_parts) if p]
        _add(flags, "missing_final_response")
        if cut or finish_reason is None:
            # Without a finish reason a reply that stops inside its thinking was most likely cut off.
            _add(flags, "truncated")
        return ParsedOutput("\n\n".join(thinking_all) or None, "", flags)

    first = next(((i, b) for i, b in finals if b), finals[0])
    final = first[1]
    if len(finals) > 1 or any(k == "thinking" for k, _ in sections[first[0] + 1:]):
        _add(flags, "extra_sections")
    if not has_thinking_header and tag_thinking is None:
        _add(flags, "missing_thinking_header")
    thinking_before = [b for k, b in sections[: first[0]] if k == "thinking" and b]
    thinking = "\n\n".join(p for p in (tag_thinking, preamble, *thinking_before) if p) or None
    if not final:
        _add(flags, "missing_final_response")
    if cut:
        _add(flags, "truncated")
    return ParsedOutput(thinking, final, flags)


_ECHOED_FENCE = re.compile(
    r"[ \t]*(?:<{3,}[^<>\n]{0,60}>+|<{2}[ \t]*/?[ \t]*(?:END[ \t]+)?[A-Z][A-Z ]{2,30}(?:[ \t]+[^<>\n]{0,40})?>{2,})[ \t]*\n?"
)


def strip_echoed_fences(text: str) -> tuple[str, bool]:
    """Remove data-fence markers (`<<<CASE PT-...>>>`, `<<<END CASE>>>`) a model copied from its prompt."""
    if not _ECHOED_FENCE.search(text):
        return text.strip(), False
    cleaned = _ECHOED_FENCE.sub(" ", text)
    cleaned = re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]*\n[ \t]*", "\n", cleaned))
    return cleaned.strip(), True


STREAM_UNDECIDED_CHARS = 200


def final_so_far(partial: str) -> str | None:
    """The final response contained in a reply still being generated, or None while it may still be thinking.

    A reply with no section header at all is taken as a bare answer once it is long enough that a header
    would have appeared.
    """
    m = _THINK_TAG.search(partial)
    if m and not m.group("close"):
        return None
    heads = _headers(partial)
    if any(k == "final" for k, *_ in heads):
        return parse_output(partial, "stop").final
    if heads or m or len(partial.strip()) < STREAM_UNDECIDED_CHARS:
        return None
    return partial.strip()
