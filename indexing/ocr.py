"""OCR of scanned PDF pages through Unstructured's `ocr_only` strategy, when tesseract is installed.

A clinic's PDFs mix typed reports (a text layer) with scanned letters, consent forms and outside results (images of
text). The text layer is always read first (Unstructured's `fast` strategy); only the pages that have no text are
rendered (poppler's pdftoppm, through pdf2image) and read by tesseract with the clinic's languages, and their text
is merged back in page order. Unstructured's `hi_res` strategy needs a layout model from the Hugging Face hub, which
these machines cannot reach, so `ocr_only` is the strategy used.

Needs, on the machine: `tesseract` with the language data (Debian: tesseract-ocr tesseract-ocr-spa) and poppler's
`pdftoppm`/`pdfinfo` (poppler-utils). Without them, a PDF with no text layer at all is quarantined with a reason that
says what to install, and a PDF with some scanned pages is indexed from its text pages, with a warning.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

INSTALL_HINT = "install tesseract-ocr, tesseract-ocr-spa and poppler-utils"


@dataclass(frozen=True)
class OcrPolicy:
    """When and how scanned pages are read (IngestSettings.ocr*)."""

    enabled: bool = True
    languages: tuple[str, ...] = ("spa", "eng")
    max_pages: int = 100  # scanned pages read per document; tesseract takes seconds per page


@functools.lru_cache(maxsize=8)
def missing(languages: tuple[str, ...]) -> str | None:
    """Why OCR cannot run here (None when it can): a missing program, language or Python package."""
    for program in ("tesseract", "pdftoppm", "pdfinfo"):
        if shutil.which(program) is None:
            return f"{program} not found"
    try:
        import unstructured_pytesseract  # noqa: F401
    except ImportError:
        return "the unstructured.pytesseract package is not installed"
    try:
        out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"tesseract does not run ({type(exc).__name__})"
    installed = {line.strip() for line in out.stdout.splitlines()[1:]}
    absent = [lang for lang in languages if lang not in installed]
    return f"tesseract has no language data for {', '.join(absent)}" if absent else None


def pages_without_text(elements: list[Any], page_count: int) -> list[int]:
    """1-based numbers of the pages on which the text layer gave nothing."""
    with_text = {getattr(getattr(el, "metadata", None), "page_number", None)
                 for el in elements if str(getattr(el, "text", "") or "").strip()}
    return [n for n in range(1, page_count + 1) if n not in with_text]


def read_pages(path: Path, pages: list[int], languages: tuple[str, ...]) -> list[Any]:
    """OCR the given pages of a PDF; the elements come back carrying their page numbers in the original file."""
    import pypdf
    from unstructured.partition.pdf import partition_pdf

    reader = pypdf.PdfReader(str(path))
    if reader.is_encrypted:
        reader.decrypt("")
    writer = pypdf.PdfWriter()
    for n in pages:
        writer.add_page(reader.pages[n - 1])
    # The scanned pages are patient data: they live only in a private temporary folder removed right after.
    with tempfile.TemporaryDirectory(prefix="casewise-ocr-") as tmp:
        subset = Path(tmp) / "pages.pdf"
        with subset.open("wb") as fh:
            writer.write(fh)
        elements: list[Any] = list(partition_pdf(filename=str(subset), strategy="ocr_only", languages=list(languages)))
    for el in elements:
        meta = getattr(el, "metadata", None)
        local = getattr(meta, "page_number", None)
        if meta is not None and isinstance(local, int) and 1 <= local <= len(pages):
            meta.page_number = pages[local - 1]
        el.text = str(el.text)  # tesseract's output arrives as numpy strings
    return elements


def merge_by_page(text_layer: list[Any], ocr: list[Any]) -> list[Any]:
    """Text-layer and OCR elements in reading order: by page, each page's own elements in their order."""
    def page(el: object) -> int:
        number = getattr(getattr(el, "metadata", None), "page_number", None)
        return number if isinstance(number, int) else 0

    return sorted(text_layer + ocr, key=page)  # sorted() is stable: order within a page is kept
