"""CLI commands of the API: `serve`, `keys create|list|revoke`, `audit verify|export`.

Only typer and the standard library are imported here; everything else is imported inside the commands, so
`casewise --help` stays fast. The root CLI calls `register(app)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

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
          workers: Annotated[int, typer.Option(help="must be 1 with the embedded index")] = 1) -> None:
    """Serve the HTTP API, the OpenAI-compatible chat endpoint and the chat page."""
    import uvicorn

    from api.app import create_app
    from casewise.runtime import Runtime
    from casewise.settings import load_settings

    if workers != 1:
        raise typer.BadParameter("the embedded index allows one process; put several hosts behind a proxy instead")
    rt = Runtime(load_settings(**({"data_dir": data_dir} if data_dir else {})))
    app = create_app(rt)
    typer.echo(f"Casewise API on http://{host}:{port}/ (OpenAPI: /openapi.json)", err=True)
    # Access logs carry paths only (case ids are pseudonyms); bodies and keys are never logged.
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False)
    rt.close()


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
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
