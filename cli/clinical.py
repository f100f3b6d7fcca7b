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
from cli.common import index_with_progress, out, runtime

if TYPE_CHECKING:
    from casewise.settings import Settings
    from casewise.types import Answer, SimilarCase

DEMO_QUESTIONS = [
    ("es", ("Mujer de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 7/10 pese a AINEs. "
            "¿Qué tratamientos funcionaron en pacientes similares?")),
    ("en", ("62-year-old man with knee osteoarthritis, Kellgren-Lawrence grade 2, VAS 7/10 despite NSAIDs. "
            "What worked for patients like this one?")),
]


def _cosine_caption(settings: Settings) -> str:
    """What the cosine column means: each embedding model spreads its cosines differently (the default pair scores
    unrelated text about 0.7, MiniLM about 0.2), so the table says where "unrelated" ends."""
    return (f"cosine: best dense cosine with {settings.embedding.model}; below {settings.retrieval.similarity_floor:.2f} "
            "(this model's similarity floor) a case does not count as evidence; 1.00 = the same text")


def print_similar(cases: list[SimilarCase], settings: Settings) -> None:
    t = Table(title="Similar cases", show_lines=False, caption=_cosine_caption(settings))
    for col in ("case", "score", "cosine", "sex/age", "diagnoses", "treatments", "why"):
        t.add_column(col)
    for c in cases:
        case = c.case
        t.add_row(c.case_id, f"{c.score:.3f}", f"{c.similarity:.2f}",
                  f"{case.sex or '?'}/{case.age_band or '?'}" if case else "",
                  ", ".join(f"{d.name}{' ' + d.severity if d.severity else ''}" for d in case.diagnoses) if case else "",
                  ", ".join(dict.fromkeys(x.name for x in case.treatments)) if case else "", "; ".join(c.why))
    out.print(t)


def print_answer(answer: Answer) -> None:
    from casewise.vocabulary import label

    ev = answer.evidence
    t = Table(title="Evidence: what was done for similar cases and how it turned out")
    for col in ("treatment", "cases", "measure", "median change", "IQR", "improved", "months", "adverse", "case ids"):
        t.add_column(col)
    for row in ev.table:
        o = row.outcomes[0] if row.outcomes else None
        t.add_row(label(row.treatment, answer.language), str(row.n_cases), o.measure if o else "-",
                  f"{o.median_change:+.1f}" if o else "-",
                  f"{o.iqr[0]:+.1f}..{o.iqr[1]:+.1f}" if o and o.iqr else "-",
                  f"{(o.improved_share or 0) * 100:.0f}%" if o else "-", f"{o.months:g}" if o else "-",
                  str(row.adverse_events), ", ".join(row.case_ids[:4]) + ("…" if len(row.case_ids) > 4 else ""))
    out.print(t)
    out.print(f"[bold]Answer[/bold] ({answer.mode}{', ' + answer.model if answer.model else ''}):")
    out.print(answer.text, markup=False, highlight=False)
    if answer.flags:
        out.print(f"[yellow]flags:[/yellow] {', '.join(answer.flags)}")
    out.print(f"[bold]Cited cases:[/bold] {', '.join(c.case_id for c in answer.citations if c.valid)}")
    out.print(f"[dim]{answer.notice}[/dim]")


def demo(data_dir: Annotated[Path, typer.Option(help="fresh folder for the demo index")] = Path(".casewise-demo")) -> None:
    """Index the bundled sample clinic into a fresh folder and answer a sample question in Spanish and English."""
    from app import clinical
    from synth import SAMPLE_DIR

    started = time.perf_counter()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    rt = runtime(data_dir)
    out.print(f"[bold]Casewise demo[/bold]: indexing the sample clinic in {SAMPLE_DIR} into {data_dir}")
    index_with_progress(rt, [SAMPLE_DIR], actor="demo")
    for lang, question in DEMO_QUESTIONS:
        out.rule(f"Question ({lang})")
        out.print(question)
        answer: Answer = clinical.ask(rt, question, language=lang, actor="demo")  # type: ignore[arg-type]
        print_similar(answer.evidence.cases, rt.settings)
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
        print_similar(answer.evidence.cases, rt.settings)
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
        print_similar(results, rt.settings)


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(ask)
    app.command()(similar)
