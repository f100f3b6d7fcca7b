"""Extract every record under a path: notes through the extractor, tables through the indexer's own table reader.

Text is de-identified before extraction (the same Deidentifier, patient keys and date shifts as indexing), so what
comes out carries the patient's pseudonym and shifted dates only. Nothing is written to the index or the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from casewise.errors import InputFileError
from casewise.lang import detect_language
from casewise.settings import Settings
from indexing.assemble import CaseFacts
from indexing.extraction.interface import Extractor
from indexing.extraction.records import BatchResult, NoteRecord, TableRecord
from indexing.parse import parse_text_document
from indexing.sources import content_hash, discover, doc_id_for, doc_type

if TYPE_CHECKING:
    from indexing.deid import Deidentifier

log = logging.getLogger(__name__)


def extract_path(paths: Iterable[Path], settings: Settings, deid: Deidentifier, extractor: Extractor, *,
                 progress: Callable[[int, int], None] | None = None, today: dt.date | None = None) -> BatchResult:
    """Extract every supported file under `paths` (files or folders)."""
    roots = [Path(p).expanduser().resolve() for p in paths]
    for r in roots:
        if not r.exists():
            raise InputFileError(str(r), "no such file or folder")
    files = discover(roots, settings.ingest.include, settings.ingest.exclude)
    id_pattern = re.compile(settings.ingest.patient_id_pattern)
    today = today or dt.date.today()
    max_bytes = int(settings.ingest.max_file_mb * 1e6)
    result = BatchResult()
    for i, path in enumerate(files, start=1):
        try:
            dtype = doc_type(path)
            if dtype is None:
                raise InputFileError(str(path), "unsupported file type")
            if path.stat().st_size > max_bytes:
                raise InputFileError(str(path), f"file is above the limit of {settings.ingest.max_file_mb} MB")
            if dtype in ("csv", "xlsx"):
                result.tables.extend(_table(path, dtype, settings, deid, today))
            else:
                result.notes.append(_note(path, dtype, settings, id_pattern, deid, extractor, today))
        except InputFileError as exc:
            result.unreadable.append((str(path), exc.reason))
        if progress:
            progress(i, len(files))
    return result


def _norm_ref(ref: str) -> str:
    return ref.strip().lstrip("0") or "0"


def _shifted_today(deid: Deidentifier, ref: str | None, today: dt.date, settings: Settings) -> dt.date:
    if ref is None or not settings.deid.shift_dates:
        # Without a patient key the shift is unknown: allow the largest one.
        return today + dt.timedelta(days=settings.deid.max_date_shift_days if settings.deid.shift_dates else 0)
    return deid.shift_date(today, ref)


def _note(path: Path, dtype: str, settings: Settings, id_pattern: re.Pattern[str], deid: Deidentifier,
          extractor: Extractor, today: dt.date) -> NoteRecord:
    sections = parse_text_document(path, dtype, int(settings.ingest.max_file_mb * 1e6))  # type: ignore[arg-type]
    raw = "\n".join(s.title + "\n" + s.text for s in sections)
    m = id_pattern.search(raw)
    ref = _norm_ref(m.group(1)) if m else None
    language = detect_language(raw)
    clean = deid.deidentify_many([s.title + "\n" + s.text for s in sections], patient_keys=ref, language=language)
    text = "\n".join(r.text for r in clean)
    note = extractor.extract(text, language=language)
    from indexing.reader import episode_id, name_sex_of

    if note.sex is None:  # as indexing does: the patient line's given name, where the note states no sex
        note = note.model_copy(update={"sex": name_sex_of(clean)})

    doc_id = doc_id_for(path)  # a note without a record number is a case of its own, as indexing makes it
    return NoteRecord(doc_id, deid.pseudonym(ref) if ref else episode_id(deid, doc_id), note,
                      _shifted_today(deid, ref, today, settings))


def _table(path: Path, dtype: str, settings: Settings, deid: Deidentifier, today: dt.date) -> list[TableRecord]:
    # The indexer's own table reading (column roles, date shifts, vocabulary), so `extract` and indexing agree.
    from indexing.reader import DocumentReader

    reader = DocumentReader(settings, deid)
    processed = reader.read_table(path, content_hash(path), doc_id_for(path), dtype)  # type: ignore[arg-type]
    refs = _refs_by_case(processed.facts, deid, path)
    return [TableRecord(processed.doc_id, cid, facts, _shifted_today(deid, refs.get(cid), today, settings))
            for cid, facts in sorted(processed.facts.items())]


def _refs_by_case(facts: dict[str, CaseFacts], deid: Deidentifier, path: Path) -> dict[str, str]:
    """Pseudonym -> record number, for the date shift of each case (record numbers stay in memory only)."""
    from indexing.tables import detect_roles, read_table, records

    df = read_table(path)
    out: dict[str, str] = {}
    for rec in records(df, detect_roles(list(df.columns)), path):
        if rec.patient_ref:
            ref = _norm_ref(rec.patient_ref)
            out.setdefault(deid.pseudonym(ref), ref)
    return {k: v for k, v in out.items() if k in facts}
