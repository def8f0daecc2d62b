"""``hosting serve module:attr``: a thin layer over uvicorn."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hosting", description="Serve agents over many wire protocols.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a Host (module:attribute) under uvicorn")
    serve.add_argument("target", help="the Host to serve, as module:attribute (e.g. app:host)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--reload", action="store_true", help="restart when source files change")
    serve.add_argument("--log-level", default="info", help="uvicorn log level")
    args = parser.parse_args(argv)

    import uvicorn

    if ":" not in args.target:
        parser.error("target must look like module:attribute")
    sys.path.insert(0, ".")
    uvicorn.run(
        args.target,
        host=args.host,
        port=args.port,
        reload=args.reload,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
