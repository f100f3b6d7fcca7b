"""Operations: `backup`, `restore`, `keys create|list|revoke`, `audit verify|export`, `db upgrade|current`.

Admin actions go through app.admin, which audits each one once (as the API does).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import DataDir, runtime, server_message

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (shown once), list, revoke.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit log: verify, export.")


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
    from app import admin
    from casewise.errors import CasewiseError, IndexUnavailableError

    rt = runtime(data_dir)
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
            raise CasewiseError(f"the server refused the backup ({resp.status_code}): {server_message(resp)}") from None
        _print_backup(resp.json())
        return
    try:
        _print_backup(admin.backup(rt, out.expanduser()))
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
    from app import admin

    m = admin.restore(archive.expanduser(), data_dir.expanduser(), force=force)
    typer.echo(f"restored {m['documents']} documents, {m['cases']} cases, {m['chunks']} chunks into {data_dir}; "
               f"audit log intact ({m['audit_entries']} entries)")


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Option(help="who or what uses the key")],
                role: Annotated[str, typer.Option(help="clinician or admin")] = "clinician",
                data_dir: DataDir = None) -> None:
    """Create a key and print it once; only its salted hash is stored."""
    from app import admin

    info, secret = admin.new_key(runtime(data_dir), name, role)
    typer.echo(f"created key {info.key_id} ({info.role}) for {info.name!r}; store it now, it is not shown again:",
               err=True)
    typer.echo(secret)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List keys: id, name, role, created, revoked (never the secrets)."""
    from app import admin

    for k in admin.keys(runtime(data_dir)):
        created = k.created_at.isoformat(timespec="seconds") if k.created_at else "-"
        typer.echo(f"{k.key_id}\t{k.role}\t{created}\t{'revoked' if k.revoked else 'active'}\t{k.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id shown by `keys list`")],
                data_dir: DataDir = None) -> None:
    """Revoke a key at once (it stays listed: the audit log names it)."""
    from app import admin

    if not admin.revoke(runtime(data_dir), key_id):
        typer.echo(f"no key {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@audit_app.command("verify")
def audit_verify(data_dir: DataDir = None) -> None:
    """Recompute the audit hash chain; exit 1 when an entry was altered or removed."""
    ok, n, bad = runtime(data_dir).store.verify_audit()
    if ok:
        typer.echo(f"audit log intact: {n} entries")
        return
    typer.echo(f"audit log BROKEN at entry {bad} (of {n})", err=True)
    raise typer.Exit(1)


@audit_app.command("export")
def audit_export(out: Annotated[Path, typer.Option("--out", help="JSONL file to write")],
                 data_dir: DataDir = None) -> None:
    """Write every audit entry as one JSON line (with its hashes, so the export can be verified elsewhere)."""
    from app import admin

    n = admin.audit_export(runtime(data_dir), out)
    typer.echo(f"wrote {n} entries to {out}")


db_app = typer.Typer(no_args_is_help=True, help="The system of record's schema (Alembic migrations).")


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Option(help="target revision")] = "head") -> None:
    """Migrate the database to the latest schema (every start does this too; replicas take turns under a lock)."""
    from casewise import migrations
    from casewise.settings import load_settings
    from casewise.store import Store

    store = Store.from_settings(load_settings(), migrate=False)
    before = migrations.current(store.engine)
    after = migrations.upgrade(store.engine, revision)
    where = store.engine.url.render_as_string(hide_password=True)
    step = "already at" if before == after else f"{before or 'empty'} ->"
    typer.echo(f"{where}: {step} {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the latest one; exit 1 when the database is behind."""
    from casewise import migrations
    from casewise.settings import load_settings
    from casewise.store import Store

    store = Store.from_settings(load_settings(), migrate=False)
    found, latest = migrations.current(store.engine), migrations.head()
    where = store.engine.url.render_as_string(hide_password=True)
    state = "up to date" if found == latest else "behind: run `casewise db upgrade`"
    typer.echo(f"{where}: revision {found or 'none'} (latest {latest}) {state}")
    if found != latest:
        sys.exit(1)  # not typer.Exit: main() runs click with standalone_mode=False, which returns its code


def register(app: typer.Typer) -> None:
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
