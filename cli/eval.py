"""`casewise eval run`: registered on the `eval` command group by `casewise.cli._register_stage_commands`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(eval_app: typer.Typer) -> None:
    """Add `eval run` to the `casewise eval` group."""

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
        """Retrieval (recall@k, nDCG@k, MRR), Ragas, citations, abstention, latency and a leak check, as a report."""
        import json

        from casewise.cli import _runtime, err, out
        from eval.questions import load_questions
        from eval.report import reports_root, write_report
        from eval.run import run_eval

        rt = _runtime()
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
            return
        for h in result.highlights:
            out.print(f"{h.label:<22} {h.value:>14}  [dim]{h.hint}[/dim]")
        for note in result.notes:
            err.print(f"[yellow]note:[/yellow] {note}")
        out.print(f"report: {folder / 'report.html'}")
