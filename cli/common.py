"""What every command shares: the consoles, quiet third-party logging, the one Runtime, index progress."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from app.runtime import Runtime

# Errors are one line, never wrapped; tables get room when output goes to a file or a pipe.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data folder (default: settings)")]

_QUIET = ("transformers", "sentence_transformers", "unstructured", "presidio-analyzer", "presidio_analyzer",
          "httpx", "pdfminer", "spacy", "qdrant_client", "tldextract", "filelock")


VERBOSE = {"on": False}  # `casewise --verbose ...`


def quiet_libraries() -> None:
    """Third-party warnings and chatter stay out of a clinician's terminal (until `--verbose` or log_level=debug)."""
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.ERROR)


def apply_log_level(level: str) -> None:
    """`log_level` (CASEWISE_LOG_LEVEL) or --verbose: debug shows everything, third-party libraries included."""
    if VERBOSE["on"]:
        level = "debug"
    logging.getLogger().setLevel(level.upper())
    if level == "debug":
        warnings.resetwarnings()
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.NOTSET)


def runtime(data_dir: Path | None = None, **overrides: object) -> Runtime:
    """The process's one Runtime (settings from casewise.toml / CASEWISE_*, with the command's overrides)."""
    from app.runtime import Runtime
    from casewise.settings import load_settings

    if data_dir:
        overrides["data_dir"] = data_dir
    settings = load_settings(**overrides)
    apply_log_level(settings.log_level)
    return Runtime(settings)


def index_with_progress(rt: Runtime, paths: list[Path], rebuild: bool = False, actor: str = "cli") -> None:
    """Index (or rebuild) with a progress bar on stderr, then print the report; audited as an admin action."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from app import admin

    with Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                  transient=True) as bar:
        task = bar.add_task("index", total=None)
        _ = rt.embedder  # load the model before the bar starts, so the bar measures indexing
        report = admin.index(rt, paths, rebuild=rebuild, actor=actor,
                             progress=lambda done, total: bar.update(task, completed=done, total=total))
    out.print(f"indexed: {report.added} new, {report.changed} changed, {report.unchanged} unchanged, "
              f"{report.deleted} deleted; {report.chunks_written} chunks written; {report.cases} cases "
              f"in {report.seconds:.1f} s")
    for path, reason in report.quarantined:
        err.print(f"[yellow]quarantined[/yellow] {path}: {reason}")


def server_message(resp) -> str:  # type: ignore[no-untyped-def]
    """The message of a Casewise API error response, or the start of the raw body."""
    try:
        return str(resp.json()["error"]["message"])
    except Exception:  # noqa: BLE001 - any unreadable error body: show the raw text
        return resp.text[:200]
