"""`casewise demo | ask | similar`: the clinician's commands, and how their answers are printed."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from casewise.errors import CasewiseError
from casewise.lang import measure_name, number
from cli.common import index_with_progress, out, runtime

if TYPE_CHECKING:
    from casewise.settings import Settings
    from casewise.types import Answer, Case, SimilarCase

DEMO_QUESTIONS = [
    ("es", ("Mujer de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 7/10 pese a AINEs. "
            "¿Qué tratamientos funcionaron en pacientes similares?")),
    ("en", ("62-year-old man with knee osteoarthritis, Kellgren-Lawrence grade 2, VAS 7/10 despite NSAIDs. "
            "What worked for patients like this one?")),
]


CODES_SHOWN = 4  # per case in the similar-cases table; --json has them all, with span and confidence

# Every line of a CLI answer in the answer's language (the answer text itself comes localised from reasoning/).
WORDS: dict[str, dict[str, str]] = {
    "en": {"similar": "Similar cases", "case": "case", "score": "score", "cosine": "cosine", "sex_age": "sex/age",
           "diagnoses": "diagnoses", "treatments": "treatments", "why": "why", "codes": "ICD-10",
           "predicted": "* predicted by the ICD-10 coder from the notes; without *: recorded in the clinic's tables",
           "evidence": "Evidence: what was done for similar cases and how it turned out", "treatment": "treatment",
           "cases": "cases", "measure": "measure", "median": "median change", "iqr": "IQR", "improved": "improved",
           "months": "months", "adverse": "adverse", "case_ids": "case ids", "answer": "Answer", "flags": "flags",
           "cited": "Cited cases", "mode_evidence": "evidence", "mode_llm": "model", "none": "none",
           "caption": ("cosine: best dense cosine with {model}; below {floor} (this model's similarity floor) a case "
                       "does not count as evidence; 1.00 = the same text")},
    "es": {"similar": "Casos similares", "case": "caso", "score": "puntuación", "cosine": "coseno",
           "sex_age": "sexo/edad", "diagnoses": "diagnósticos", "treatments": "tratamientos", "why": "por qué",
           "codes": "CIE-10",
           "predicted": "* propuesto por el codificador CIE-10 a partir de las notas; sin *: registrado en las tablas",
           "evidence": "Evidencia: qué se hizo en casos similares y cómo evolucionaron", "treatment": "tratamiento",
           "cases": "casos", "measure": "escala", "median": "cambio mediano", "iqr": "RIC", "improved": "mejoraron",
           "months": "meses", "adverse": "adversos", "case_ids": "casos (id)", "answer": "Respuesta",
           "flags": "avisos", "cited": "Casos citados", "mode_evidence": "evidencia", "mode_llm": "modelo",
           "none": "ninguno",
           "caption": ("coseno: mejor coseno denso con {model}; por debajo de {floor} (el umbral de similitud de este "
                       "modelo) un caso no cuenta como evidencia; 1,00 = el mismo texto")},
}
# The answer's checks (reasoning/): codes in JSON, words on a clinician's terminal.
FLAGS = {
    "es": {"not_found": "no consta en los registros", "identifier_request_refused": "petición de identificadores rechazada",
           "clarification_needed": "falta información en la pregunta", "too_little_evidence": "evidencia insuficiente", "truncated": "respuesta cortada por llm.max_tokens",
           "uncited_claims": "afirmaciones sin caso citado", "unsupported_claims": "afirmaciones no respaldadas",
           "no_valid_citations": "ninguna cita válida", "fabricated_citation_removed": "cita inventada eliminada",
           "low_support": "respaldo débil", "absolute_claim": "afirmación absoluta",
           "missing_final_response": "sin respuesta final", "injection_suspected": "posible inyección en los casos"},
    "en": {"not_found": "not in the records", "identifier_request_refused": "identifier request refused",
           "clarification_needed": "the question lacks what to look for", "too_little_evidence": "too little evidence", "truncated": "answer cut by llm.max_tokens",
           "uncited_claims": "claims without a cited case", "unsupported_claims": "unsupported claims",
           "no_valid_citations": "no valid citation", "fabricated_citation_removed": "invented citation removed",
           "low_support": "weak support", "absolute_claim": "absolute claim",
           "missing_final_response": "no final response", "injection_suspected": "possible injection in the cases"},
}
# The reasons a case matched (retrieval/search.py writes them as "key: values").
WHY_KEYS = {"es": {"diagnosis": "diagnóstico", "severity": "gravedad", "sex": "sexo", "age band": "franja de edad",
                   "terms": "términos"}}


def _why(reasons: list[str], lang: str) -> str:
    from casewise.vocabulary import label

    keys = WHY_KEYS.get(lang, {})
    out = []
    for reason in reasons:
        key, sep, values = reason.partition(": ")
        if key == "diagnosis":
            values = ", ".join(label(v, lang) for v in values.split(", "))
        out.append(f"{keys.get(key, key)}{sep}{values}")
    return "; ".join(out)


def codes_text(case: Case, lang: str, limit: int = CODES_SHOWN) -> str:
    """A case's ICD-10 codes as a clinician reads them: the code, its label in `lang`, * when predicted; the codes of
    the case's own diagnoses first, comorbidities after."""
    from casewise.terminology import label_of

    own = {(d.icd10 or "").lower()[:3] for d in case.diagnoses} - {""}
    # the case's own condition first, then what the clinic recorded, then the coder's surest
    ordered = sorted(case.codes, key=lambda c: (c.code[:3] not in own, c.source != "recorded", -c.confidence))
    shown = []
    for c in ordered[:limit]:
        label = label_of(c.code, lang, fallback=c.label, kind=c.kind)
        # a procedure's ICD-10-PCS code is not a CIE-10 / ICD-10-CM diagnosis code: say which system it is
        system = "PCS " if c.kind == "procedure" else ""
        shown.append(f"{system}{c.code.upper()} {label}{'*' if c.source == 'predicted' else ''}".strip())
    more = len(case.codes) - limit
    return "; ".join(shown) + (f" (+{more})" if more > 0 else "")


def print_similar(cases: list[SimilarCase], settings: Settings, lang: str = "en") -> None:
    from casewise.vocabulary import label

    w = WORDS[lang]
    caption = w["caption"].format(model=settings.embedding.model,
                                  floor=number(settings.retrieval.similarity_floor or 0.0, lang, "{:.2f}"))
    if any(c.case and c.case.codes for c in cases):
        caption += "\n" + w["predicted"]
    t = Table(title=w["similar"], show_lines=False, caption=caption)
    for col in ("case", "score", "cosine", "sex_age", "diagnoses", "codes", "treatments", "why"):
        t.add_column(w[col])
    for c in cases:
        case = c.case
        t.add_row(c.case_id, number(c.score, lang, "{:.3f}"), number(c.similarity, lang, "{:.2f}"),
                  f"{case.sex or '?'}/{case.age_band or '?'}" if case else "",
                  ", ".join(f"{label(d.name, lang)}{' ' + d.severity if d.severity else ''}" for d in case.diagnoses)
                  if case else "",
                  codes_text(case, lang) if case else "",
                  ", ".join(dict.fromkeys(label(x.name, lang) for x in case.treatments)) if case else "",
                  _why(c.why, lang))
    out.print(t)


def print_answer(answer: Answer) -> None:
    from casewise.vocabulary import label

    lang = answer.language
    w = WORDS[lang]
    ev = answer.evidence
    if ev.cohort is not None or answer.plan is not None:
        # A planned answer carries its cohort tables in its text (every arm, measure and time point asked).
        _print_text(answer, w)
        return
    t = Table(title=w["evidence"])
    for col in ("treatment", "cases", "measure", "median", "iqr", "improved", "months", "adverse", "case_ids"):
        t.add_column(w[col])
    for row in ev.table:
        o = row.outcomes[0] if row.outcomes else None
        t.add_row(label(row.treatment, lang), str(row.n_cases), measure_name(o.measure, lang) if o else "-",
                  number(o.median_change, lang) if o else "-",
                  f"{number(o.iqr[0], lang)}..{number(o.iqr[1], lang)}" if o and o.iqr else "-",
                  f"{(o.improved_share or 0) * 100:.0f}%" if o else "-", number(o.months, lang, "{:g}") if o else "-",
                  str(row.adverse_events), ", ".join(row.case_ids[:4]) + ("…" if len(row.case_ids) > 4 else ""))
    out.print(t)
    _print_text(answer, w)


def _print_text(answer: Answer, w: dict[str, str]) -> None:
    lang = answer.language
    mode = w["mode_llm"] if answer.mode == "llm" else w["mode_evidence"]
    out.print(f"[bold]{w['answer']}[/bold] ({mode}{', ' + answer.model if answer.model else ''}):")
    out.print(answer.text, markup=False, highlight=False)
    if answer.flags:
        words = FLAGS[lang]
        out.print(f"[yellow]{w['flags']}:[/yellow] {', '.join(words.get(f, f) for f in answer.flags)}")
    cited = ", ".join(c.case_id for c in answer.citations if c.valid) or w["none"]
    out.print(f"[bold]{w['cited']}:[/bold] {cited}")
    out.print(f"[dim]{answer.notice}[/dim]")


def empty_but_vector_cache(data_dir: Path) -> None:
    """Empty the demo's folder but for its vector cache: the sample is indexed anew every run (store, collection,
    every stage), and its texts, unchanged since the last run, are not embedded again."""
    from casewise.embedding.cache import CACHE_FILE

    if not data_dir.exists():
        return
    for child in data_dir.iterdir():
        if child.name.startswith(CACHE_FILE):
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def demo(data_dir: Annotated[Path, typer.Option(help="fresh folder for the demo index")] = Path(".casewise-demo")) -> None:
    """Index the bundled sample clinic into a fresh folder and answer a sample question in Spanish and English."""
    from app import clinical
    from synth import SAMPLE_DIR

    started = time.perf_counter()
    empty_but_vector_cache(data_dir)
    rt = runtime(data_dir)
    out.print(f"[bold]Casewise demo[/bold]: indexing the sample clinic in {SAMPLE_DIR} into {data_dir}")
    index_with_progress(rt, [SAMPLE_DIR], actor="demo")
    for lang, question in DEMO_QUESTIONS:
        out.rule(f"{'Pregunta' if lang == 'es' else 'Question'} ({lang})")
        out.print(question)
        answer: Answer = clinical.ask(rt, question, language=lang, actor="demo")  # type: ignore[arg-type]
        print_similar(answer.evidence.cases, rt.settings, answer.language)
        print_answer(answer)
    out.print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")
    # The sample stays in its own folder, never mixed into the clinic's data folder; this is how to ask it more.
    out.print(f"The sample clinic stays indexed in {data_dir}. Ask it more questions with:\n"
              f"  CASEWISE_DATA_DIR={data_dir} .venv/bin/casewise ask \"{DEMO_QUESTIONS[1][1]}\"\n"
              f"  CASEWISE_DATA_DIR={data_dir} .venv/bin/casewise similar --describe \"62-year-old man, knee OA, VAS 7\"",
              markup=False, highlight=False)


def ask(question: str, as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
        k: Annotated[int | None, typer.Option(help="similar cases to use")] = None,
        diagnosis: Annotated[list[str] | None, typer.Option(help="filter: diagnosis id (repeatable)")] = None,
        treatment: Annotated[list[str] | None, typer.Option(help="filter: treatment id (repeatable)")] = None,
        sex: Annotated[str | None, typer.Option(help="filter: F or M")] = None) -> None:
    """Answer a question about similar past cases, citing them."""
    from app import clinical
    from casewise.types import Filters

    filters = Filters(diagnoses=diagnosis or [], treatments=treatment or [], sex=sex)  # type: ignore[arg-type]
    rt = runtime()
    answer = clinical.ask(rt, question, filters=filters, k=k)
    if as_json:
        print(answer.model_dump_json(indent=2))
    else:
        if answer.evidence.cases:
            print_similar(answer.evidence.cases, rt.settings, answer.language)
        print_answer(answer)


def similar(describe: Annotated[str | None, typer.Option(help="free-text patient description")] = None,
            case: Annotated[str | None, typer.Option(help="an existing case id")] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False,
            k: Annotated[int | None, typer.Option()] = None) -> None:
    """List the most similar past cases and what matched."""
    from app import clinical

    if not describe and not case:
        raise CasewiseError("give --describe \"...\" or --case ID")
    rt = runtime()
    results = clinical.similar(rt, describe, case_id=case, k=k)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in results], indent=2, ensure_ascii=False))
    else:
        from casewise.lang import detect_language

        print_similar(results, rt.settings, detect_language(describe) if describe else "en")


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(ask)
    app.command()(similar)


def eval_questions(
    truth: Annotated[Path | None, typer.Option(
        help="the synthetic clinic that is indexed: its folder or ground_truth.json (default: the bundled sample)")] = None,
    report: Annotated[Path | None, typer.Option(help="write summary.json, failures.json and report.txt here")] = None,
    per_template: Annotated[int, typer.Option(min=1, max=10, help="fillings of each template")] = 1,
    limit: Annotated[int | None, typer.Option(min=1, help="first N questions only")] = None,
    oracle: Annotated[bool, typer.Option(
        help="answer from cases built from the ground truth itself (planner and cohort logic alone, no indexing)")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """The question suite (ES/EN, every intent) filled from the clinic's ground truth: plan accuracy per field, exact
    counts and medians, abstention on what the records lack, refusals and clarifications."""
    from eval.question_suite import (
        build_suite,
        failures,
        oracle_asker,
        report_text,
        run_suite,
        runtime_asker,
        summarize,
        truth_cases,
    )
    from synth import SAMPLE_DIR, load_ground_truth

    rt = runtime()
    gt = load_ground_truth(truth or SAMPLE_DIR)
    suite = build_suite(gt, rt.deid.pseudonym, per_template=per_template)[:limit]
    asker = oracle_asker(truth_cases(gt, rt.deid.pseudonym)) if oracle else runtime_asker(rt)
    results = run_suite(asker, suite)
    summary = summarize(results)
    summary["mode"] = "oracle (ground-truth cases)" if oracle else "end to end (indexed store)"
    if not oracle:
        from eval.question_suite import store_fidelity
        from retrieval.cohort import iter_cases

        summary["store_fidelity"] = store_fidelity(gt, iter_cases(rt.store), rt.deid.pseudonym)
    if report:
        report.mkdir(parents=True, exist_ok=True)
        (report / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        (report / "failures.json").write_text(json.dumps(failures(results), indent=2, ensure_ascii=False, default=str),
                                              encoding="utf-8")
        (report / "report.txt").write_text(report_text(summary) + "\n", encoding="utf-8")
    if as_json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        out.print(f"{summary['mode']}", markup=False, highlight=False)
        out.print(report_text(summary), markup=False, highlight=False)
        if "store_fidelity" in summary:
            out.print("indexed cases vs ground truth (share of patients right): " + ", ".join(
                f"{k} {v['rate']:.3f}" for k, v in summary["store_fidelity"].items() if v["rate"] is not None),
                markup=False, highlight=False)
