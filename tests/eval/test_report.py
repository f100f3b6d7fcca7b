"""Reports: sections from any metric dict, history and trends across runs, the public-set reports, and the HTML page
as a clinic director sees it in headless Chromium (screenshot under test-artifacts/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.report import Report, list_runs, load_history, load_report, section_from_metrics, write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _report(run_id: str, created: str, recall: float) -> Report:
    r = Report(run_id=run_id, kind="run", title="Casewise evaluation", created_at=created)
    r.add(section_from_metrics("retrieval", "Finding similar past cases", {"recall@10": recall, "mrr": 0.5},
                               labels={"recall@10": "Recall@10"}))
    return r


def test_a_section_comes_from_any_metric_dict() -> None:
    # e.g. what an MCQ accuracy evaluation returns: numbers become metrics, a dict of dicts a table
    s = section_from_metrics("medqa", "MedQA accuracy", {
        "accuracy": 0.61, "n": 200, "model": "huatuo", "missing": None,
        "per_subject": {"cardiology": {"accuracy": 0.7, "n": 10}, "surgery": {"accuracy": 0.5, "n": 12}}})
    assert s.metrics == {"accuracy": 0.61, "n": 200.0, "missing": None}
    [table] = s.tables
    assert table.columns == ["per_subject", "accuracy", "n"]
    assert table.rows == [["cardiology", 0.7, 10], ["surgery", 0.5, 12]]


def test_runs_are_kept_and_read_back_for_trends(tmp_path: Path) -> None:
    first = _report("20261101T020000000Z-run", "2026-11-01T02:00:00+00:00", 0.80)
    second = _report("20261102T020000000Z-run", "2026-11-02T02:00:00+00:00", 0.90)
    write_report(first, tmp_path)
    folder = write_report(second, tmp_path)

    assert [r.run_id for r in load_history(tmp_path, kind="run")] == [first.run_id, second.run_id]
    assert load_report(tmp_path, second.run_id).to_dict() == second.to_dict()  # type: ignore[union-attr]
    assert load_report(tmp_path, "../etc") is None
    listed = list_runs(tmp_path)
    assert [r.run_id for r in listed] == [second.run_id, first.run_id]  # newest first
    assert listed[0].headline == {"retrieval.recall@10": 0.9, "retrieval.mrr": 0.5}

    html = (folder / "report.html").read_text(encoding="utf-8")
    # The second run is compared with the first: previous value, a positive change, and a trend chart.
    assert "compared with the run of 2026-11-01 02:00:00" in html
    assert ">0.800<" in html and "+0.100" in html
    assert "alt='Trend across runs'" in html
    first_html = (tmp_path / first.run_id / "report.html").read_text(encoding="utf-8")
    assert "first run of this kind" in first_html and "Trend across runs" not in first_html
    md = (folder / "summary.md").read_text(encoding="utf-8")
    assert "| Recall@10 | 0.900 |" in md


def test_public_sets_write_the_figures_they_print(indexed, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from eval import deid_eval, retrieval_eval

    brat = tmp_path / "meddocan"
    brat.mkdir()
    text = "Paciente: Ana Gil Pérez, NHC 1234567, teléfono 612 345 678. Acude por gonalgia derecha."
    (brat / "d1.txt").write_text(text, encoding="utf-8")
    spans = [("NOMBRE_SUJETO_ASISTENCIA", "Ana Gil Pérez"), ("ID_SUJETO_ASISTENCIA", "1234567"),
             ("NUMERO_TELEFONO", "612 345 678")]
    (brat / "d1.ann").write_text("".join(f"T{i}\t{t} {text.index(v)} {text.index(v) + len(v)}\t{v}\n"
                                         for i, (t, v) in enumerate(spans, start=1)), encoding="utf-8")
    rt, _ = indexed
    root = tmp_path / "reports"
    assert deid_eval.main(["--meddocan", str(brat), "--json", "--report", str(root)], deid=rt.deid) == 0
    printed = json.loads(capsys.readouterr().out)[0]
    [run] = list_runs(root)
    assert run.kind == "deid"
    assert run.headline["meddocan.token_recall"] == pytest.approx(printed["token"]["recall"])
    assert run.headline["meddocan.leak_rate"] == pytest.approx(printed["leak_rate"])

    codiesp = tmp_path / "codiesp"
    for sub in ("text_files", "text_files_en"):
        (codiesp / sub).mkdir(parents=True)
    cases = {"A": ("J45.9", "asma bronquial con sibilancias"), "B": ("J45.0", "asma bronquial alergica y tos"),
             "C": ("K35.8", "apendicitis aguda con dolor abdominal"), "D": ("K35.2", "apendicitis perforada")}
    for cid, (_, t) in cases.items():
        (codiesp / "text_files" / f"{cid}.txt").write_text(t, encoding="utf-8")
        (codiesp / "text_files_en" / f"{cid}.txt").write_text(t, encoding="utf-8")
    (codiesp / "trainD.tsv").write_text("".join(f"{c}\t{code}\n" for c, (code, _) in cases.items()), encoding="utf-8")
    assert retrieval_eval.main(["--codiesp", str(codiesp), "--methods", "bm25", "--json", "--report", str(root)]) == 0
    printed = json.loads(capsys.readouterr().out)
    runs = {r.kind: r for r in list_runs(root)}
    assert runs["codiesp-es"].headline["bm25.ndcg@10"] == pytest.approx(printed["results"]["bm25"]["ndcg@10"])


def test_report_page_in_chromium(browser, indexed, clinic_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from eval.questions import load_questions
    from eval.run import run_eval

    rt, _ = indexed
    qset = load_questions(clinic_dir / "ground_truth.json", rt.deid.pseudonym)
    qset.questions = qset.questions[:3]
    for _ in range(2):  # two runs: the second page has trend lines and a comparison column
        folder = write_report(run_eval(rt, qset), tmp_path)

    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto((folder / "report.html").as_uri())
    assert page.inner_text("h1") == "Casewise evaluation"
    assert page.locator(".card").count() == 7
    assert page.locator("section h2").all_inner_texts()[0].startswith("Finding similar past cases")
    assert page.locator("#leak .badge").inner_text().lower() == "pass"
    images = page.locator("img")
    assert images.count() >= 5
    # every chart decoded (an empty or corrupt PNG has natural width 0)
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 300)")
    page.locator("#retrieval summary").click()
    assert page.locator("#retrieval details table tr").count() == 4  # header + 3 questions
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "eval-report.png"), full_page=True)
    page.close()
    assert problems == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests  # self-contained: nothing fetched
