"""`casewise serve`: the HTTP API, the OpenAI-compatible chat endpoint and the chat page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import DataDir, runtime


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

    if workers != 1:
        raise typer.BadParameter("the embedded index allows one process; put several hosts behind a proxy instead")
    if (ssl_certfile is None) != (ssl_keyfile is None):
        raise ConfigError("--ssl-certfile and --ssl-keyfile go together: give both for HTTPS, or neither")
    for option, path in (("--ssl-certfile", ssl_certfile), ("--ssl-keyfile", ssl_keyfile)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{option}: {path} is not a readable file")
    tls: dict[str, Any] = {"ssl_certfile": str(ssl_certfile), "ssl_keyfile": str(ssl_keyfile)} if ssl_certfile else {}
    rt = runtime(data_dir)
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
