"""A link inside a records folder that points outside every source folder is reported by `casewise index` as not
followed, and nothing from its target reaches the index."""

from __future__ import annotations

from pathlib import Path

from app.runtime import Runtime
from casewise.settings import load_settings
from indexing.pipeline import Indexer


def test_the_index_report_names_a_link_that_leads_outside_and_reads_nothing_from_it(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private.txt").write_text("NHC: 5550001. Nota privada: sinovitis villonodular.", encoding="utf-8")
    records = tmp_path / "records"
    records.mkdir()
    (records / "nota.txt").write_text("NHC: 5550002. Gonartrosis; PRP, EVA de 7 a 3.", encoding="utf-8")
    (records / "enlace.txt").symlink_to(outside / "private.txt")
    rt = Runtime(load_settings(data_dir=tmp_path / "data"))
    try:
        indexer = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid)
        report = indexer.run([records])
        text = "\n".join(p.get("text", "") for _, p in rt.index.all_payloads())
        listed = [(Path(d.source_path).name, d.error) for d in rt.store.documents() if d.status == "quarantined"]
        again = indexer.run([records])
        (records / "enlace.txt").unlink()
        gone = indexer.run([records])
        after = [d for d in rt.store.documents() if d.status == "quarantined"]
        (records / "nota.txt").unlink()  # an indexed note replaced by a link that leads outside
        (records / "nota.txt").symlink_to(outside / "private.txt")
        replaced = indexer.run([records])
        text_after = "\n".join(p.get("text", "") for _, p in rt.index.all_payloads())
    finally:
        rt.close()
    assert report.added == 1
    [(path, why)] = report.quarantined
    assert Path(path).name == "enlace.txt" and "outside every source folder" in why
    assert "Gonartrosis" in text and "villonodular" not in text
    assert listed == [("enlace.txt", why)], "casewise status lists the link with its reason"
    assert (again.added, again.deleted, again.unchanged) == (0, 0, 1) and again.quarantined == report.quarantined
    assert gone.deleted == 1 and after == [], "a removed link leaves the list"
    assert [Path(p).name for p, _ in replaced.quarantined] == ["nota.txt"]
    assert "Gonartrosis" not in text_after and "villonodular" not in text_after, "the replaced note's chunks are gone"
