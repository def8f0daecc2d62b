"""Dispatch by exact path before Starlette's router: a dictionary lookup for the hot routes.

Starlette's `Router` tries each route's pattern in turn and copies a child scope
for the match. Most protocol traffic goes to a few fixed paths (``POST /v1/responses``),
so a route whose path has no parameters and whose app takes every method is
called straight from a dictionary, as the router would call it. Everything else
(parameters, method lists, mounts, a ``root_path``) goes through the router.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Routes whose match depends on the path and method alone. Any other (a `Host` route, a custom
# one, a subclass) may match on headers too, which a lookup by path cannot follow.
_PATH_ROUTES = (Route, Mount, WebSocketRoute)


def exact_routes(routes: list[BaseRoute]) -> dict[str, ASGIApp]:
    """The routes that can be dispatched by their path alone, each only where the router would pick it."""
    table: dict[str, ASGIApp] = {}
    for index, route in enumerate(routes):
        if type(route) is not Route or route.methods is not None or "{" in route.path:
            continue
        if route.path in table or _shadowed(route.path, routes[:index]):
            continue  # an earlier route takes (some requests to) this path: leave it to the router
        table[route.path] = route.app
    return table


def _shadowed(path: str, earlier: list[BaseRoute]) -> bool:
    for route in earlier:
        if type(route) not in _PATH_ROUTES:
            return True  # it may take requests to this path by more than their path
        for method in _METHODS:
            match, _ = route.matches({"type": "http", "path": path, "root_path": "", "method": method})
            if match is not Match.NONE:
                return True
    return False


class ExactDispatch:
    """Calls the app of an exactly matching route at once; hands anything else to `router`."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.exact = exact_routes(router.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            app = self.exact.get(scope["path"])
            if app is not None:
                # What the router would have put in the scope for this route.
                scope["router"] = self.router
                scope["endpoint"] = app
                scope["path_params"] = {}
                await app(scope, receive, send)
                return
        await self.router(scope, receive, send)
