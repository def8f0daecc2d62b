"""Agent cards: how an A2A client finds a hosted agent, its skills and how to call it.

The card is built per request, because its endpoint URL is absolute and a host may be reached
under several names (or mounted under a path): it is the URL the caller used, plus the channel's
prefix. Cards are served without credentials (a client reads one before it knows how to
authenticate), and a card declares HTTP Bearer when the host authenticates its callers
(`ChannelContext.authenticates`), unless ``A2AChannel(bearer_auth=...)`` states otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol
from hosting.core import Agent

BEARER = "bearer"


def describe(agent: Agent, name: str) -> str:
    """The agent's own description (an attribute, else its docstring's first line), or a plain one."""
    description = getattr(agent, "description", None)
    if isinstance(description, str) and description.strip():
        return description.strip()
    function = getattr(agent, "function", None)  # a FunctionAgent: the function's docstring
    doc = getattr(function, "__doc__", None) or type(agent).__doc__
    if function is not None and doc and doc.strip():
        return doc.strip().splitlines()[0]
    return f"The agent '{name}'."


def build_card(
    name: str,
    *,
    description: str,
    url: str,
    version: str,
    skills: Sequence[AgentSkill],
    input_modes: Sequence[str],
    output_modes: Sequence[str],
    bearer: bool,
) -> AgentCard:
    """The card of one hosted agent, served at `url` over JSON-RPC."""
    card = AgentCard(
        name=name,
        description=description,
        version=version,
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False, extended_agent_card=False),
        default_input_modes=list(input_modes),
        default_output_modes=list(output_modes),
        skills=list(skills) or [AgentSkill(id=name, name=name, description=description, tags=["chat"])],
    )
    if bearer:
        card.security_schemes[BEARER].CopyFrom(
            SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer", description="The host's API key, as 'Authorization: Bearer <key>'."
                )
            )
        )
        card.security_requirements.append(SecurityRequirement(schemes={BEARER: StringList()}))
    return card
