"""Hostile documents, generated in the test (nothing committed): PDF bombs, an XML entity bomb inside a DOCX,
very long lines, NUL bytes, mixed encodings, a 10,000-page PDF. Each is small on disk and expensive to parse naively."""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1 = catalog), with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, compress: bool = True) -> bytes:
    body = zlib.compress(data, 9) if compress else data
    flt = b" /Filter /FlateDecode" if compress else b""
    return b"<< /Length %d%s >>\nstream\n" % (len(body), flt) + body + b"\nendstream"


def _one_page(content_obj: bytes, extra: bytes = b"") -> list[bytes]:
    return [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >>" + extra + b" >>",
            content_obj,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]


def flate_bomb(inflated_mb: int) -> bytes:
    """A valid zlib stream of `inflated_mb` MB of drawing operators, ~1,000:1, built in about a second.

    Each 1 MB block is compressed after a full flush, so every block compresses to the same bytes: one block is
    compressed and repeated; the Adler-32 checksum is computed over the repetitions.
    """
    block = (b"BT /F1 12 Tf 72 712 Td (Rodilla) Tj ET\n" * 30_000)[: 1 << 20]
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    comp.compress(block)
    comp.flush(zlib.Z_FULL_FLUSH)
    segment = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush()
    adler = 1
    for _ in range(inflated_mb):
        adler = zlib.adler32(block, adler)
    return b"\x78\xda" + segment * inflated_mb + tail + adler.to_bytes(4, "big")


def pdf_flate_bomb(path: Path, inflated_mb: int = 1024) -> None:
    """A page whose content stream is ~3 MB on disk and inflates to `inflated_mb` MB."""
    body = flate_bomb(inflated_mb)
    stream = b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(body) + body + b"\nendstream"
    path.write_bytes(_pdf(_one_page(stream)))


def pdf_deeply_nested(path: Path, depth: int = 100_000) -> None:
    """A page dictionary holding an array nested `depth` levels deep (recursive-descent parsers overflow)."""
    nested = b"[" * depth + b"]" * depth
    path.write_bytes(_pdf(_one_page(_stream(b"BT /F1 12 Tf 72 712 Td (x) Tj ET"), b" /Junk " + nested)))


def pdf_huge_object_stream(path: Path, declared: int = 50_000_000) -> None:
    """An object stream that declares 50 million objects and an xref stream pointing into it."""
    header = b" ".join(b"%d %d" % (i + 6, i * 4) for i in range(2000))
    objs = header + b" " + b"<<>>" * 2000
    objstm = (b"<< /Type /ObjStm /N %d /First %d /Length %d /Filter /FlateDecode >>\nstream\n"
              % (declared, len(header) + 1, len(zlib.compress(objs, 9)))) + zlib.compress(objs, 9) + b"\nendstream"
    pages = _one_page(_stream(b"BT /F1 12 Tf 72 712 Td (x) Tj ET"))
    pages.append(objstm)
    path.write_bytes(_pdf(pages))


def pdf_many_pages(path: Path, pages: int = 10_000) -> None:
    """`pages` blank pages sharing one content stream (fast to write, ~1 MB)."""
    kids = b" ".join(b"%d 0 R" % (i + 4) for i in range(pages))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
            _stream(b"", compress=False)]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"] * pages
    path.write_bytes(_pdf(objs))


def docx_billion_laughs(path: Path) -> None:
    """A DOCX whose document.xml declares the classic exponential entity expansion."""
    lol = ['<!ENTITY lol "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                                     for i in range(1, 10)]
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<!DOCTYPE w:document [' + "".join(lol) + "]>"
           '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
           "<w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>")
    ct = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/word/document.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="word/document.xml"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", ct)
        zf.writestr("_rels/.rels", rels)
        zf.writestr("word/document.xml", xml)


def one_line_txt(path: Path, mb: float) -> None:
    """A single line of `mb` MB of clinical-looking words (no newline anywhere)."""
    unit = b"rodilla dolor EVA 7 infiltracion PRP mejoria "
    path.write_bytes(unit * int(mb * 1e6 / len(unit)))


def nul_bytes_txt(path: Path) -> None:
    path.write_bytes(b"Paciente con gonalgia.\x00\x00\x00\x01\x02binary\x00" * 100)


def mixed_encoding_txt(path: Path) -> None:
    """UTF-8 and Windows-1252 lines in one file (an export concatenated from two systems)."""
    path.write_bytes("Gonartrosis de rodilla, mejoría tras PRP.\n".encode() +
                     "Segunda visita: EVA 3, sin efectos adversos, evolución favorable.\n".encode("cp1252"))
