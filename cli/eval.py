"""`casewise eval run | deid | retrieval | compare`: the evaluation commands (`eval extract` is in cli/extract.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval, de-identification and answers.")


def eval_deid(meddocan: Annotated[Path | None, typer.Option(help="MEDDOCAN brat folder")] = None,
              presidio: Annotated[Path | None, typer.Option(help="presidio synth_dataset_v2.json")] = None,
              presidio_part: Annotated[str, typer.Option(
                  help="tune (first half, where rules are fitted), report (second half, held out) or all")] = "all",
              as_json: Annotated[bool, typer.Option("--json")] = False,
              limit: Annotated[int | None, typer.Option(help="first N documents only")] = None,
              report: Annotated[Path | None, typer.Option(help="write a report run into this folder")] = None) -> None:
    """De-identification recall/precision/F1 per PHI type, and the leak rate."""
    from eval import deid_eval

    argv: list[str] = []
    if meddocan:
        argv += ["--meddocan", str(meddocan)]
    if presidio:
        argv += ["--presidio", str(presidio), "--presidio-part", presidio_part]
    if as_json:
        argv.append("--json")
    if limit:
        argv += ["--limit", str(limit)]
    if report:
        argv += ["--report", str(report)]
    raise typer.Exit(deid_eval.main(argv) or 0)


def eval_retrieval(codiesp: Annotated[Path, typer.Option(help="CodiEsp-format folder")],
                   lang: Annotated[str, typer.Option(help="es, en or en-es")] = "es",
                   model: Annotated[str | None, typer.Option(help="embedding.model (default: settings)")] = None,
                   methods: Annotated[str | None, typer.Option(
                       help="comma-separated subset of the methods (default: all)")] = None,
                   as_json: Annotated[bool, typer.Option("--json")] = False,
                   limit: Annotated[int | None, typer.Option(help="first N cases only")] = None,
                   report: Annotated[Path | None, typer.Option(help="write a report run into this folder")] = None,
                   train: Annotated[Path | None, typer.Option(
                       help="CodiEsp-format folder to learn the ICD-10 coder on (queries and cases get predicted codes)")]
                   = None,
                   folds: Annotated[int | None, typer.Option(
                       min=2, help="cross-validate within --codiesp (K folds by sha1 of the doc id)")] = None,
                   adapt_embedder: Annotated[bool, typer.Option(
                       "--adapt-embedder", help="with --folds: adapt the embedder per fold on the other folds and "
                       "report before (--model) and after")] = False,
                   adapt_pairs: Annotated[int | None, typer.Option(help="training pairs per fold")] = None,
                   adapt_dir: Annotated[Path | None, typer.Option(help="keep each fold's adapted model here")] = None,
                   ) -> None:
    """Retrieval quality on CodiEsp: BM25, dense, LlamaIndex, RRF, Casewise (nDCG@10, recall@10, MRR with SEs); with
    --train or --folds also Casewise's channels alone and its concept channel on predicted codes."""
    from eval import retrieval_eval

    argv = ["--codiesp", str(codiesp), "--lang", lang] + (["--json"] if as_json else []) + (
        ["--limit", str(limit)] if limit else []) + (["--report", str(report)] if report else []) + (
        ["--model", model] if model else []) + (["--methods", methods] if methods else []) + (
        ["--train", str(train)] if train else []) + (["--folds", str(folds)] if folds else []) + (
        ["--adapt-embedder"] if adapt_embedder else []) + (["--adapt-pairs", str(adapt_pairs)] if adapt_pairs else []) + (
        ["--adapt-dir", str(adapt_dir)] if adapt_dir else [])
    raise typer.Exit(retrieval_eval.main(argv) or 0)


def compare_cmd(
    data: Annotated[Path, typer.Option("--data", help="test.json written by `casewise finetune build-data`")],
    base: Annotated[str, typer.Option(help="base model: MODEL@URL or local:BASE")],
    sft: Annotated[str | None, typer.Option(help="fine-tuned: MODEL@URL (vLLM LoRA name) or local:BASE+ADAPTER")] = None,
    out: Annotated[Path, typer.Option("--out", help="folder for comparison.json and the report")] = Path("compare-report"),
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="indexed Casewise data folder")] = None,
    questions: Annotated[int | None, typer.Option(min=1, help="first N held-out questions")] = None,
    medqa: Annotated[Path | None, typer.Option(help="MedQA test.jsonl (or folder)")] = None,
    medmcqa: Annotated[Path | None, typer.Option(help="MedMCQA dev.json (or folder)")] = None,
    mcq_n: Annotated[int, typer.Option(min=1, help="MCQ items sampled per set (same for every system)")] = 100,
    max_tokens: Annotated[int, typer.Option(min=16, help="per held-out answer")] = 256,
    mcq_max_tokens: Annotated[int, typer.Option(min=1, help="per MCQ answer (HuatuoGPT-o1 thinks first: >= 1024)")]
    = 1024,
    timeout_s: Annotated[float, typer.Option(help="per request")] = 300.0,
) -> None:
    """Base, base+RAG, SFT and SFT+RAG on held-out questions (+ MedQA/MedMCQA accuracy): table, JSON, HTML report."""
    from cli.common import runtime
    from eval.compare import System, compare, held_out_questions, system_llm, table_text, write_outputs
    from eval.mcq import load_medmcqa, load_medqa, sample
    from reasoning.finetune.data import read_rows

    rt = runtime(data_dir)
    qs = held_out_questions(read_rows(data), questions)
    systems = []
    for name, spec in (("base", base), ("SFT", sft)):
        if spec:
            llm = system_llm(spec, max_tokens=max_tokens, timeout_s=timeout_s)
            systems += [System(name, llm, rag=False), System(f"{name}+RAG", llm, rag=True)]
    mcq_sets = []
    if medqa:
        mcq_sets.append(("medqa", sample(load_medqa(medqa), mcq_n)))
    if medmcqa:
        mcq_sets.append(("medmcqa", sample(load_medmcqa(medmcqa), mcq_n)))
    result = compare(systems, qs, rt=rt, embedder=rt.embedder, max_tokens=max_tokens, mcq_sets=mcq_sets,
                     mcq_max_tokens=mcq_max_tokens)
    folder = write_outputs(result, out)
    typer.echo(table_text(result))
    typer.echo(f"report: {folder / 'report.html'}; every answer: {out / 'comparison.json'}")


def register_run(eval_app: typer.Typer) -> None:

    @eval_app.command("run")
    def eval_run(
        questions: Annotated[Path | None, typer.Option(
            help="question set: a synthetic clinic's ground_truth.json, or the clinic's own .csv / .jsonl "
                 "(default: eval.questions, else the bundled sample clinic's questions)")] = None,
        report: Annotated[Path | None, typer.Option(
            help="folder that holds the report runs (default: <data_dir>/reports)")] = None,
        k: Annotated[int | None, typer.Option(min=1, max=100, help="cut-off of recall@k and nDCG@k")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="first N questions only")] = None,
        metrics: Annotated[str | None, typer.Option(
            help="comma-separated Ragas metrics (default: all that the judge setting allows)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the report JSON")] = False,
    ) -> None:
        """Retrieval (recall@k, nDCG@k, MRR), Ragas, citations, abstention, latency and a leak check, as a report.

        Exits 1 when the leak check finds a known identifier of the synthetic clinic in anything stored."""
        import json

        from cli.common import err, out, runtime
        from eval.leaks import leak_failed, leak_failure_message
        from eval.questions import load_questions
        from eval.report import reports_root, write_report
        from eval.run import run_eval

        rt = runtime()
        qset = load_questions(questions or rt.settings.eval.questions, rt.deid.pseudonym)
        if limit:
            qset.questions = qset.questions[:limit]
        chosen = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
        def progress(done: int, total: int) -> None:
            err.print(f"question {done}/{total}", end="\r" if done < total else "\n")

        result = run_eval(rt, qset, k=k, ragas_metrics=chosen, progress=progress if err.is_terminal else None)
        folder = write_report(result, report or reports_root(rt.settings))
        if as_json:
            print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        else:
            for h in result.highlights:
                out.print(f"{h.label:<22} {h.value:>14}  [dim]{h.hint}[/dim]")
            for note in result.notes:
                err.print(f"[yellow]note:[/yellow] {note}")
            out.print(f"report: {folder / 'report.html'}")
        if leak_failed(result):  # a known identifier in stored bytes fails the command, for CI and the nightly job
            err.print(f"[red]error:[/red] {leak_failure_message(result)}", markup=True, highlight=False)
            raise typer.Exit(1)


def register(app: typer.Typer) -> typer.Typer:
    """Add the `eval` group to the root CLI and return it (extraction adds `eval extract`)."""
    eval_app.command("deid")(eval_deid)
    eval_app.command("retrieval")(eval_retrieval)
    eval_app.command("compare")(compare_cmd)
    from cli.clinical import eval_questions

    eval_app.command("questions")(eval_questions)
    register_run(eval_app)
    app.add_typer(eval_app, name="eval")
    return eval_app
