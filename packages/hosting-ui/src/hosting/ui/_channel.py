"""`ChatUI`: a web chat and run inspector, served by the host as a channel.

Routes, under the channel's prefix (the root by default):

    GET  /                                               the page
    GET  /ui-assets/{name}                               its scripts and styles
    GET  /ui-api/conversations/{id}/responses            the responses of a conversation (see `_runs.py`)

The page itself talks to the host's public HTTP API (the Responses channel, at
``/v1`` by default): models, responses with streaming, resume, cancel, input items
and conversations. So what it shows is what any client of that API gets, and it
needs the same API key as any client. Only the page and its own files are served
without a key: they are public paths of the host, listed exactly (the page's path and
each file that exists), and hold no data.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from hosting.core import NotFoundError, RequestError
from hosting.core.channels import ChannelContext, ChannelContribution, error_response

from ._assets import Asset, load_assets, render_page
from ._runs import conversation_responses

logger = logging.getLogger("hosting.ui")

Handler = Callable[[Request], Awaitable[Response]]

ASSETS_PATH = "/ui-assets"
DATA_PATH = "/ui-api"


def _check_prefix(name: str, value: str) -> None:
    if value and (not value.startswith("/") or value.endswith("/")):
        raise ValueError(f"{name} must start with '/' and not end with one, got {value!r}")


class ChatUI:
    """The web chat and run inspector.

    Args:
        prefix: where the page lives: ``""`` (the default) serves it at ``/``; ``"/chat"`` at ``/chat/``.
        api_prefix: where the host's Responses channel lives (its ``prefix``); the page calls it.
        title: the page's title.

    Add it beside a `ResponsesChannel`: ``Host(agent, channels=[ResponsesChannel(), ChatUI()])``.
    """

    name = "ui"

    def __init__(self, prefix: str = "", *, api_prefix: str = "/v1", title: str = "hosting") -> None:
        _check_prefix("prefix", prefix)
        _check_prefix("api_prefix", api_prefix)
        self.prefix = prefix
        self.api_prefix = api_prefix
        self.title = title
        self._assets = load_assets()
        self._pages: dict[str, Asset] = {}

    # -- the channel contract ----------------------------------------------------------------------

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        prefix = self.prefix

        async def responses(request: Request) -> Response:
            return await conversation_responses(context, request)

        routes: list[BaseRoute] = [
            _route(f"{prefix}/", {"GET": self._page}),
            _route(f"{prefix}{ASSETS_PATH}/{{name}}", {"GET": self._asset}),
            _route(f"{prefix}{DATA_PATH}/conversations/{{conversation_id}}/responses", {"GET": responses}),
        ]
        pages = [f"{prefix}/"]
        if prefix:
            pages.append(prefix)
            routes.append(_route(prefix, {"GET": self._page}))
        return ChannelContribution(
            routes=routes,
            public_paths=[*pages, *(f"{prefix}{ASSETS_PATH}/{name}" for name in sorted(self._assets))],
        )

    # -- the page and its files --------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        # The host may be mounted inside another app: every URL the page uses starts at its root.
        root: str = request.scope.get("root_path", "")
        page = self._pages.get(root)
        if page is None:
            page = render_page(
                title=self.title,
                base=f"{root}{self.prefix}/",
                api=f"{root}{self.api_prefix}",
                assets=f"{root}{self.prefix}{ASSETS_PATH}/",
            )
            if len(self._pages) < 16:  # a host is mounted at one or two roots, not at many
                self._pages[root] = page
        return page.response(if_none_match=request.headers.get("if-none-match"))

    async def _asset(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["name"])
        if asset is None:
            raise NotFoundError(f"Unknown file '{request.path_params['name'][:128]}'.", code="unknown_path")
        return asset.response(if_none_match=request.headers.get("if-none-match"))


def _route(path: str, handlers: dict[str, Handler]) -> Route:
    return Route(path, _Endpoint(path, handlers))


class _Endpoint:
    """One path's handlers by method; every error, a wrong method too, in the host's neutral shape."""

    def __init__(self, path: str, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.handlers = {**handlers, **({"HEAD": handlers["GET"]} if "GET" in handlers else {})}
        self.allow = ", ".join(self.handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        handler = self.handlers.get(request.method)
        try:
            if handler is None:
                raise RequestError(
                    f"Method {request.method} is not allowed here; use {self.allow}.",
                    status_code=405,
                    code="method_not_allowed",
                    headers={"allow": self.allow},
                )
            response = await handler(request)
        except RequestError as error:
            response = error_response(error)
        except Exception:
            logger.exception("%s %s failed", request.method, self.path)
            response = error_response(
                RequestError(
                    "The server had an error while processing your request.",
                    status_code=500,
                    code="server_error",
                )
            )
        await response(scope, receive, send)
