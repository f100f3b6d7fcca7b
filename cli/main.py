"""The `casewise` command: registers every group; each command imports what it needs when it runs, so
`casewise --help` stays fast."""

from __future__ import annotations

import sys

import click
import typer

from casewise.errors import CasewiseError
from cli import clinical, extract, finetune, index, learn, ops, serve, synth
from cli import eval as eval_cmds
from cli.common import VERBOSE, err, quiet_libraries

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Casewise: what worked for patients like this one?")


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", help="show debug logs, third-party warnings and progress "
                                                                  "bars (also: CASEWISE_LOG_LEVEL=debug)")) -> None:
    VERBOSE["on"] = verbose


clinical.register(app)  # demo, ask, similar
index.register(app)  # index, reindex, status, deid
serve.register(app)  # serve
ops.register(app)  # backup, restore, keys, audit, db
synth.register(app)  # synth
finetune.register(app)  # finetune build-data | train | export
learn.register(app)  # learn --codes
extract.register(app, eval_cmds.register(app))  # extract; eval run | deid | retrieval | compare | extract


def main() -> None:
    """Entry point: one clear line for every expected failure, never a traceback."""
    quiet_libraries()
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
