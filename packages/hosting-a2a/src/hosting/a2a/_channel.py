"""`A2AChannel`: the hosted agents over the A2A protocol (JSON-RPC binding), for the a2a-sdk client.

Routes (with the default prefix):

    GET  /.well-known/agent-card.json               the default agent's card
    POST /a2a                                       the default agent's JSON-RPC endpoint
    GET  /a2a/.well-known/agent-card.json           the default agent's card again
    POST /a2a/{agent}                               each agent's JSON-RPC endpoint, by its name
    GET  /a2a/{agent}/.well-known/agent-card.json   each agent's card

A client given ``<base>/a2a/{agent}`` finds that agent's card where it looks for one
(``<url>/.well-known/agent-card.json``), so every hosted agent is reachable by URL alone. The cards
are public paths of the host: a client reads one without credentials, and learns from it how to
authenticate for the JSON-RPC endpoints, which need the host's credentials.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from a2a.server.request_handlers.response_helpers import agent_card_to_dict, build_error_response
from a2a.server.routes import create_jsonrpc_routes
from a2a.types import AgentSkill, InvalidRequestError
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH
from a2a.utils.errors import A2AError
from hosting.core import NotFoundError, RequestError
from hosting.core.channels import ChannelContext, ChannelContribution

from ._card import build_card, describe
from ._handler import CallContextBuilder, HostedAgentHandler, a2a_error
from ._logs import quiet_client_mistakes
from ._parts import DEFAULT_INPUT_MODES, DEFAULT_OUTPUT_MODES


class A2AChannel:
    """Serves every hosted agent over A2A: its card, messages, streams and tasks.

    Tasks are the host's responses and contexts its conversations, so a context is the same
    conversation on every channel of the host, and a task survives a restart.

    Args:
        prefix: where the JSON-RPC endpoints are.
        card_path: where the default agent's card is (the path A2A clients look at).
        version: the agents' version, as their cards state it.
        description: the cards' description by agent name (default: the agent's own description
            or its function's docstring).
        skills: the skills each card lists, by agent name (default: one skill, the agent itself).
        input_modes: media types a message's parts may have; others are refused with
            ``ContentTypeNotSupportedError``. ``"image/*"`` and ``"*/*"`` match families.
        output_modes: media types the agents answer with.
        bearer_auth: whether the cards declare HTTP Bearer authentication; None: when the host
            authenticates its callers (False suits a gateway that authenticates callers its own
            way and passes the host trusted isolation headers).
        public_url: the host's URL as clients reach it (behind a proxy); None: the URL of each
            card request.
    """

    name = "a2a"

    def __init__(
        self,
        *,
        prefix: str = "/a2a",
        card_path: str = AGENT_CARD_WELL_KNOWN_PATH,
        version: str = "1.0.0",
        description: Mapping[str, str] | None = None,
        skills: Mapping[str, Sequence[AgentSkill]] | None = None,
        input_modes: Sequence[str] = DEFAULT_INPUT_MODES,
        output_modes: Sequence[str] = DEFAULT_OUTPUT_MODES,
        bearer_auth: bool | None = None,
        public_url: str | None = None,
    ) -> None:
        self.prefix = prefix.rstrip("/")
        self.card_path = card_path
        self.version = version
        self.description = dict(description or {})
        self.skills = {name: tuple(agent_skills) for name, agent_skills in (skills or {}).items()}
        self.input_modes = tuple(input_modes)
        self.output_modes = tuple(output_modes)
        self.bearer_auth = bearer_auth
        self.public_url = public_url.rstrip("/") if public_url else None

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        quiet_client_mistakes()
        agents = list(context.agents)
        default = agents[0]
        bearer = context.authenticates if self.bearer_auth is None else self.bearer_auth
        cards: list[tuple[str, str, str]] = [  # (card path, agent, its endpoint)
            (self.card_path, default, self.prefix),
            (f"{self.prefix}{AGENT_CARD_WELL_KNOWN_PATH}", default, self.prefix),
            *(
                (f"{self.prefix}/{agent}{AGENT_CARD_WELL_KNOWN_PATH}", agent, f"{self.prefix}/{agent}")
                for agent in agents
            ),
        ]
        routes: list[BaseRoute] = [
            Route(path, self._card_endpoint(context, agent, endpoint, bearer=bearer), methods=["GET"])
            for path, agent, endpoint in cards
        ]
        routes.extend(self._rpc(context, default, self.prefix))
        for agent in agents:
            routes.extend(self._rpc(context, agent, f"{self.prefix}/{agent}"))
        return ChannelContribution(
            routes=routes,
            error_prefix=self.prefix,
            render_error=render_error,
            public_paths=[path for path, _, _ in cards],
        )

    def _rpc(self, context: ChannelContext, agent: str, path: str) -> list[Route]:
        handler = HostedAgentHandler(context, agent, input_modes=self.input_modes)
        return create_jsonrpc_routes(handler, path, context_builder=CallContextBuilder())

    def _card_endpoint(
        self, context: ChannelContext, agent: str, endpoint: str, *, bearer: bool
    ) -> Callable[[Request], Awaitable[Response]]:
        description = self.description.get(agent) or describe(context.agents[agent], agent)

        async def card(request: Request) -> Response:
            base = self.public_url or str(request.base_url).rstrip("/")
            built = build_card(
                agent,
                description=description,
                url=f"{base}{endpoint}",
                version=self.version,
                skills=self.skills.get(agent, ()),
                input_modes=self.input_modes,
                output_modes=self.output_modes,
                bearer=bearer,
            )
            return JSONResponse(agent_card_to_dict(built))

        return card


def render_error(error: RequestError) -> Response:
    """A refusal of the host on the channel's paths (authentication, a body too large, an unknown
    path), as a JSON-RPC error with the HTTP status the host chose."""
    converted: A2AError = (
        InvalidRequestError(message=error.message)
        if isinstance(error, NotFoundError) and error.code == "unknown_path"
        else a2a_error(error)
    )
    body = build_error_response(None, converted)
    return JSONResponse(body, status_code=error.status_code, headers=error.headers or None)
