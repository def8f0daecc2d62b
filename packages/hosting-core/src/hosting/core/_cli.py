"""``hosting``: the command line. ``hosting serve module:attr`` is uvicorn's own command.

``hosting serve`` takes every option of ``uvicorn`` (the same click options, reused,
not declared again) and its ``UVICORN_*`` environment variables, and differs in four
ways, each because of what a `Host` is:

1. It refuses what the host cannot do: several worker processes on one SQLite file
   (each process would run its own engine on a file made for one writer), and the
   WSGI interface.
2. Unless ``--log-config`` is given, logs go through `logging_config`: every record with
   its time, level and logger, in text or, with ``HOSTING_LOG_FORMAT=json``, JSON.
3. Unless ``--timeout-graceful-shutdown`` is given, uvicorn waits as long as the host
   lets in-flight runs finish (``Host.shutdown_grace``), and a second more: the host ends
   its runs and their streams within the grace period (it learns of the signal when it
   arrives, see `Host.begin_drain`), so the wait is short and nothing is cut.
4. SIGTERM, like Ctrl-C, ends the process with status 0 once the server has shut down.

``hosting --version`` prints the installed hosting packages.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click
import uvicorn
from uvicorn.importer import ImportFromStringError, import_from_string

from ._logs import logging_config


def installed_versions() -> list[tuple[str, str]]:
    """The installed ``hosting-*`` distributions and their versions, sorted by name."""
    found: dict[str, str] = {}
    for distribution in importlib.metadata.distributions():
        name = (distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("hosting-"):
            found[name] = distribution.version
    return sorted(found.items())


def _print_version(context: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or context.resilient_parsing:
        return
    packages = ", ".join(f"{name} {number}" for name, number in installed_versions())
    click.echo(f"hosting: {packages} (uvicorn {uvicorn.__version__}, Python {platform.python_version()})")
    context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    callback=_print_version,
    expose_value=False,
    is_eager=True,
    help="Show the installed hosting packages and exit.",
)
def cli() -> None:
    """Serve agents over many wire protocols."""


def _serve(**options: Any) -> None:
    target: str = options["app"]
    if ":" not in target:
        raise click.BadParameter("the app must look like module:attribute (e.g. app:host)", param_hint="APP")
    if options.get("interface") == "wsgi":
        raise click.UsageError("a Host is an ASGI 3 application: --interface wsgi cannot serve it")
    workers = options.get("workers") or int(os.environ.get("WEB_CONCURRENCY", "1") or 1)
    app_dir = options.get("app_dir") or ""
    sys.path.insert(0, app_dir or ".")
    host = None if options.get("factory") else _load(target)
    if workers > 1 and host is not None and _uses_sqlite(host):
        raise click.UsageError(
            f"{target} keeps its data in SQLite, which serves one process: run one worker "
            "(scale with a networked store such as hosting-postgres, or several hosts behind a proxy)"
        )
    if options.get("log_config") is None:
        options["log_config"] = logging_config()
    if options.get("timeout_graceful_shutdown") is None and host is not None:
        grace = getattr(host, "shutdown_grace", None)
        if isinstance(grace, int | float):
            options["timeout_graceful_shutdown"] = math.ceil(grace) + 1
    # uvicorn stops gracefully on SIGTERM, then raises the signal again with our handler back in
    # place: a stop asked for is a success (exit 0, as after Ctrl-C), not a death by signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    # uvicorn's own command body: the same defaults and the same `uvicorn.run` call.
    run_uvicorn: Any = uvicorn.main.callback
    run_uvicorn(**options)


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _load(target: str) -> object:
    try:
        return import_from_string(target)
    except ImportFromStringError as error:
        raise click.BadParameter(str(error), param_hint="APP") from error


def _uses_sqlite(app: object) -> bool:
    from ._store import SQLiteStore

    store = getattr(app, "store", None)
    return isinstance(store, SQLiteStore)


serve = click.Command(
    "serve",
    callback=_serve,
    params=[param for param in uvicorn.main.params if param.name != "version"],
    help="Serve APP (module:attribute, e.g. app:host) under uvicorn. Every uvicorn option "
    "works, and so do its UVICORN_* environment variables.",
    short_help="serve a Host (module:attribute) under uvicorn",
    # uvicorn's variables (UVICORN_PORT, ...), not HOSTING_SERVE_PORT.
    context_settings={"auto_envvar_prefix": "UVICORN"},
)
cli.add_command(serve)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line with `argv` (default: the process's); exits with its status."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="hosting")


if __name__ == "__main__":  # pragma: no cover
    main()
