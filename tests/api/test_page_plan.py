"""The chat page shows how the question was read (plan chips), the whole-store cohort table with labels in the
answer's language, and the outcome over time per arm (median and IQR) as a plot. Saves a screenshot."""

from __future__ import annotations

from sqlalchemy import select

from casewise.store import CaseRow
from casewise.types import Case
from casewise.vocabulary import label
from tests.api.conftest import ARTIFACTS, Clinic, Keys, Server

WORDS = {"prp": "PRP", "hyaluronic_acid": "ácido hialurónico", "corticosteroid": "corticoides",
         "physiotherapy": "fisioterapia", "bmac": "BMAC", "surgery_referral": "derivación a cirugía",
         "eswt": "ondas de choque"}


def _sign_in_in_spanish(page, server: Server, keys: Keys) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.click("#lang-es")
    page.fill("#apikey", keys.clinician)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#chat:not([hidden])")


def test_plan_chips_cohort_table_and_plot(browser, server: Server, keys: Keys, clinic: Clinic) -> None:  # type: ignore[no-untyped-def]
    with clinic.runtime.store.session() as s:
        knee = [c for c in (Case.model_validate(d) for d in s.scalars(select(CaseRow.data)))
                if any(d.name == "knee_oa" for d in c.diagnoses)]
    a, b = sorted({t.name for c in knee for t in c.treatments})[:2]
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in_in_spanish(page, server, keys)
    page.fill("#question", f"Compara {WORDS[a]} y {WORDS[b]} en gonartrosis: EVA a los 3 y 6 meses")
    page.click("#ask-btn")
    page.wait_for_selector(".chips")
    chips = page.inner_text(".chips")
    assert "intención: comparación" in chips and "afección: artrosis de rodilla (M17)" in chips
    assert "escala: VAS" in chips and "meses: 3, 6" in chips
    page.wait_for_selector("table.cohort")
    table = page.inner_text("table.cohort")
    assert "Cambio mediano" in table and "Alcanzó la DMCI" in table
    assert label(a, "es") in table and label(b, "es") in table  # names in the answer's language, not ids
    rows = [r.split("\t") for r in table.splitlines()[1:]]
    assert {r[2] for r in rows if len(r) > 3 and r[2] != "-"} <= {"VAS"}  # the asked scale and time points only
    assert {r[3] for r in rows if len(r) > 3 and r[3] != "-"} <= {"3.0", "6.0", "3", "6"}
    # One line per arm in the plot, named in Spanish in its key.
    lines = page.locator("svg.plot polyline")
    assert sorted(lines.evaluate_all("ns => ns.map(n => n.getAttribute('data-arm'))")) == sorted([a, b])
    assert "Cambio mediano (RIC) a lo largo del tiempo" in page.inner_text("figure.plot figcaption")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-page-plan.png"), full_page=True)
    assert errors == [], errors
    page.close()


def test_with_no_case_of_the_asked_treatment_the_page_titles_the_table_as_the_nearest(  # type: ignore[no-untyped-def]
        browser, server: Server, keys: Keys, clinic: Clinic) -> None:
    with clinic.runtime.store.session() as s:
        knee = [c for c in (Case.model_validate(d) for d in s.scalars(select(CaseRow.data)))
                if any(d.name == "knee_oa" for d in c.diagnoses)]
    given = {t.name for c in knee for t in c.treatments}
    untried = sorted(set(WORDS) - given)
    assert knee and untried, "the test clinic's knee cases must lack one treatment"
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    _sign_in_in_spanish(page, server, keys)
    page.fill("#question", f"¿Qué funcionó con {WORDS[untried[0]]} en gonartrosis?")
    page.click("#ask-btn")
    page.wait_for_selector("table.cohort")
    assert "intención: qué funcionó" in page.inner_text(".chips")
    heads = page.locator("h3").all_inner_texts()
    assert any(h.startswith("Lo más cercano registrado, no lo que se preguntó") for h in heads), heads
    assert not any(h.startswith("Todos los casos de la clínica que coinciden") for h in heads), heads
    table = page.inner_text("table.cohort")
    assert label(untried[0], "es") not in table and any(label(t, "es") in table for t in given)


def test_a_question_of_two_parts_shows_both_in_the_chips_and_the_answer(  # type: ignore[no-untyped-def]
        browser, server: Server, keys: Keys, clinic: Clinic) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    _sign_in_in_spanish(page, server, keys)
    page.fill("#question", "¿Cuántos pacientes con gonartrosis hay y qué efectos adversos tuvieron?")
    page.click("#ask-btn")
    page.wait_for_selector(".chips")
    assert "intención: recuento + efectos adversos" in page.inner_text(".chips")
    page.get_by_text("Efectos adversos, por tratamiento:").first.wait_for()
    page.close()
