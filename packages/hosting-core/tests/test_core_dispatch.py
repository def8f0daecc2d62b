"""Exact-path dispatch picks the route the router would pick, and only that."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from hosting.core._dispatch import ExactDispatch, exact_routes


class _App:
    """An ASGI app (not a function), so Starlette routes every method to it."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope.get("path_params", {})
        await PlainTextResponse(f"{self.name} {sorted(params.items())}")(scope, receive, send)


def _app(name: str) -> _App:
    return _App(name)


async def _function(request: Request) -> Response:
    return PlainTextResponse("function")


def test_only_fixed_paths_of_any_method_apps_that_nothing_earlier_takes_are_in_the_table() -> None:
    fixed, shadowing, shadowed, duplicate = _app("fixed"), _app("param"), _app("shadowed"), _app("dup")
    routes: list[BaseRoute] = [
        Route("/fixed", fixed),
        Route("/items/{item_id}", shadowing),
        Route("/items/special", shadowed),  # the router would pick the parameter route first
        Route("/fixed", duplicate),  # the first of two equal paths wins, as in the router
        Route("/function", _function, methods=["GET"]),  # has a method list: the router checks it
    ]
    assert exact_routes(routes) == {"/fixed": fixed}


def test_dispatch_answers_as_the_router_does() -> None:
    routes: list[BaseRoute] = [
        Route("/fixed", _app("fixed")),
        Route("/items/{item_id}", _app("param")),
        Route("/items/special", _app("shadowed")),
        Route("/function", _function, methods=["GET"]),
    ]
    router = Router(routes=routes)
    dispatch = ExactDispatch(router)
    for app in (router, dispatch):
        client = TestClient(app)
        assert client.post("/fixed").text == "fixed []"
        assert client.get("/items/special").text == "param [('item_id', 'special')]"
        assert client.get("/function").text == "function"
        assert client.post("/function").status_code == 405
        assert client.get("/nowhere").status_code == 404


def test_a_mounted_app_goes_through_the_router() -> None:
    calls: list[str] = []

    class Counting(ExactDispatch):
        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            calls.append(scope.get("root_path", ""))
            await super().__call__(scope, receive, send)

    dispatch = Counting(Router(routes=[Route("/fixed", _app("fixed"))]))
    outer = Router(routes=[Mount("/prefix", app=dispatch)])
    client = TestClient(outer)
    assert client.post("/prefix/fixed").text == "fixed []"
    assert calls == ["/prefix"]
