"""The `casewise` command. Stages are imported inside commands, so `casewise --help` stays fast."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from rich.table import Table

from casewise.errors import CasewiseError
from casewise.settings import Settings, load_settings

if TYPE_CHECKING:
    from casewise.runtime import Runtime
    from casewise.types import Answer, SimilarCase

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Casewise: what worked for patients like this one?")
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval, de-identification and answers.")
app.add_typer(eval_app, name="eval")
db_app = typer.Typer(no_args_is_help=True, help="The system of record's schema (Alembic migrations).")
app.add_typer(db_app, name="db")
# Errors are one line, never wrapped; tables get room when output goes to a file or a pipe.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DEMO_QUESTIONS = [
    ("es", ("Mujer de 58 años con gonartrosis grado 2 en rodilla izquierda, EVA 7/10 pese a AINEs. "
            "¿Qué tratamientos funcionaron en pacientes similares?")),
    ("en", ("62-year-old man with knee osteoarthritis, Kellgren-Lawrence grade 2, VAS 7/10 despite NSAIDs. "
            "What worked for patients like this one?")),
]


def _quiet_libraries() -> None:
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in ("transformers", "sentence_transformers", "unstructured", "presidio-analyzer", "presidio_analyzer",
                 "httpx", "pdfminer", "spacy", "qdrant_client", "tldextract", "filelock"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _runtime(data_dir: Path | None = None) -> Runtime:
    from casewise.runtime import Runtime

    overrides = {"data_dir": data_dir} if data_dir else {}
    return Runtime(load_settings(**overrides))


def _index_with_progress(rt: Runtime, paths: list[Path], rebuild: bool = False) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from indexing.pipeline import Indexer

    with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True) as bar:
        task = bar.add_task("index", total=None)
        _ = rt.embedder  # load the model before the bar starts, so the bar measures indexing
        indexer = Indexer(rt.settings, rt.store, rt.index, rt.embedder, rt.deid)
        step = (indexer.rebuild if rebuild else indexer.run)
        report = step(paths, progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"indexed: {report.added} new, {report.changed} changed, {report.unchanged} unchanged, "
              f"{report.deleted} deleted; {report.chunks_written} chunks written; {report.cases} cases "
              f"in {report.seconds:.1f} s")
    for path, reason in report.quarantined:
        err.print(f"[yellow]quarantined[/yellow] {path}: {reason}")


def _cosine_caption(settings: Settings) -> str:
    """What the cosine column means: each embedding model spreads its cosines differently (the default pair scores
    unrelated text about 0.7, MiniLM about 0.2), so the table says where "unrelated" ends."""
    return (f"cosine: best dense cosine with {settings.embedding.model}; below {settings.retrieval.similarity_floor:.2f} "
            "(this model's similarity floor) a case does not count as evidence; 1.00 = the same text")


def _print_similar(cases: list[SimilarCase], settings: Settings) -> None:
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


def _print_answer(answer: Answer) -> None:
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


@app.command()
def demo(data_dir: Annotated[Path, typer.Option(help="fresh folder for the demo index")] = Path(".casewise-demo")) -> None:
    """Index the bundled sample clinic into a fresh folder and answer a sample question in Spanish and English."""
    from eval.synth import SAMPLE_DIR
    from reasoning import service

    started = time.perf_counter()
    if data_dir.exists():
        shutil.rmtree(data_dir)
    rt = _runtime(data_dir)
    out.print(f"[bold]Casewise demo[/bold]: indexing the sample clinic in {SAMPLE_DIR} into {data_dir}")
    _index_with_progress(rt, [SAMPLE_DIR])
    for lang, question in DEMO_QUESTIONS:
        out.rule(f"Question ({lang})")
        out.print(question)
        answer: Answer = service.ask(rt, question, language=lang, actor="demo")  # type: ignore[arg-type]
        _print_similar(answer.evidence.cases, rt.settings)
        _print_answer(answer)
    out.print(f"\ndemo finished in {time.perf_counter() - started:.1f} s")


@app.command()
def index(paths: Annotated[list[Path], typer.Argument(help="files or folders with the clinic's records")],
          rebuild: Annotated[bool, typer.Option(help="rebuild everything into a new collection and switch to it "
                                                "atomically (after changing the embedding model or chunking)")] = False,
          ) -> None:
    """Index (or re-index: only new, changed and deleted files) the given folders."""
    _index_with_progress(_runtime(), paths, rebuild=rebuild)


@app.command()
def ask(question: str, as_json: Annotated[bool, typer.Option("--json", help="print the answer as JSON")] = False,
        k: Annotated[int | None, typer.Option(help="similar cases to use")] = None,
        diagnosis: Annotated[list[str] | None, typer.Option(help="filter: diagnosis id (repeatable)")] = None,
        treatment: Annotated[list[str] | None, typer.Option(help="filter: treatment id (repeatable)")] = None,
        sex: Annotated[str | None, typer.Option(help="filter: F or M")] = None) -> None:
    """Answer a question about similar past cases, citing them."""
    from casewise.types import Filters
    from reasoning import service

    filters = Filters(diagnoses=diagnosis or [], treatments=treatment or [], sex=sex)  # type: ignore[arg-type]
    rt = _runtime()
    answer = service.ask(rt, question, filters=filters, k=k)
    if as_json:
        print(answer.model_dump_json(indent=2))
    else:
        _print_similar(answer.evidence.cases, rt.settings)
        _print_answer(answer)


@app.command()
def similar(describe: Annotated[str | None, typer.Option(help="free-text patient description")] = None,
            case: Annotated[str | None, typer.Option(help="an existing case id")] = None,
            as_json: Annotated[bool, typer.Option("--json")] = False,
            k: Annotated[int | None, typer.Option()] = None) -> None:
    """List the most similar past cases and what matched."""
    from reasoning import service

    if not describe and not case:
        raise CasewiseError("give --describe \"...\" or --case ID")
    rt = _runtime()
    results = service.similar(rt, describe, case_id=case, k=k)
    if as_json:
        print(json.dumps([r.model_dump(mode="json") for r in results], indent=2, ensure_ascii=False))
    else:
        _print_similar(results, rt.settings)


@app.command()
def status() -> None:
    """Documents, cases, quarantined files and index size."""
    rt = _runtime()
    docs = rt.store.documents()
    by: dict[str, int] = {}
    for d in docs:
        by[d.status] = by.get(d.status, 0) + 1
    out.print(f"data dir: {rt.settings.data_dir}  index: {rt.settings.index.backend} "
              f"({rt.settings.index.url or rt.settings.qdrant_path})")
    out.print(f"documents: {len(docs)} ({', '.join(f'{k} {v}' for k, v in sorted(by.items())) or 'none'}); "
              f"cases: {rt.store.count_cases()}; chunks in index: {rt.index.count()}")
    out.print(f"collection: {rt.index.alias} -> {rt.index.target() or '(not built yet)'}; "
              f"embedding: {rt.settings.embedding.model}")
    for d in docs:
        if d.status == "quarantined":
            out.print(f"[yellow]quarantined[/yellow] {d.source_path}: {d.error}")


@app.command()
def synth(patients: Annotated[int, typer.Option(min=1, max=100000)] = 200,
          out_dir: Annotated[Path, typer.Option("--out")] = Path("synthetic-clinic"),
          seed: Annotated[int, typer.Option()] = 7) -> None:
    """Generate a synthetic clinic (notes, PDFs, DOCX, CSV/XLSX, ground truth) for tests and benchmarks."""
    from eval.synth import generate_clinic

    started = time.perf_counter()
    generate_clinic(out_dir, patients=patients, seed=seed)
    out.print(f"wrote a synthetic clinic of {patients} patients to {out_dir} in {time.perf_counter() - started:.1f} s")


@app.command()
def deid(path: Path, out_dir: Annotated[Path, typer.Option("--out")]) -> None:
    """Write de-identified copies of a text file or folder of notes, to inspect what is removed."""
    from indexing.deid.cli import deid_path

    n = deid_path(_runtime().deid, path, out_dir)
    out.print(f"wrote {n} de-identified file(s) to {out_dir}")


@eval_app.command("deid")
def eval_deid(meddocan: Annotated[Path | None, typer.Option(help="MEDDOCAN brat folder")] = None,
              presidio: Annotated[Path | None, typer.Option(help="presidio synth_dataset_v2.json")] = None,
              as_json: Annotated[bool, typer.Option("--json")] = False,
              limit: Annotated[int | None, typer.Option(help="first N documents only")] = None,
              report: Annotated[Path | None, typer.Option(help="write a report run into this folder")] = None) -> None:
    """De-identification recall/precision/F1 per PHI type, and the leak rate."""
    from eval import deid_eval

    argv: list[str] = []
    if meddocan:
        argv += ["--meddocan", str(meddocan)]
    if presidio:
        argv += ["--presidio", str(presidio)]
    if as_json:
        argv.append("--json")
    if limit:
        argv += ["--limit", str(limit)]
    if report:
        argv += ["--report", str(report)]
    raise typer.Exit(deid_eval.main(argv) or 0)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option(help="target revision")] = "head") -> None:
    """Migrate the database to the latest schema (every start does this too; replicas take turns under a lock)."""
    from casewise import migrations
    from casewise.store import Store

    store = Store.from_settings(load_settings(), migrate=False)
    before = migrations.current(store.engine)
    after = migrations.upgrade(store.engine, revision)
    where = store.engine.url.render_as_string(hide_password=True)
    step = "already at" if before == after else f"{before or 'empty'} ->"
    out.print(f"{where}: {step} {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the latest one; exit 1 when the database is behind."""
    from casewise import migrations
    from casewise.store import Store

    store = Store.from_settings(load_settings(), migrate=False)
    found, latest = migrations.current(store.engine), migrations.head()
    where = store.engine.url.render_as_string(hide_password=True)
    state = "up to date" if found == latest else "behind: run `casewise db upgrade`"
    out.print(f"{where}: revision {found or 'none'} (latest {latest}) {state}")
    if found != latest:
        sys.exit(1)  # not typer.Exit: main() runs click with standalone_mode=False, which returns its code


def _register_stage_commands() -> None:
    """`serve`, `keys` and `audit` come from the API package (it imports only typer at module level)."""
    from api.cli import register

    register(app)
    from eval.cli import register as register_eval

    register_eval(eval_app)  # `eval run`
    from reasoning.finetune.cli import register as register_finetune

    register_finetune(app)  # `finetune build-data|train|export`
    from eval.compare import register as register_compare

    register_compare(eval_app)  # `eval compare`
    from indexing.extraction.cli import register as register_extract

    register_extract(app, eval_app)  # `extract`, `eval extract`


@eval_app.command("retrieval")
def eval_retrieval(codiesp: Annotated[Path, typer.Option(help="CodiEsp-format folder")],
                   lang: Annotated[str, typer.Option(help="es, en or en-es")] = "es",
                   as_json: Annotated[bool, typer.Option("--json")] = False,
                   limit: Annotated[int | None, typer.Option(help="first N cases only")] = None,
                   report: Annotated[Path | None, typer.Option(help="write a report run into this folder")] = None
                   ) -> None:
    """Retrieval quality on CodiEsp: BM25, dense, LlamaIndex, RRF, Casewise (nDCG@10, recall@10, MRR with SEs)."""
    from eval import retrieval_eval

    argv = ["--codiesp", str(codiesp), "--lang", lang] + (["--json"] if as_json else []) + (
        ["--limit", str(limit)] if limit else []) + (["--report", str(report)] if report else [])
    raise typer.Exit(retrieval_eval.main(argv) or 0)


def main() -> None:
    """Entry point: one clear line for every expected failure, never a traceback."""
    _quiet_libraries()
    _register_stage_commands()
    try:
        code = app(standalone_mode=False)  # without standalone mode, click returns typer.Exit's code instead
    except CasewiseError as exc:
        err.print(f"[red]error:[/red] {exc}", markup=True, highlight=False)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except click.exceptions.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - typer vendors its own click: its usage errors have a show() and an exit code too
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        err.print(f"[red]internal error:[/red] {type(exc).__name__}; please report it (no patient data is included)")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
