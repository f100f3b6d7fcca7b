"""Coded examples in CodiEsp's format: a folder with `text_files/` (Spanish notes), optionally `text_files_en/`
(their English translations), `*D.tsv` (note id, diagnosis code), `*P.tsv` (note id, procedure code) and `*X.tsv`
(note id, DIAGNOSTICO|PROCEDIMIENTO, code, evidence text, 'start end[;start end]' offsets in the Spanish note)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from casewise.errors import InputFileError

KIND_OF = {"DIAGNOSTICO": "diagnosis", "PROCEDIMIENTO": "procedure"}
TEXT_DIRS = {"es": "text_files", "en": "text_files_en"}


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # diagnosis | procedure
    code: str
    text: str
    spans: tuple[tuple[int, int], ...]
    language: str = "es"  # the note text the spans point into


@dataclass(slots=True)
class CodedNote:
    note_id: str
    texts: dict[str, str] = field(default_factory=dict)  # language -> text
    diagnoses: set[str] = field(default_factory=set)
    procedures: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)

    def codes(self, kind: str) -> set[str]:
        return self.diagnoses if kind == "diagnosis" else self.procedures

    def evidence_in(self, language: str) -> list[Evidence]:
        return [e for e in self.evidence if e.language == language]


def normalize_code(code: str) -> str:
    return code.strip().lower()


def _rows(path: Path) -> Iterable[list[str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            yield from (row for row in csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE) if row)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(str(path), f"cannot read a CodiEsp table ({exc.__class__.__name__})") from exc


def _spans(text: str) -> tuple[tuple[int, int], ...]:
    out = []
    for part in text.split(";"):
        a, _, b = part.strip().partition(" ")
        if a.isdigit() and b.isdigit():
            out.append((int(a), int(b)))
    return tuple(out)


def read_folder(folder: Path, *, languages: tuple[str, ...] = ("es", "en")) -> dict[str, CodedNote]:
    """Every note of a CodiEsp-format folder with its codes and evidence, by note id (sorted)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(str(folder), "not a folder; expected a CodiEsp-format folder with text_files/ and *D.tsv")
    notes: dict[str, CodedNote] = {}
    for lang in languages:
        tdir = folder / TEXT_DIRS[lang]
        if not tdir.is_dir():
            continue
        for path in sorted(tdir.glob("*.txt")):
            notes.setdefault(path.stem, CodedNote(path.stem)).texts[lang] = path.read_text(encoding="utf-8")
    if not notes:
        raise InputFileError(str(folder), "no notes found: expected text_files/*.txt (and text_files_en/*.txt)")
    tables = {suffix: sorted(folder.glob(f"*{suffix}.tsv")) for suffix in ("D", "P", "X")}
    if not tables["D"] and not tables["P"]:
        raise InputFileError(str(folder), "no code tables found: expected *D.tsv and/or *P.tsv beside text_files/")
    for suffix, kind in (("D", "diagnosis"), ("P", "procedure")):
        for path in tables[suffix]:
            for row in _rows(path):
                if len(row) >= 2 and row[0] in notes:
                    notes[row[0]].codes(kind).add(normalize_code(row[1]))
    for path in tables["X"]:
        for row in _rows(path):
            if len(row) >= 5 and row[0] in notes and row[1] in KIND_OF:
                notes[row[0]].evidence.append(Evidence(KIND_OF[row[1]], normalize_code(row[2]), row[3], _spans(row[4])))
    return dict(sorted(notes.items()))


def read_folders(folders: Iterable[Path]) -> dict[str, CodedNote]:
    out: dict[str, CodedNote] = {}
    for folder in folders:
        out.update(read_folder(folder))
    return out
