"""Leak scan over everything Casewise stores: no sampling, so a leak cannot be sampled away.

What is read:
- every payload of the vector index, through the index's own API (every string field, however nested);
- every row of every table of the system of record (SQLite or PostgreSQL, through SQLAlchemy): cases, documents,
  the audit log, jobs;
- every file under the data dir (the SQLite file, the embedded index's segment files, reports, logs) as raw bytes:
  SQLite files cell by cell (a record that spills onto overflow pages is split on disk), JSON's \\uXXXX escapes read
  back, everything else as its printable runs, as `strings` would.

Two checks run over that text:
- `ground_truth_hits`: the synthetic clinic's full ground truth (every name, record number, phone, e-mail, address,
  national id and date its generator wrote, each name's own words, and each age over 89 in the clinical ways it is
  written). Any hit is a leak and fails `casewise eval run`.
- `detector_hits`: the de-identifier's own detectors over the prose (chunk texts, case summaries, audit queries),
  as counts per type for review; a detector hit may be a drug or a scale that looks like a name.

The same reading, limited to what changed since a `stored_state` taken earlier (`since=`), is the nightly job's
scan of what that night's run wrote: new or changed payloads and rows, and files whose size or time changed.

Only kinds, types, sources and counts leave this module: never a value.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.metrics import KnownIdentifier, normalize_text
from indexing.deid.lexicon import EPONYMS_ALWAYS, EPONYMS_IN_CONTEXT, NOT_NAMES, fold

if TYPE_CHECKING:
    from indexing.deid import Deidentifier

log = logging.getLogger(__name__)
SQLITE_MAGIC = b"SQLite format 3\x00"
LEAK_SCAN_ACTION = "leak_scan"  # the audit action of a scan of what one run wrote (the nightly job, `casewise index`)
KNOWN_TABLE = "Known identifiers by type"
_PRINTABLE_RUN = re.compile(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]{4,}")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Fields of an index payload that hold ids and hashes, not text a person wrote.
_ID_FIELDS = frozenset({"chunk_id", "doc_id", "content_hash"})
# Prose that the detectors can read (ids, hashes and JSON keys make them fire for nothing).
_PROSE_FIELDS = frozenset({"text", "summary", "query"})
LOCAL_KINDS = frozenset({"birth_date", "visit_date", "birth_year_over_89"})  # a shifted date may equal another patient's real one
NAME_KINDS = frozenset({"patient_name", "relative_name", "doctor_name"})
_TITLE = re.compile(r"(?i)^(?:dr|dra|drs|dres|doctor|doctora|prof|sr|sra|srta|mr|mrs|ms|miss|d|dña|don|doña)\.?$")
_PARTICLES = frozenset("de del la las los y i van von da di do dos das le el du den der".split())
AGE_FORMS = ("{n} años", "{n} anos", "{n}a", "{n} a.", "{n}M", "{n}F", "{n} M", "{n} F", "{n}-year-old", "{n} year old",
             "{n} years old", "{n}yo", "{n} yo", "{n} y/o", "{n}y/o", "{n} y.o.", "aged {n}", "edad: {n}", "age: {n}",
             "edad {n}", "age {n}")


@dataclass(frozen=True, slots=True)
class StoredText:
    """One piece of stored text: where it was read (a source label with no value in it), whose case it belongs
    to when that is known, and whether it is prose a detector can read."""

    source: str
    owner: str | None
    text: str
    prose: bool = False


@dataclass
class ScanReport:
    """What a scan read and found: counts only."""

    sources: Counter[str] = field(default_factory=Counter)     # source family -> texts read
    chars: int = 0
    checked: Counter[str] = field(default_factory=Counter)     # kind -> distinct identifiers looked for
    found: Counter[str] = field(default_factory=Counter)       # kind -> distinct identifiers found
    found_in: Counter[str] = field(default_factory=Counter)    # source family -> (identifier, text) hits
    detector_types: Counter[str] = field(default_factory=Counter)  # type -> prose texts where it fires
    ambiguous: Counter[str] = field(default_factory=Counter)   # kind -> dates equal to a shifted date of their own
    prose_checked: int = 0
    prose_flagged: int = 0

    @property
    def leaked(self) -> int:
        return sum(self.found.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return {"sources": dict(self.sources), "chars": self.chars, "checked": dict(self.checked),
                "found": dict(self.found), "found_in": dict(self.found_in), "leaked": self.leaked,
                "detector_types": dict(self.detector_types), "ambiguous": dict(self.ambiguous), "prose_checked": self.prose_checked,
                "prose_flagged": self.prose_flagged}


# ---- reading everything ------------------------------------------------------------------------------------------
def _strings(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, str]]:
    """(key, string) of every string inside a JSON-like value."""
    if isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k in skip:
                continue
            for _, s in _strings(v, skip):
                yield str(k), s
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v, skip)


def _digest(*parts: Any) -> bytes:
    """A short digest of one stored thing (its key and content), to tell later whether it was written again."""
    body = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class StoredState:
    """Digests of everything stored at one moment (each index point, each table row, each file's size and time):
    what a later scan with `since=` leaves out. Holds no text."""

    digests: frozenset[bytes]

    def __len__(self) -> int:
        return len(self.digests)

    def __contains__(self, digest: object) -> bool:
        return digest in self.digests


def _point_digest(pid: str, payload: dict[str, Any]) -> bytes:
    return _digest("point", pid, payload)


def _row_digest(table: str, row: dict[str, Any]) -> bytes:
    return _digest("row", table, row)


def _file_digest(path: Path) -> bytes:
    st = path.stat()
    return _digest("file", str(path), st.st_size, st.st_mtime_ns)


def index_texts(index: Any, since: StoredState | None = None) -> Iterator[StoredText]:
    """Every string of every payload in the vector index (no limit): one text per point, and its prose apart.
    With `since`, only the points that are new or whose payload changed."""
    if not index.exists():
        return
    for pid, payload in index.all_payloads():
        if since is not None and _point_digest(str(pid), payload) in since:
            continue
        owner = payload.get("case_id")
        owner = owner if isinstance(owner, str) else None
        strings = list(_strings(payload, _ID_FIELDS))
        yield StoredText("index payload", owner, "\n".join(s for _, s in strings))
        prose = "\n".join(s for key, s in strings if key in _PROSE_FIELDS)
        if prose.strip():
            yield StoredText("index payload", owner, prose, prose=True)


def _rows(engine: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    from sqlalchemy import MetaData, select

    meta = MetaData()
    meta.reflect(bind=engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                yield table.name, dict(row)


def store_texts(engine: Any, since: StoredState | None = None) -> Iterator[StoredText]:
    """Every value of every row of every table in the system of record: one text per row, and its prose apart.
    With `since`, only the rows that are new or changed."""
    for name, row in _rows(engine):
        if since is not None and _row_digest(name, row) in since:
            continue
        owner = row.get("case_id")
        owner = owner if isinstance(owner, str) else None
        parts: list[str] = []
        prose: list[str] = []
        for col, value in row.items():
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            if isinstance(value, bytes | bytearray | memoryview):
                value = _readable(bytes(value))
            for key, s in _strings(value):
                parts.append(s)
                if key in _PROSE_FIELDS or col in _PROSE_FIELDS:
                    prose.append(s)
        if parts:
            yield StoredText(f"table {name}", owner, "\n".join(parts))
        if prose:
            yield StoredText(f"table {name}", owner, "\n".join(prose), prose=True)


def _readable(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return "\n".join(_PRINTABLE_RUN.findall(text))


def _sqlite_cells(path: Path) -> Iterator[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            for row in conn.execute(f"SELECT * FROM {quoted}"):
                cells = [c if isinstance(c, str) else _readable(c) if isinstance(c, bytes) else "" for c in row]
                joined = "\n".join(c for c in cells if c)
                if joined:
                    yield joined
    finally:
        conn.close()


def _files(root: Path) -> list[Path]:
    root = Path(root)
    if not root.exists():
        return []
    return [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def file_texts(root: Path, chunk_bytes: int = 8 << 20, since: StoredState | None = None) -> Iterator[StoredText]:
    """Every file under `root` (or `root` itself, a file), read as bytes: SQLite files cell by cell (and as bytes),
    others as printable runs. Files are read in overlapping chunks, so a large segment file never sits whole in memory.
    With `since`, only the files that are new or whose size or modification time changed."""
    for path in _files(root):
        try:
            if since is not None and _file_digest(path) in since:
                continue
        except OSError:
            continue  # removed meanwhile (a segment merged away)
        family = f"file {path.suffix or path.name}"
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC:
            try:
                for cells in _sqlite_cells(path):
                    yield StoredText("file sqlite", None, cells)
            except sqlite3.Error:
                pass  # locked or mid-write: its bytes are still read below
        overlap = 4096
        with path.open("rb") as fh:
            carry = b""
            while True:
                block = fh.read(chunk_bytes)
                if not block:
                    break
                text = _readable(carry + block)
                if text:
                    yield StoredText(family, None, text)
                carry = block[-overlap:]


def _roots(rt: Any, extra_paths: Sequence[Path]) -> list[Path]:
    out: list[Path] = []
    for root in [Path(rt.settings.data_dir), *map(Path, extra_paths)]:
        resolved = root.resolve()
        if resolved not in out:
            out.append(resolved)
    return out


def everything_stored(rt: Any, extra_paths: Sequence[Path] = (), since: StoredState | None = None
                      ) -> Iterator[StoredText]:
    """All stored text of a runtime: index payloads, every table row, every file under the data dir (and `extra_paths`,
    such as a log file or a report folder kept elsewhere). With `since`, only what was written after that state."""
    yield from index_texts(rt.index, since)
    yield from store_texts(rt.store.engine, since)
    for root in _roots(rt, extra_paths):
        yield from file_texts(root, since=since)


def stored_state(rt: Any, extra_paths: Sequence[Path] = ()) -> StoredState:
    """The digests of everything `everything_stored` would read now (no text kept): take it before a run, and
    `scan(..., since=state)` afterwards reads only what that run wrote."""
    digests: set[bytes] = set()
    if rt.index.exists():
        digests.update(_point_digest(str(pid), payload) for pid, payload in rt.index.all_payloads())
    digests.update(_row_digest(name, row) for name, row in _rows(rt.store.engine))
    for root in _roots(rt, extra_paths):
        for path in _files(root):
            try:
                digests.add(_file_digest(path))
            except OSError:
                continue
    return StoredState(frozenset(digests))


# ---- what to look for ------------------------------------------------------------------------------------------
def known_identifiers(truth: Any, owner_of: dict[str, str], *, min_word: int = 4,
                      keep_words: Iterable[str] = ()) -> list[KnownIdentifier]:
    """Every identifier of the synthetic clinic's ground truth, with, for each name, each of its words (a surname
    that survives alone is a leak too) and, for each patient over 89, their age as clinical notes write it.

    A name word that is also a word the policy keeps (the allow list `keep_words`, the eponyms, the lexicon's
    clinical and common words: a patient called Thompson beside a "Thompson test", Rosa beside "ROSA") is looked
    for only within the full name."""
    from indexing.deid import gazetteer

    clinical_words = ({fold(w) for w in keep_words} | EPONYMS_ALWAYS | EPONYMS_IN_CONTEXT | NOT_NAMES
                      | gazetteer.COMMON_WORDS)
    out: list[KnownIdentifier] = []
    for p in truth.patients:
        owner = owner_of.get(p.patient_id)
        for item in p.phi:
            out.append(KnownIdentifier(item.kind, item.text, owner))
            if item.kind in NAME_KINDS:
                for w in re.findall(r"[\w'’´-]+", item.text):
                    w = w.strip("-'")
                    if len(w) >= min_word and not _TITLE.match(w) and w.lower() not in _PARTICLES \
                            and fold(w) not in clinical_words:
                        out.append(KnownIdentifier(f"{item.kind}_word", w, owner))
        age = getattr(p, "age", None)
        if isinstance(age, int) and age >= 88:
            # the notes of a patient over 89 may give the age at any visit, years before: look for every age from 90
            for n in range(90, age + 3):
                out.extend(KnownIdentifier("age_over_89", form.format(n=n), owner) for form in AGE_FORMS)
            born = str(getattr(p, "birth_date", ""))[:4]
            if born.isdigit() and age >= 90:
                # a shifted date of birth still gives the year (give or take one): it reveals the age too
                out.extend(KnownIdentifier("birth_year_over_89", str(int(born) + d), owner) for d in (-1, 0, 1))
    return out


def _word_pattern(needle: str) -> re.Pattern[str]:
    # a number inside a longer one is no hit: "90 F" is not in the ICD-10 code and sex "m19.90 f" of a chunk's payload
    left = r"(?<![\w.,/-])" if needle[:1].isdigit() else r"(?<![\w])" if needle[:1].isalnum() else ""
    right = r"(?![\w])" if needle[-1:].isalnum() else ""
    return re.compile(left + re.escape(needle) + right)


def _date_of(text: str) -> dt.date | None:
    """The date a ground-truth date string names ('June 19, 2021', '19/06/2021', '2021-06-19', '19 Jun 2021')."""
    for fmt in ("%B %d, %Y", "%d/%m/%Y", "%Y-%m-%d", "%d %b %Y", "%d %B %Y", "%b %d, %Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def ground_truth_hits(texts: Iterable[StoredText], known: Sequence[KnownIdentifier], report: ScanReport | None = None,
                      *, min_chars: int = 4, shifted: dict[str, set[dt.date]] | None = None) -> ScanReport:
    """Look for every known identifier in every text (case- and accent-insensitive, whole words); counts only.

    Kinds in LOCAL_KINDS are looked for only in their owner's texts (and not in raw files, whose owner is unknown).
    `found_in` counts, per source family, the distinct identifiers found there. `shifted`: per owner, the patient's
    own dates moved by their offset; a real date equal to one of them is counted as ambiguous, not looked for."""
    report = report or ScanReport()
    shifted = shifted or {}
    by_source: dict[str, list[str]] = {}
    by_owner: dict[str, list[str]] = {}
    for t in texts:
        if t.prose:
            continue  # the same strings are in the point's or row's full text
        report.sources[t.source] += 1
        report.chars += len(t.text)
        norm = normalize_text(t.text)
        by_source.setdefault(t.source, []).append(norm)
        if t.owner:
            by_owner.setdefault(t.owner, []).append(norm)
    source_blobs = {s: "\n".join(v) for s, v in by_source.items()}
    owner_blobs = {o: "\n".join(v) for o, v in by_owner.items()}
    seen: set[tuple[str, str, str | None]] = set()
    for item in known:
        norm = normalize_text(item.text)
        local = item.kind in LOCAL_KINDS
        key = (item.kind, norm, item.owner if local else None)
        if len(norm) < (3 if item.kind == "age_over_89" else min_chars) or key in seen:  # "92M" is 3 characters
            continue
        seen.add(key)
        if local and item.kind != "birth_year_over_89" and _date_of(item.text) in shifted.get(item.owner or "", ()):
            # a shifted date of this patient that falls on another of their real dates: stored text cannot tell
            report.ambiguous[item.kind] += 1
            continue
        report.checked[item.kind] += 1
        pattern = _word_pattern(norm)
        if local:
            blob = owner_blobs.get(item.owner or "", "")
            hit = norm in blob and pattern.search(blob) is not None
            if hit:
                report.found_in["own case's texts"] += 1
        else:
            hit = False
            for source, blob in source_blobs.items():
                if len(norm) < min_chars and source.startswith("file "):
                    continue  # "92M" turns up in the bytes of any vector file; payloads and rows still show it
                if norm in blob and pattern.search(blob):
                    report.found_in[source] += 1
                    hit = True
        if hit:
            report.found[item.kind] += 1
    return report


PLACEHOLDER = re.compile(r"\[[A-Z_]+(?:_[0-9A-F]{4})?\]|PT-[0-9A-F]{6,}")


def residual_hits(text: str, spans: Sequence[Any], dates_kept_shifted: bool) -> set[str]:
    """Detector types that still fire on stored text, minus what de-identification leaves there on purpose: its
    placeholders ([NOMBRE_AB12], [DIRECCION], or a span that cuts through one), case pseudonyms, "90+", and dates
    when dates are shifted by policy."""
    types: set[str] = set()
    for sp in spans:
        value = text[sp.start:sp.end]
        if "[" in value or "]" in value or PLACEHOLDER.search(value) or value.strip() == "90+":
            continue
        if sp.type == "DATE" and dates_kept_shifted:
            continue
        types.add(sp.type)
    return types


def detector_hits(texts: Iterable[StoredText], deid: Deidentifier, *, dates_kept_shifted: bool,
                  report: ScanReport | None = None, batch: int = 64) -> ScanReport:
    """Run the de-identifier's own detectors over stored prose; count, per type, the texts where one still fires
    (what `residual_hits` leaves out is not counted)."""
    report = report or ScanReport()
    pending: list[str] = []

    def flush() -> None:
        for text, result in zip(pending, deid.deidentify_many(pending), strict=True):
            types = residual_hits(text, result.spans, dates_kept_shifted)
            report.detector_types.update(types)
            report.prose_flagged += bool(types)
        report.prose_checked += len(pending)
        pending.clear()

    for t in texts:
        if t.prose and t.text.strip():
            pending.append(t.text)
            if len(pending) >= batch:
                flush()
    if pending:
        flush()
    return report


def _shifted_dates(rt: Any, truth: Any, owner_of: dict[str, str]) -> dict[str, set[dt.date]]:
    from eval.questions import normalize_record

    out: dict[str, set[dt.date]] = {}
    for p in truth.patients:
        days = {rt.deid.date_offset_days(k) for k in {p.nhc, normalize_record(p.nhc)}}
        dates = [d for d in (_date_of(i.text) for i in p.phi if i.kind in LOCAL_KINDS) if d]
        out[owner_of[p.patient_id]] = {d + dt.timedelta(days=n) for d in dates for n in days}
    return out


def scan(rt: Any, truth: Any | None = None, *, detectors: bool = True, extra_paths: Sequence[Path] = (),
         owner_of: dict[str, str] | None = None, since: StoredState | None = None) -> ScanReport:
    """Scan everything `rt` stores (with `since`, only what was written after that state): the ground truth (when
    given) and the detectors (when `detectors`)."""
    return scan_texts(rt, list(everything_stored(rt, extra_paths, since)), truth, detectors=detectors,
                      owner_of=owner_of)


def scan_texts(rt: Any, texts: Sequence[StoredText], truth: Any | None = None, *, detectors: bool = True,
               owner_of: dict[str, str] | None = None) -> ScanReport:
    """`scan` of texts already read (a caller that holds the index lock only while reading)."""
    report = ScanReport()
    if truth is not None:
        if owner_of is None:
            from eval.questions import normalize_record

            owner_of = {p.patient_id: rt.deid.pseudonym(normalize_record(p.nhc)) for p in truth.patients}
        keep = getattr(rt.settings.deid, "allow_list", [])
        ground_truth_hits(texts, known_identifiers(truth, owner_of, keep_words=keep), report,
                          shifted=_shifted_dates(rt, truth, owner_of))
    else:
        for t in texts:
            if not t.prose:  # the prose is counted once, inside its point's or row's full text
                report.sources[t.source] += 1
                report.chars += len(t.text)
    if detectors:
        detector_hits(texts, rt.deid, dates_kept_shifted=bool(rt.settings.deid.shift_dates), report=report)
    return report


def truth_in_store(rt: Any, truth: Any, stored: set[str] | None = None) -> tuple[Any, dict[str, str]]:
    """The ground truth cut to the patients whose case is stored (all of them without `stored`), and each
    patient's case id."""
    from eval.questions import normalize_record

    owner_of = {p.patient_id: rt.deid.pseudonym(normalize_record(p.nhc)) for p in truth.patients}
    if stored is not None:
        truth = _SubTruth([p for p in truth.patients if owner_of[p.patient_id] in stored])
    return truth, owner_of


# ---- the scan of what one run wrote (the nightly job inside `casewise serve`, and `casewise index`) ---------------
def configured_truth(rt: Any) -> tuple[Any | None, dict[str, str] | None]:
    """The ground truth of the configured question set (`eval.questions`), cut to the patients stored here;
    (None, None) for a clinic's own questions, or a synthetic clinic that is not this index's."""
    from casewise.errors import CasewiseError
    from eval.questions import load_questions

    try:
        truth = load_questions(rt.settings.eval.questions, rt.deid.pseudonym).ground_truth
    except CasewiseError as exc:  # a wrong eval.questions must not stop the detectors' scan
        log.error("leak scan without a ground truth: %s", exc)
        return None, None
    if truth is None:
        return None, None
    sub, owner_of = truth_in_store(rt, truth, set(rt.store.case_fingerprints()))
    return (sub, owner_of) if sub.patients else (None, None)


def scan_written(rt: Any, before: StoredState | None, *, actor: str, job_id: str | None = None,
                 what: str = "leak scan", guard: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
                 logger: logging.Logger | None = None) -> ScanReport | None:
    """The leak scan of what one run wrote (everything when `before` is None): the detectors over its prose and,
    for a synthetic clinic, its ground truth over all of it. Logged (on `logger`, as `what`) and audited by `actor`
    as counts per type, never a value; a ground-truth hit is logged as an error. `guard`: held while the stored
    text is read (the server's index lock), not while the detectors run. None when the scan itself failed (that
    is audited too)."""
    logger = logger or log
    scope = "written" if before is not None else "everything"
    head: dict[str, object] = {"job_id": job_id} if job_id is not None else {}
    try:
        truth, owner_of = configured_truth(rt)
        with guard() if guard is not None else contextlib.nullcontext():
            texts = list(everything_stored(rt, since=before))
        rep = scan_texts(rt, texts, truth, owner_of=owner_of)
    except Exception as exc:  # noqa: BLE001 - a failed scan is reported, the caller's work is done already
        reason = type(exc).__name__
        logger.error("%s failed: %s", what, reason)
        rt.store.audit(actor, LEAK_SCAN_ACTION, detail={**head, "scope": scope, "failed": reason})
        return None
    texts_read = sum(rep.sources.values())
    detail: dict[str, object] = {
        **head, "scope": scope, "texts_checked": texts_read, "prose_checked": rep.prose_checked,
        "prose_flagged": rep.prose_flagged, "detector_types": dict(sorted(rep.detector_types.items()))}
    if truth is not None:
        detail.update(identifiers_checked=sum(rep.checked.values()), identifiers_found=rep.leaked,
                      found_by_type=dict(sorted(rep.found.items())), found_in=dict(sorted(rep.found_in.items())))
    rt.store.audit(actor, LEAK_SCAN_ACTION, detail=detail)
    logger.info("%s (%s): %d texts read, %d of %d prose texts with a detector hit (by type: %s)",
                what, scope, texts_read, rep.prose_flagged, rep.prose_checked, detector_types_text(rep))
    if rep.leaked:
        logger.error("%s: %s; values not shown. Fix de-identification, then re-index: casewise index FOLDERS "
                     "--rebuild", what, written_leak_message(rep))
    return rep


def detector_types_text(rep: ScanReport) -> str:
    """The detectors' hits by type, as counts ('INSTITUTION 30, PERSON 4'), or 'none'."""
    return ", ".join(f"{t} {n}" for t, n in sorted(rep.detector_types.items())) or "none"


def written_leak_message(rep: ScanReport) -> str:
    """How many known identifiers of the synthetic clinic a scan found, by type (never which)."""
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(rep.found.items()))
    return f"{rep.leaked} known identifiers of the synthetic clinic found in what this run wrote ({kinds})"


# ---- the evaluation report's privacy section -----------------------------------------------------------------------
def leak_scan_section(rt: Any, ground_truth: Any | None, stored: set[str] | None = None) -> Any:
    """The report section of a whole-store scan: the ground truth's hits (any is a failure) when the question set
    brings one, and the detectors' residual hits per type (for review) in every case. Counts only."""
    from eval.report.model import Chart, Section, Table

    truth = ground_truth
    owner_of: dict[str, str] | None = None
    if truth is not None:  # only the patients that are in this index
        truth, owner_of = truth_in_store(rt, truth, stored)
    rep = scan(rt, truth, owner_of=owner_of)
    failed = truth is not None and rep.leaked > 0
    metrics: dict[str, float | None] = {
        "texts_checked": float(sum(rep.sources.values())), "prose_checked": float(rep.prose_checked),
        "texts_flagged": float(rep.prose_flagged),
        "residual_hit_rate": rep.prose_flagged / rep.prose_checked if rep.prose_checked else None,
    }
    labels = {"texts_checked": "Stored texts read (every index payload, table row and file)",
              "prose_checked": "Stored prose the detectors re-read",
              "texts_flagged": "Stored prose where a detector still fires",
              "residual_hit_rate": "Share of stored prose where a detector still fires"}
    if truth is not None:
        checked = sum(rep.checked.values())
        metrics.update({"leak_rate": rep.leaked / checked if checked else None,
                        "identifiers_found": float(rep.leaked), "identifiers_checked": float(checked)})
        labels.update({"leak_rate": "Leak rate (identifiers found / looked for)",
                       "identifiers_found": "Known identifiers found in stored bytes",
                       "identifiers_checked": "Known identifiers looked for"})
    s = Section(
        key="leak", title="Privacy: everything stored, scanned whole", metrics=metrics, labels=labels,
        lower_is_better=["leak_rate", "identifiers_found", "residual_hit_rate", "texts_flagged"],
        status="fail" if failed else "ok" if truth is not None or rep.prose_flagged == 0 else "warn",
        note="Every index payload, every row of every table (cases, documents, audit log) and every file under the "
             "data dir (the SQLite file, the index's segment files, reports, logs) was read, without sampling. "
             + ("Every identifier the synthetic clinic's generator wrote (and each word of each name, and each age "
                "over 89 as notes write it) was looked for; any hit fails the run. " if truth is not None else "")
             + "The de-identifier's own detectors were run again over the stored prose; a detector hit is worth a "
               "look, not necessarily a leak. Only counts are reported, never values.")
    if truth is not None:
        s.tables.append(Table(title=KNOWN_TABLE, columns=["type", "looked for", "found"],
                              rows=[[k, rep.checked[k], rep.found.get(k, 0)] for k in sorted(rep.checked)]))
        if rep.found_in:
            s.tables.append(Table(title="Where known identifiers were found", columns=["stored in", "identifiers"],
                                  rows=[[k, v] for k, v in sorted(rep.found_in.items())]))
    if rep.detector_types:
        types = sorted(rep.detector_types)
        s.charts.append(Chart(kind="barh", title="Stored prose with a residual detector hit, by type", x=types,
                              series={"texts": [float(rep.detector_types[t]) for t in types]}, y_range=None,
                              y_label="texts"))
        s.tables.append(Table(title="Residual detector hits by type", columns=["type", "texts with a hit"],
                              rows=[[t, rep.detector_types[t]] for t in types]))
    return s


@dataclass
class _SubTruth:
    patients: list[Any]


def leak_failed(report: Any) -> bool:
    """True when a report's privacy section found a known identifier (the command should then exit non-zero)."""
    return any(getattr(sec, "key", None) == "leak" and getattr(sec, "status", None) == "fail"
               for sec in getattr(report, "sections", []))


def leaked_by_type(report: Any) -> dict[str, int]:
    """Known identifiers found, per type, from a report's privacy section (counts only: the section holds no value)."""
    out: dict[str, int] = {}
    for sec in getattr(report, "sections", []):
        if getattr(sec, "key", None) != "leak":
            continue
        for table in sec.tables:
            if table.title == KNOWN_TABLE:
                out.update({str(kind): int(found) for kind, _, found in table.rows if found})
    return out


def leak_failure_message(report: Any) -> str:
    """One line for the command that fails on a leak: how many known identifiers, of which types, and never which."""
    found = leaked_by_type(report)
    total = sum(found.values())
    kinds = ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in sorted(found.items()))
    return (f"leak check failed: {total} known identifier{'s' if total != 1 else ''} of the synthetic clinic found in "
            f"what Casewise stores ({kinds or 'types not reported'}). The values are not shown; the report's privacy "
            "section says where they were found. Re-index once de-identification is fixed (casewise index FOLDERS --rebuild).")
