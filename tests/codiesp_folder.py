"""A folder in CodiEsp's format (text_files/, text_files_en/, trainD.tsv, trainX.tsv) written from invented notes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


def write_codiesp(folder: Path, notes: Mapping[str, str], spans: Iterable[tuple[str, str, str, str]],
                  english: Mapping[str, str] | None = None) -> Path:
    """`spans`: (note id, DIAGNOSTICO | PROCEDIMIENTO, code, the words of the note that support it). Diagnosis codes go
    to trainD.tsv, every span with its character offsets (its first occurrence in the note) to trainX.tsv."""
    (folder / "text_files").mkdir(parents=True, exist_ok=True)
    for note_id, text in notes.items():
        (folder / "text_files" / f"{note_id}.txt").write_text(text, encoding="utf-8")
    if english is not None:
        (folder / "text_files_en").mkdir(exist_ok=True)
        for note_id, text in english.items():
            (folder / "text_files_en" / f"{note_id}.txt").write_text(text, encoding="utf-8")
    d, x = [], []
    for note_id, kind, code, span in spans:
        start = notes[note_id].index(span)
        if kind == "DIAGNOSTICO":
            d.append(f"{note_id}\t{code}")
        x.append(f"{note_id}\t{kind}\t{code}\t{span}\t{start} {start + len(span)}")
    (folder / "trainD.tsv").write_text("\n".join(d) + "\n", encoding="utf-8")
    (folder / "trainX.tsv").write_text("\n".join(x) + "\n", encoding="utf-8")
    return folder
