"""Hostile documents in a clinic folder: PDF bombs (a decompression bomb, 100,000-deep nesting, an object stream
declaring 50 million objects, 10,000 pages), an XML entity bomb inside a DOCX, a 51 MB and a 5 MB one-line text
file, NUL bytes, mixed encodings. The indexer stays within time and memory, quarantines each with a reason naming
the file, and indexes the rest of the folder.

The indexer runs as `casewise index` in a subprocess; its peak RSS is its own VmHWM from /proc. A memory bound is
a safety property, not a speed claim, so the bound is generous.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.reliability import hostile_docs as h
from tests.reliability.server_process import LAUNCH, consistency_problems, env

PEAK_RSS_LIMIT_MB = 2048
TIME_LIMIT_S = 600  # a hang, not a slow run, is what this catches

# file -> words its quarantine reason must contain (None: may be indexed, as long as time and memory stay bounded)
EXPECTED: dict[str, tuple[str, ...] | None] = {
    "bomba.pdf": ("decompression bomb",),
    "anidado.pdf": ("corrupt or unreadable pdf",),
    "objetos.pdf": None,
    "paginas.pdf": ("10000 pages", "limit"),
    "risas.docx": ("docx",),
    "linea_51mb.txt": ("above the limit",),
    "linea_5mb.txt": ("a line of", "limit"),
    "nul.txt": ("nul bytes",),
}
NOTES = {
    "nota_a.txt": "CONSULTA\nNHC: 4001234\nGonartrosis grado 2 en rodilla izquierda. EVA 7. Se pauta PRP, 3 sesiones.\n",
    "nota_b.txt": "FOLLOW-UP\nMRN: 5009876\nKnee osteoarthritis, hyaluronic acid injection. VAS fell from 6 to 3 at 6 months.\n",
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile") / "clinica"
    root.mkdir()
    h.pdf_flate_bomb(root / "bomba.pdf")
    h.pdf_deeply_nested(root / "anidado.pdf")
    h.pdf_huge_object_stream(root / "objetos.pdf")
    h.pdf_many_pages(root / "paginas.pdf")
    h.docx_billion_laughs(root / "risas.docx")
    h.one_line_txt(root / "linea_51mb.txt", 51)
    h.one_line_txt(root / "linea_5mb.txt", 5)
    h.nul_bytes_txt(root / "nul.txt")
    h.mixed_encoding_txt(root / "mezcla.txt")
    for name, text in NOTES.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


# The child reports its own high-water mark (VmHWM, which starts afresh at exec). The kernel's ru_maxrss from wait4
# would also count the pages the child shared with a large parent between fork and exec: after the fine-tuning tests
# the pytest process itself holds gigabytes, and that showed up as the indexer's "peak".
_REPORT_PEAK = ("import atexit, sys; atexit.register(lambda: sys.stderr.write('VMHWM_KB ' + "
                "open('/proc/self/status').read().split('VmHWM:')[1].split()[0] + '\\n'));")


def _run_measured(cmd: list[str], environ: dict[str, str], out_dir: Path, timeout: float) -> tuple[int, str, float]:
    """Run `cmd` (a `python -c CODE ...` line); return (exit code, stderr, the child's own peak RSS in MB)."""
    assert cmd[1] == "-c"
    cmd = [cmd[0], "-c", _REPORT_PEAK + cmd[2], *cmd[3:]]
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "stdout").open("wb") as so, (out_dir / "stderr").open("wb") as se:
        proc = subprocess.Popen(cmd, env=environ, stdout=so, stderr=se)
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        proc.wait()
    finally:
        watchdog.cancel()
    stderr = (out_dir / "stderr").read_text(errors="replace")
    peaks = [int(line.split()[1]) for line in stderr.splitlines() if line.startswith("VMHWM_KB ")]
    assert peaks, "the indexer did not report its peak memory (killed?)"
    return proc.returncode, stderr, peaks[-1] / 1024


def test_hostile_files_are_quarantined_within_bounds_and_the_rest_is_indexed(folder: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    started = time.monotonic()
    rc, stderr, peak_mb = _run_measured([sys.executable, "-c", LAUNCH, "index", str(folder)], env(data),
                                        tmp_path / "run", TIME_LIMIT_S)
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S, f"indexing the hostile folder was killed after {TIME_LIMIT_S} s"
    assert rc == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"

    from app.runtime import Runtime
    from casewise.settings import load_settings

    rt = Runtime(load_settings(data_dir=data))
    try:
        rows = {Path(r.source_path).name: r for r in rt.store.documents()}
    finally:
        rt.close()
    for name, words in EXPECTED.items():
        row = rows[name]
        if words is None:
            assert row.status in ("indexed", "quarantined")
            continue
        assert row.status == "quarantined", f"{name} was {row.status}"
        assert all(w in row.error.lower() for w in words), f"{name}: {row.error}"
        assert name in stderr, f"the command's output does not name {name}"  # the reason names the file
    for name in [*NOTES, "mezcla.txt"]:
        assert rows[name].status == "indexed", f"{name}: {rows[name].error}"
    assert rows["nota_a.txt"].case_id and rows["nota_b.txt"].case_id
    assert consistency_problems(data, {str(p.resolve()) for p in folder.iterdir()}) == []
