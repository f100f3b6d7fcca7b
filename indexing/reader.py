"""Reading one file into what the index stores: parse -> link to its patient -> de-identify -> extract -> chunk.

A `DocumentReader` needs no store, index or embedder, so the indexer's worker processes and `casewise extract`
build one of their own and read files exactly as indexing does.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from casewise import extract
from casewise.errors import InputFileError
from casewise.lang import detect_language
from casewise.parsing import Parser
from casewise.settings import Settings
from casewise.terminology import DIAGNOSIS_CODE, code_keys, dotted, label_of
from casewise.types import AdverseEventLink, CaseFacts, Chunk, Code, Diagnosis, DocType, Outcome, Section, Treatment
from casewise.vocabulary import fold, load_vocabulary
from indexing import synthea
from indexing.chunk import split_sections
from indexing.coding.coder import Coder, load_coder
from indexing.extraction import Extractor, make_extractor
from indexing.extraction.interface import facts_from
from indexing.ocr import OcrPolicy
from indexing.parse import UnstructuredParser
from indexing.sources import doc_type
from indexing.tables import TableRecord, detect_roles, read_table, records

if TYPE_CHECKING:
    from casewise.deid import Deidentifier

log = logging.getLogger("indexing.pipeline")


@dataclass
class ReadDocument:
    """One document, de-identified and chunked, ready to embed and write."""

    doc_id: str
    path: Path
    dtype: DocType
    content_hash: str
    chunks: list[Chunk]
    facts: dict[str, CaseFacts]
    case_id: str | None


class DocumentReader:
    """Reads files as the indexer does; holds only settings, the de-identifier, the extractor and the vocabulary."""

    def __init__(self, settings: Settings, deid: Deidentifier, *, extractor: Extractor | None = None,
                 parser: Parser | None = None, coder: Coder | None = None) -> None:
        self.settings = settings
        self.deid = deid
        self.extractor = extractor or make_extractor(settings)
        self.coder = coder or (load_coder(settings.data_dir) if settings.extract.icd10 else None)
        self.vocab = load_vocabulary(settings.extract.vocabulary_file)  # table labels map through the clinic's terms
        self._id_pattern = re.compile(settings.ingest.patient_id_pattern)
        ing = settings.ingest
        self.parser: Parser = parser or UnstructuredParser(
            int(ing.max_file_mb * 1e6), OcrPolicy(enabled=ing.ocr, languages=tuple(ing.ocr_languages),
                                                 max_pages=ing.ocr_max_pages))

    def read(self, path: Path, content_hash: str, doc_id: str) -> ReadDocument:
        """Parse, link, de-identify, extract and chunk one file; raises InputFileError naming the file."""
        dtype = doc_type(path)
        if dtype is None:
            raise InputFileError(str(path), "unsupported file type")
        max_bytes = int(self.settings.ingest.max_file_mb * 1e6)
        if dtype in ("csv", "xlsx"):
            if path.stat().st_size > max_bytes:
                raise InputFileError(str(path), f"table is above the limit of {self.settings.ingest.max_file_mb} MB")
            return self.read_table(path, content_hash, doc_id, dtype)
        sections = self.parser.parse(path, dtype)
        raw_text = "\n".join(s.title + "\n" + s.text for s in sections)
        m = self._id_pattern.search(raw_text)
        ref = norm_ref(m.group(1)) if m else None
        # A note that links to no record number is an episode of its own: a case of one document, named by a keyed
        # pseudonym of the document's id (nothing identifying: the id is a hash of its path).
        case_id = self.deid.pseudonym(ref) if ref else episode_id(self.deid, doc_id)
        language = detect_language(raw_text)
        results = self.deid.deidentify_many([s.title + "\n" + s.text for s in sections], patient_keys=ref,
                                            language=language)
        clean: list[Section] = []
        for res in results:
            title, _, body = res.text.partition("\n")
            clean.append(Section(title=title.strip(), text=body.strip()))
        text = "\n".join(s.title + "\n" + s.text for s in clean)
        facts = {case_id: self._facts_from_text(text, language, name_sex=name_sex_of(results))}
        chunks = self._chunks(doc_id, case_id, clean, language, facts[case_id])
        return ReadDocument(doc_id, path, dtype, content_hash, chunks, facts, case_id)

    def _facts_from_text(self, text: str, language: str, *, name_sex: str | None = None) -> CaseFacts:
        """A note without a structured row reaches its case through the configured extractor (extract.backend),
        and its ICD-10 codes through the coder (extract.icd10). `name_sex`, what the patient line's given name
        implies, stands in only where the note's text states no sex."""
        facts = facts_from(self.extractor.extract(text, language=language))  # type: ignore[arg-type]
        facts.sex = facts.sex or name_sex
        if self.coder is not None:
            facts.codes = self.coder.code(text, language=language)  # type: ignore[arg-type]
        return facts

    def _chunks(self, doc_id: str, case_id: str | None, sections: list[Section], language: str,
                facts: CaseFacts | None) -> list[Chunk]:
        out = []
        for pos, (title, text) in enumerate(split_sections(sections, self.settings.chunking)):
            out.append(Chunk(chunk_id="", doc_id=doc_id, case_id=case_id, position=pos, text=text, section=title,
                             language=language,  # type: ignore[arg-type]
                             diagnoses=[d.name for d in facts.diagnoses] if facts else [],
                             treatments=[t.name for t in facts.treatments] if facts else [],
                             codes=code_keys(facts.codes) if facts else []))
        return out

    def read_table(self, path: Path, content_hash: str, doc_id: str, dtype: DocType) -> ReadDocument:
        """A CSV/XLSX table: one set of facts and one or more chunks per patient (identifier columns never read)."""
        df = read_table(path)
        declared: dict[str, str] | None = None
        kind = synthea.kind_of(path, list(df.columns))
        if kind in synthea.SKIPPED:  # billing and administration: nothing for a case, and no names read
            log.info("%s: Synthea %s file, no clinical facts: skipped", path.name, kind)
            return ReadDocument(doc_id, path, dtype, content_hash, [], {}, None)
        if kind:
            df, declared = synthea.prepare(kind, df)
        roles = detect_roles(list(df.columns), declared)
        recs = records(df, roles, path)
        by_case: dict[str, list[TableRecord]] = {}
        skipped = 0
        for rec in recs:
            if not rec.patient_ref:
                skipped += 1
                continue
            ref = norm_ref(rec.patient_ref)
            rec.patient_ref = ref
            by_case.setdefault(self.deid.pseudonym(ref), []).append(rec)
        if not by_case:
            raise InputFileError(str(path), "no row has a patient identifier")
        if skipped:
            log.warning("%s: %d rows without a patient identifier were skipped", path.name, skipped)
        facts: dict[str, CaseFacts] = {}
        chunks: list[Chunk] = []
        # Free-text cells de-identified in one batch (spaCy's pipe): row by row was most of a table's time.
        noted = [r for rows in by_case.values() for r in rows if r.free_text]
        cleaned = self.deid.deidentify_many([r.free_text or "" for r in noted],
                                            patient_keys=[r.patient_ref for r in noted])
        clean_text = {id(r): c.text for r, c in zip(noted, cleaned, strict=True)}
        pos = 0
        for case_id, rows in sorted(by_case.items()):
            f = CaseFacts()
            lines = []
            for rec in rows:
                f = self._merge_row(f, rec)
                lines.append(self._row_text(rec, clean_text.get(id(rec))))
            facts[case_id] = f
            for text in _row_groups(lines, self.settings.chunking.max_words):  # a long history: several chunks
                chunks.append(Chunk(chunk_id="", doc_id=doc_id, case_id=case_id, position=pos, text=text,
                                    section="table", language=f.language, diagnoses=[d.name for d in f.diagnoses],
                                    treatments=[t.name for t in f.treatments], codes=code_keys(f.codes)))
                pos += 1
        return ReadDocument(doc_id, path, dtype, content_hash, chunks, facts, None)

    def _shift(self, d: dt.date | None, ref: str | None) -> dt.date | None:
        """The same per-patient offset the de-identifier applies to dates inside that patient's notes."""
        if d is None or ref is None or not self.settings.deid.shift_dates:
            return d
        return self.deid.shift_date(d, ref)

    def _merge_row(self, f: CaseFacts, rec: TableRecord) -> CaseFacts:
        if rec.sex:
            f.sex = rec.sex
        if rec.age is not None:
            f.age = rec.age
        elif rec.birth_date and rec.date:
            f.age = int((rec.date - rec.birth_date).days // 365.25)
        elif rec.birth_date:  # demographics without a visit date: keep the year, the age comes at assembly
            f.birth_year = rec.birth_date.year
        dname = (self.vocab.diagnosis_from_icd10(rec.icd10) if rec.icd10 else None) or (
            self.vocab.diagnosis_id(rec.diagnosis) if rec.diagnosis else None)
        if dname and all(d.name != dname for d in f.diagnoses):
            sev = _kl_grade(rec.severity) if rec.severity else None
            if sev is None and rec.diagnosis:
                ds = extract.diagnoses(rec.diagnosis)
                sev = ds[0].severity if ds else None
            f.diagnoses.append(Diagnosis(name=dname, label=rec.diagnosis or "", icd10=rec.icd10 or self.vocab.icd10_of(dname),
                                         side=_norm_side(rec.side), severity=sev))
        code = dotted(rec.icd10) if rec.icd10 and DIAGNOSIS_CODE.match(rec.icd10.strip()) else None
        if code and all(c.code != code for c in f.codes):  # the clinic's own coding: kept as recorded
            f.codes.append(Code(system="ICD-10-CM", kind="diagnosis", code=code, confidence=1.0, source="recorded",
                                label=label_of(code, f.language or "es", rec.diagnosis or ""),
                                text=rec.diagnosis or "", side=_norm_side(rec.side)))  # type: ignore[arg-type]
        tname = self.vocab.treatment_id(rec.treatment) if rec.treatment else None
        if tname:
            f.treatments.append(Treatment(name=tname, label=rec.treatment or "", date=self._shift(rec.date, rec.patient_ref),
                                          dose=rec.dose, sessions=rec.sessions, side=_norm_side(rec.side)))
            for (measure, months), value in rec.outcomes.items():
                f.outcomes.append(Outcome(measure=measure, value=value, months=months, treatment=tname))
        if rec.adverse and not _is_none(rec.adverse):
            f.adverse_events.append(rec.adverse.lower())
            f.adverse_event_links.append(AdverseEventLink(name=rec.adverse.lower(), treatment=tname,
                                                          date=self._shift(rec.date, rec.patient_ref)))
        if rec.free_text:
            f.language = f.language or detect_language(rec.free_text)  # type: ignore[assignment]
        return f

    def _row_text(self, rec: TableRecord, free_text: str | None = None) -> str:
        """A de-identified sentence for one table row (identifier columns were never read)."""
        bits = []
        d = self._shift(rec.date, rec.patient_ref)
        if d:
            bits.append(f"Fecha {d.isoformat()}")
        for name, val in (("Diagnóstico", rec.diagnosis), ("CIE-10", rec.icd10), ("Lado", rec.side),
                          ("Tratamiento", rec.treatment), ("Dosis", rec.dose),
                          ("Sesiones", rec.sessions), ("Efectos adversos", rec.adverse)):
            if val:
                bits.append(f"{name}: {val}")
        for (measure, months), value in sorted(rec.outcomes.items()):
            bits.append(f"{measure} {'basal' if months == 0 else f'{months:g}m'} {value:g}")
        if rec.free_text:
            bits.append(free_text if free_text is not None else
                        self.deid.deidentify(rec.free_text, patient_key=rec.patient_ref).text)
        return "; ".join(bits)


def _row_groups(lines: list[str], max_words: int) -> list[str]:
    """Consecutive table rows of one patient, grouped into chunks of at most `max_words` words (a row is never cut)."""
    groups: list[str] = []
    buf: list[str] = []
    words = 0
    for line in lines:
        n = len(line.split())
        if buf and words + n > max_words:
            groups.append("\n".join(buf))
            buf, words = [], 0
        buf.append(line)
        words += n
    if buf:
        groups.append("\n".join(buf))
    return groups


def name_sex_of(results: Sequence[object]) -> str | None:
    """The one sex the sections' patient lines imply (`DeidResult.name_sex`); None when none or they disagree."""
    found = {s for s in (getattr(r, "name_sex", None) for r in results) if s in ("F", "M")}
    return found.pop() if len(found) == 1 else None


def episode_id(deid: Deidentifier, doc_id: str) -> str:
    """The case id of a document that links to no patient: stable across runs, keyed like patients' pseudonyms."""
    return deid.pseudonym(EPISODE_PREFIX + doc_id)


EPISODE_PREFIX = "episode-"


def norm_ref(ref: str) -> str:
    """Record numbers are compared without leading zeros or spaces ('0012345' in a note = '12345' in a table)."""
    return ref.strip().lstrip("0") or "0"


def _norm_side(side: str | None) -> str | None:
    if not side:
        return None
    f = fold(side)
    if f.startswith(("izq", "l")):
        return "left"
    if f.startswith(("d", "r")):
        return "right"
    if f.startswith(("bil", "amb", "both")):
        return "bilateral"
    return None


def _kl_grade(value: str) -> str | None:
    """'KL2' from a Kellgren-Lawrence grade written as 2, II, 'grado 2', 'KL-2'."""
    m = re.search(r"([1-4]|IV|III|II|I)\b", value.upper())
    if not m:
        return None
    g = {"I": "1", "II": "2", "III": "3", "IV": "4"}.get(m.group(1), m.group(1))
    return f"KL{g}"


def _is_none(text: str) -> bool:
    f = fold(text).strip(" .-")
    return f in ("", "no", "nada", "-") or f.startswith(("ninguno", "ninguna", "none", "no adverse", "sin ", "no se "))
