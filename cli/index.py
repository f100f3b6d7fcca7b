"""`casewise index | reindex | status | deid`: bring the index in step with the records, and look at it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, err, index_with_progress, out, runtime, server_message

CLI_ACTOR = "cli"
LeakScan = Annotated[bool, typer.Option(
    "--leak-scan/--no-leak-scan",
    help="afterwards, re-read what this run wrote with the de-identifier's detectors and, for a synthetic clinic, "
         "look for its ground truth (counts per type, audited); a ground-truth hit exits 1")]


def index(paths: Annotated[list[Path], typer.Argument(help="files or folders with the clinic's records")],
          rebuild: Annotated[bool, typer.Option(help="rebuild everything into a new collection and switch to it "
                                                "atomically (after changing the embedding model or chunking)")] = False,
          leak_scan: LeakScan = True,
          ) -> None:
    """Index (or re-index: only new, changed and deleted files) the given folders, then scan what was written.

    Exits 1 when the scan finds a known identifier of the synthetic clinic in what this run wrote, or cannot run."""
    _index_and_scan(runtime(), paths, rebuild=rebuild, leak_scan=leak_scan)


def _index_and_scan(rt, roots: list[Path], *, rebuild: bool, leak_scan: bool) -> None:  # type: ignore[no-untyped-def]
    """Index, then (as the nightly job inside `casewise serve` does) scan what the run wrote: a command run from
    cron writes as much as the night's job, and must not leave a leak unseen until someone runs `casewise eval run`."""
    from eval.leaks import detector_types_text, scan_written, stored_state, written_leak_message

    # a rebuild writes every point again, with the payloads it had: only a scan of everything reads them
    before = stored_state(rt) if leak_scan and not rebuild else None
    index_with_progress(rt, roots, rebuild=rebuild, actor=CLI_ACTOR)
    if not leak_scan:
        return
    rep = scan_written(rt, before, actor=CLI_ACTOR, what="leak scan")
    if rep is None:
        err.print("[red]error:[/red] the leak scan of what this run wrote failed (see the log); the index was "
                  "written. Scan everything with: casewise eval run", markup=True, highlight=False)
        raise typer.Exit(1)
    types = detector_types_text(rep)
    line = (f"leak scan ({'what this run wrote' if before is not None else 'everything'}): "
            f"{sum(rep.sources.values())} stored texts read; a detector still fires in {rep.prose_flagged} of "
            f"{rep.prose_checked} prose texts (by type: {types})")
    if rep.checked:
        line += f"; {sum(rep.checked.values())} known identifiers of the synthetic clinic looked for, {rep.leaked} found"
    err.print(line, markup=False, highlight=False)
    if rep.leaked:
        err.print(f"[red]error:[/red] {written_leak_message(rep)}. The values are not shown. Fix de-identification, "
                  "then re-index: casewise index FOLDERS --rebuild", markup=True, highlight=False)
        raise typer.Exit(1)


def reindex(paths: Annotated[list[Path] | None, typer.Argument(help="folders (default: the configured sources, "
                                                               "the uploads and every folder already indexed)")] = None,
            rebuild: Annotated[bool, typer.Option(help="rebuild into a new collection and switch atomically")] = False,
            server: Annotated[str, typer.Option(help="the running server to ask when it holds the embedded index")]
            = "http://127.0.0.1:8000",
            key: Annotated[str | None, typer.Option(envvar="CASEWISE_API_KEY", help="admin API key for --server")] = None,
            data_dir: DataDir = None, leak_scan: LeakScan = True) -> None:
    """Re-index now (for cron / systemd timers): directly, or by asking a running `casewise serve`.

    The embedded index can be open in one process only: when `casewise serve` holds it, the job goes to the server
    (POST /v1/index/reindex) and this command waits for it. With a Qdrant server URL both can run at once.
    """
    from casewise.errors import IndexUnavailableError

    rt = runtime(data_dir)
    try:
        rt.index.exists()  # opens the embedded index and takes its lock
    except IndexUnavailableError as exc:
        if "another Casewise process" not in str(exc):
            raise
        _reindex_through_server(server, key, paths, rebuild)
        return
    roots = list(paths or []) or _default_roots(rt)
    if not roots:
        raise typer.BadParameter("nothing to re-index: give a folder, or set api.sources")
    try:
        _index_and_scan(rt, roots, rebuild=rebuild, leak_scan=leak_scan)
    finally:
        rt.close()


def _default_roots(rt) -> list[Path]:  # type: ignore[no-untyped-def]
    """What the server's nightly job scans: configured sources, the uploads and the folders already indexed."""
    from app.admin import minimal_roots

    known = [Path(r.source_path).parent for r in rt.store.documents()]
    uploads = rt.settings.data_dir / "uploads"
    cands = [*rt.settings.api.sources, *([uploads] if uploads.exists() else []), *[p for p in known if p.exists()]]
    return minimal_roots(cands)


def _reindex_through_server(server: str, key: str | None, paths: list[Path] | None, rebuild: bool) -> None:
    import time

    import httpx

    from casewise.errors import CasewiseError

    if not key:
        raise CasewiseError("the embedded index is held by a running `casewise serve`: pass --key or set "
                            "CASEWISE_API_KEY to an admin key (`casewise keys create --role admin`) to ask it")
    headers = {"Authorization": f"Bearer {key}"}
    body = {"paths": [str(p.expanduser().resolve()) for p in paths] if paths else None, "rebuild": rebuild}
    try:
        with httpx.Client(base_url=server.rstrip("/"), headers=headers, timeout=30) as client:
            resp = client.post("/v1/index/reindex", json=body)
            if resp.status_code != 202:
                raise CasewiseError(f"the server refused the re-index ({resp.status_code}): {server_message(resp)}")
            job = resp.json()
            typer.echo(f"asked {server} to {'rebuild' if rebuild else 're-index'} (job {job['job_id']}); waiting",
                       err=True)
            while job["state"] in ("queued", "running"):
                time.sleep(1.0)
                job = client.get(f"/v1/index/jobs/{job['job_id']}").json()
    except httpx.HTTPError as exc:
        raise CasewiseError(f"cannot reach the server at {server} ({type(exc).__name__})") from None
    if job["state"] == "failed":
        raise CasewiseError(f"the re-index failed on the server: {job.get('error')}")
    typer.echo(json.dumps(job.get("report") or {}, indent=1))


def status() -> None:
    """Documents, cases, quarantined files and index size."""
    rt = runtime()
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


def deid(path: Path, out_dir: Annotated[Path, typer.Option("--out")]) -> None:
    """Write de-identified copies of a text file or folder of notes, to inspect what is removed."""
    from indexing.deid_copies import deid_path

    n = deid_path(runtime().deid, path, out_dir)
    out.print(f"wrote {n} de-identified file(s) to {out_dir}")


def register(app: typer.Typer) -> None:
    app.command()(index)
    app.command()(reindex)
    app.command()(status)
    app.command()(deid)
