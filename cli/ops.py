"""CLI commands of the API: `serve`, `reindex`, `backup`, `restore`, `keys create|list|revoke`, `audit verify|export`.

Only typer and the standard library are imported here; everything else is imported inside the commands, so
`casewise --help` stays fast. The root CLI calls `register(app)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log: verify, export.")


def _store(data_dir: Path | None):  # type: ignore[no-untyped-def]
    from casewise.settings import load_settings
    from casewise.store import Store

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    return Store.from_settings(settings)


DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data folder (default: settings)")]


def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
          data_dir: DataDir = None,
          workers: Annotated[int, typer.Option(help="must be 1 with the embedded index")] = 1,
          ssl_certfile: Annotated[Path | None, typer.Option("--ssl-certfile", help="TLS certificate (PEM, with its "
                                                            "chain); serves HTTPS")] = None,
          ssl_keyfile: Annotated[Path | None, typer.Option("--ssl-keyfile", help="TLS private key (PEM)")] = None
          ) -> None:
    """Serve the HTTP API, the OpenAI-compatible chat endpoint and the chat page (HTTPS with --ssl-certfile/--ssl-keyfile)."""
    import uvicorn

    from api.app import create_app
    from casewise.errors import ConfigError
    from casewise.runtime import Runtime
    from casewise.settings import load_settings

    if workers != 1:
        raise typer.BadParameter("the embedded index allows one process; put several hosts behind a proxy instead")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise ConfigError("--ssl-certfile and --ssl-keyfile go together: give both for HTTPS, or neither")
    for option, path in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option}: {path} is not a readable file")
    tls: dict[str, Any] = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if ssl_certfile else {}
    rt = Runtime(load_settings(**({"data_dir": data_dir} if data_dir else {})))
    app = create_app(rt)
    api = rt.settings.api
    # Off: X-Forwarded-* are ignored and the client address is the TCP peer. On: uvicorn takes it from
    # X-Forwarded-For, but only on connections from the listed proxies.
    proxy: dict[str, Any] = {"proxy_headers": api.trust_proxy_headers,
             "forwarded_allow_ips": ",".join(api.forwarded_allow_ips) if api.trust_proxy_headers else None}
    scheme = "https" if tls else "http"
    typer.echo(f"Casewise API on {scheme}://{host}:{port}/ (OpenAPI: /openapi.json)", err=True)
    # Access logs carry paths only (case ids are pseudonyms); bodies and keys are never logged.
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, **proxy, **tls)
    finally:
        rt.close()


def reindex(paths: Annotated[list[Path] | None, typer.Argument(help="folders (default: the configured sources, "
                                                               "the uploads and every folder already indexed)")] = None,
            rebuild: Annotated[bool, typer.Option(help="rebuild into a new collection and switch atomically")] = False,
            server: Annotated[str, typer.Option(help="the running server to ask when it holds the embedded index")]
            = "http://127.0.0.1:8000",
            key: Annotated[str | None, typer.Option(envvar="CASEWISE_API_KEY", help="admin API key for --server")] = None,
            data_dir: DataDir = None) -> None:
    """Re-index now (for cron / systemd timers): directly, or by asking a running `casewise serve`.

    The embedded index can be open in one process only: when `casewise serve` holds it, the job goes to the server
    (POST /v1/index/reindex) and this command waits for it. With a Qdrant server URL both can run at once.
    """
    from casewise.cli import _index_with_progress
    from casewise.errors import IndexUnavailableError
    from casewise.runtime import Runtime
    from casewise.settings import load_settings

    rt = Runtime(load_settings(**({"data_dir": data_dir} if data_dir else {})))
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
        _index_with_progress(rt, roots, rebuild=rebuild)
    finally:
        rt.close()


def _default_roots(rt) -> list[Path]:  # type: ignore[no-untyped-def]
    """What the server's nightly job scans: configured sources, the uploads and the folders already indexed."""
    from api.services.indexing import _minimal_roots

    known = [Path(r.source_path).parent for r in rt.store.documents()]
    uploads = rt.settings.data_dir / "uploads"
    cands = [*rt.settings.api.sources, *([uploads] if uploads.exists() else []), *[p for p in known if p.exists()]]
    return _minimal_roots(cands)


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
                raise CasewiseError(f"the server refused the re-index ({resp.status_code}): {_message(resp)}")
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


def backup(out: Annotated[Path, typer.Option("--out", help="a .tar.gz file, or a folder for a dated one")]
           = Path("backups"),
           server: Annotated[str, typer.Option(help="the running server to ask when it holds the embedded index")]
           = "http://127.0.0.1:8000",
           key: Annotated[str | None, typer.Option(envvar="CASEWISE_API_KEY", help="admin API key for --server")] = None,
           data_dir: DataDir = None) -> None:
    """Back up the data dir (SQLite online backup + the vector index + casewise.toml) into one archive.

    When `casewise serve` holds the embedded index, the server writes the backup (POST /v1/index/backup) to `--out`
    on its own machine.
    """
    from casewise.backup import create_backup
    from casewise.errors import CasewiseError, IndexUnavailableError
    from casewise.runtime import Runtime
    from casewise.settings import load_settings

    rt = Runtime(load_settings(**({"data_dir": data_dir} if data_dir else {})))
    try:
        rt.index.exists()
    except IndexUnavailableError as exc:
        if "another Casewise process" not in str(exc):
            raise
        if not key:
            raise CasewiseError("the embedded index is held by a running `casewise serve`: pass --key or set "
                                "CASEWISE_API_KEY to an admin key to ask it for the backup") from None
        import httpx

        try:
            resp = httpx.post(f"{server.rstrip('/')}/v1/index/backup", json={"path": str(out.expanduser().resolve())},
                              headers={"Authorization": f"Bearer {key}"}, timeout=3600)
        except httpx.HTTPError as http_exc:
            raise CasewiseError(f"cannot reach the server at {server} ({type(http_exc).__name__})") from None
        if resp.status_code != 200:
            raise CasewiseError(f"the server refused the backup ({resp.status_code}): {_message(resp)}") from None
        _print_backup(resp.json())
        return
    try:
        _print_backup(create_backup(rt, out.expanduser()))
    finally:
        rt.close()


def _print_backup(m: dict) -> None:  # type: ignore[type-arg]
    typer.echo(f"backup written: {m['path']} ({m['documents']} documents, {m['cases']} cases, {m['chunks']} chunks, "
               f"{m['audit_entries']} audit entries)")
    for what in m.get("left_out", []):
        typer.echo(f"not in this backup: {what}", err=True)
    typer.echo("keep CASEWISE_DEID__SECRET apart from the backup: a restore needs the same secret", err=True)


def restore(archive: Annotated[Path, typer.Argument(help="a backup .tar.gz")],
            data_dir: Annotated[Path, typer.Option("--data-dir", help="folder to restore into (empty)")],
            force: Annotated[bool, typer.Option(help="replace a non-empty data dir")] = False) -> None:
    """Restore a backup into a data dir, verifying checksums, counts and the audit chain."""
    from casewise.backup import restore_backup

    m = restore_backup(archive.expanduser(), data_dir.expanduser(), force=force)
    typer.echo(f"restored {m['documents']} documents, {m['cases']} cases, {m['chunks']} chunks into {data_dir}; "
               f"audit log intact ({m['audit_entries']} entries)")


def _message(resp) -> str:  # type: ignore[no-untyped-def]
    try:
        return str(resp.json()["error"]["message"])
    except Exception:  # noqa: BLE001 - any unreadable error body: show the raw text
        return resp.text[:200]


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="who or what uses the key")],
                role: Annotated[str, typer.Option(help="clinician or admin")] = "clinician",
                data_dir: DataDir = None) -> None:
    """Create a key and print it once; only its salted hash is stored."""
    from api.keys import create_key

    info, secret = create_key(_store(data_dir), name, role)
    typer.echo(f"created key {info.key_id} ({info.role}) for {info.name!r}; store it now, it is not shown again:",
               err=True)
    typer.echo(secret)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys: id, name, role, created, revoked (never the secrets)."""
    from api.keys import list_keys

    for k in list_keys(_store(data_dir)):
        created = k.created_at.isoformat(timespec="seconds") if k.created_at else "-"
        typer.echo(f"{k.key_id}\t{k.role}\t{created}\t{'revoked' if k.revoked else 'active'}\t{k.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id shown by `keys list`")],
                data_dir: DataDir = None) -> None:
    """Revoke a key at once (it stays listed: the audit log names it)."""
    from api.keys import revoke_key

    if not revoke_key(_store(data_dir), key_id):
        typer.echo(f"no key {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Recompute the audit hash chain; exit 1 when an entry was altered or removed."""
    ok, n, bad = _store(data_dir).verify_audit()
    if ok:
        typer.echo(f"audit log intact: {n} entries")
        return
    typer.echo(f"audit log BROKEN at entry {bad} (of {n})", err=True)
    raise typer.Exit(1)


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option("--out", help="JSONL file to write")],
                 data_dir: DataDir = None) -> None:
    """Write every audit entry as one JSON line (with its hashes, so the export can be verified elsewhere)."""
    entries = _store(data_dir).audit_entries()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for r in entries:
            fh.write(json.dumps({"seq": r.seq, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
                                 "query": r.query, "case_ids": r.case_ids, "detail": r.detail,
                                 "prev_hash": r.prev_hash, "hash": r.hash}, ensure_ascii=False, default=str) + "\n")
    typer.echo(f"wrote {len(entries)} entries to {out}")


def register(app: typer.Typer) -> None:
    """Add `serve`, `keys` and `audit` to the root CLI."""
    app.command("serve")(serve)
    app.command("reindex")(reindex)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
