"""The Parser contract, run against its one implementation, `UnstructuredParser` (Unstructured for typed text;
tesseract for scanned pages, which tests/indexing/test_ocr.py covers). The files are small and real, written here:
a reportlab PDF, a python-docx letter, UTF-8 and Windows-1252 notes, Markdown, HTML and an e-mail.

Each test asserts what the indexer relies on: every text type becomes titled sections that keep the words and their
accents, and every file that cannot be read is an `InputFileError` naming that file (so it is quarantined by name
and the rest is indexed), never an empty list or a traceback.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

import pytest

from casewise.errors import InputFileError
from casewise.parsing import Parser
from casewise.types import DocType
from indexing.parse import UnstructuredParser
from tests.contracts.base import Contract

MAX_BYTES = 100_000  # the parser's size limit here: the oversized file is just above it
NOTE = "Gonartrosis derecha: tras tres infiltraciones de PRP la EVA baja de 7 a 3 y refiere mejoría."
TITLE = "Informe de evolución"
MakeParser = Callable[[], Parser]


def _pdf(path: Path, *, password: str | None = None) -> None:
    import io

    import pypdf
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4)
    page.drawString(72, 760, TITLE)
    page.drawString(72, 730, NOTE)
    page.save()
    if password is None:
        path.write_bytes(buf.getvalue())
        return
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(buf))
    writer.encrypt(user_password=password, owner_password=password)
    with path.open("wb") as out:
        writer.write(out)


def _docx(path: Path) -> None:
    import docx

    doc = docx.Document()
    doc.add_heading(TITLE, level=1)
    doc.add_paragraph(NOTE)
    doc.save(str(path))


def _eml(path: Path) -> None:
    msg = EmailMessage()
    msg["From"] = "consulta@clinica-ejemplo.es"
    msg["To"] = "archivo@clinica-ejemplo.es"
    msg["Subject"] = TITLE
    msg.set_content(NOTE)
    path.write_bytes(bytes(msg))


def _encrypted_docx(path: Path) -> None:
    """What Word writes for a password-protected document: an OLE file whose package is `EncryptedPackage`."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("EncryptedPackage", b"\x00" * 64)
        zf.writestr("EncryptionInfo", b"\x04\x00\x04\x00")


GOOD: dict[str, tuple[DocType, Callable[[Path], object]]] = {
    "informe.pdf": ("pdf", _pdf),
    "carta.docx": ("docx", _docx),
    "nota.txt": ("txt", lambda p: p.write_text(f"{TITLE}\n\n{NOTE}\n", encoding="utf-8")),
    "nota-windows.txt": ("txt", lambda p: p.write_bytes(f"{TITLE}\n\n{NOTE}\n".encode("cp1252"))),
    "nota.md": ("md", lambda p: p.write_text(f"# {TITLE}\n\n{NOTE}\n", encoding="utf-8")),
    "informe.html": ("html", lambda p: p.write_text(
        f"<!doctype html><html><body><h1>{TITLE}</h1><p>{NOTE}</p></body></html>", encoding="utf-8")),
    "correo.eml": ("eml", _eml),
}
# name -> (type, how to write it, a word of the reason the indexer reports)
BAD: dict[str, tuple[DocType, Callable[[Path], object], str]] = {
    "vacio.txt": ("txt", lambda p: p.write_bytes(b""), "empty"),
    "blanco.txt": ("txt", lambda p: p.write_text(" \n\t\n", encoding="utf-8"), "no text"),
    "enorme.txt": ("txt", lambda p: p.write_text((NOTE + "\n") * (MAX_BYTES // len(NOTE) + 10), encoding="utf-8"),
                   "limit"),
    "binario.txt": ("txt", lambda p: p.write_bytes(b"EVA 7/10\x00\x00\x01\x02" * 50), "binary"),
    # bytes that are neither UTF-8 nor Windows-1252 (0x81, 0x8d, 0x8f, 0x90, 0x9d are unassigned there)
    "ilegible.txt": ("txt", lambda p: p.write_bytes(b"EVA \x81\x8d\x8f\x90\x9d 7/10"), "undecodable"),
    "protegido.pdf": ("pdf", lambda p: _pdf(p, password="clave"), "encrypted"),
    "roto.pdf": ("pdf", lambda p: p.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage"), "corrupt"),
    "protegida.docx": ("docx", _encrypted_docx, "encrypted"),
    "rota.docx": ("docx", lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "corrupt"),
}


class ParserContract(Contract):
    """What every Parser does. A subclass provides `make`."""

    protocol = Parser

    @pytest.fixture(scope="class")
    def subject(self, make: MakeParser) -> Parser:
        return make()

    @pytest.fixture(scope="class")
    def files(self, tmp_path_factory: pytest.TempPathFactory) -> Path:
        folder = tmp_path_factory.mktemp("parser-contract")
        for name, (_, write) in GOOD.items():
            write(folder / name)
        for name, (_, write, _) in BAD.items():
            write(folder / name)
        return folder

    def test_declares_a_name(self, subject: Parser) -> None:
        assert isinstance(subject.name, str) and subject.name

    @pytest.mark.parametrize("name", list(GOOD))
    def test_every_text_type_becomes_sections_that_keep_the_words_and_accents(self, subject: Parser, files: Path,
                                                                              name: str) -> None:
        sections = subject.parse(files / name, GOOD[name][0])
        assert sections and all(s.text.strip() for s in sections), "no section without text"
        text = " ".join(f"{s.title} {s.text}" for s in sections)
        assert "refiere mejoría" in text and "infiltraciones de PRP" in text

    # Markdown is read as plain text: its heading is a section title with the '#' kept ('# Informe de evolución').
    @pytest.mark.parametrize("name", ["informe.html", "carta.docx"])
    def test_a_heading_becomes_the_title_of_its_section(self, subject: Parser, files: Path, name: str) -> None:
        sections = subject.parse(files / name, GOOD[name][0])
        assert any(s.title == TITLE and "PRP" in s.text for s in sections), sections

    @pytest.mark.parametrize("name", list(BAD))
    def test_an_unreadable_file_is_an_input_file_error_naming_it(self, subject: Parser, files: Path,
                                                                 name: str) -> None:
        dtype, _, reason = BAD[name]
        path = files / name
        with pytest.raises(InputFileError) as err:
            subject.parse(path, dtype)
        assert err.value.path == str(path) and str(err.value).startswith(f"{path}: ")
        assert reason in err.value.reason.lower(), err.value.reason
        assert "\n" not in str(err.value) and "EVA" not in err.value.reason, "one line, none of the file's text"


class TestUnstructuredParser(ParserContract):
    @pytest.fixture(scope="class")
    def make(self) -> MakeParser:
        return lambda: UnstructuredParser(MAX_BYTES)
