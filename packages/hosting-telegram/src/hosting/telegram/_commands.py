"""Chat commands: ``/start``, ``/help``, ``/new``, ``/link CODE``, ``/unlink`` and the host's own.

The host's `Command`s given to the channel run through `ChannelContext.run_command`
with the rest of the line as a user message; their answer, if any, is sent back.
All of them are published to Telegram with setMyCommands at start-up, so clients
offer them as the user types ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aiogram.types import BotCommand

from hosting.core import IsolationKeys, user_message
from hosting.core.channels import ChannelContext, ChannelRequest, Command, isolation_scope

from ._state import ChannelState, LinkRefused

BUILT_IN: dict[str, str] = {
    "start": "Say hello",
    "help": "What this bot can do",
    "new": "Start a new conversation",
    "link": "Link this chat to your account: /link CODE",
    "unlink": "Stop acting as the linked account",
}

COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
"""What Telegram accepts as a command's name."""

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+|$)(.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class CommandCall:
    """A command in a message: its name (lower case), the bot it names (if any) and the rest."""

    name: str
    bot: str | None
    argument: str


def parse_command(text: str) -> CommandCall | None:
    """The command a message starts with, or None."""
    match = _COMMAND.match(text)
    if match is None:
        return None
    return CommandCall(match.group(1).lower(), match.group(2), match.group(3).strip())


def published_commands(commands: Sequence[Command]) -> list[BotCommand]:
    """The menu setMyCommands publishes: the built-in commands, then the host's."""
    menu = [BotCommand(command=name, description=description) for name, description in BUILT_IN.items()]
    menu += [BotCommand(command=command.name, description=command.description[:256]) for command in commands]
    return menu


@dataclass(frozen=True, slots=True)
class Conversation:
    """Who a chat is talking as, and the session key that binds the chat to a conversation."""

    keys: IsolationKeys
    session_key: str
    chat_id: int
    telegram_user: int
    private: bool


class Commands:
    """Runs the commands of one channel.

    Args:
        context: the channel's context.
        state: the channel's records (link codes and links).
        channel_name: the channel's name (the identity links are kept under it).
        commands: the host's commands, by name.
        greeting: the answer to ``/start``.
    """

    def __init__(
        self,
        context: ChannelContext,
        state: ChannelState,
        *,
        channel_name: str,
        commands: Sequence[Command],
        greeting: str,
    ) -> None:
        self.context = context
        self.state = state
        self.channel_name = channel_name
        self.commands = {command.name: command for command in commands}
        self.greeting = greeting

    async def run(self, call: CommandCall, conversation: Conversation) -> str:
        """The answer to a command (plain text), run as the chat's user."""
        with isolation_scope(conversation.keys):
            if call.name == "start":
                return f"{self.greeting}\n\nSend /help to see what I can do."
            if call.name == "help":
                return self.help()
            if call.name == "new":
                await self.context.reset_session(conversation.session_key)
                return "Started a new conversation."
            if call.name == "link":
                return await self.link(call.argument, conversation)
            if call.name == "unlink":
                return await self.unlink(conversation)
            command = self.commands.get(call.name)
            if command is None:
                return f"Unknown command /{call.name}. Send /help for the list."
            request = ChannelRequest(
                channel=self.channel_name,
                input=(user_message(call.argument),) if call.argument else (),
                session_key=conversation.session_key,
            )
            answer = await self.context.run_command(command.name, request)
            return answer or "Done."

    def help(self) -> str:
        lines = [f"/{name} - {description}" for name, description in BUILT_IN.items()]
        lines += [f"/{command.name} - {command.description}" for command in self.commands.values()]
        return "Send me a message, a photo or a file, and I answer.\n\n" + "\n".join(lines)

    async def link(self, code: str, conversation: Conversation) -> str:
        if not conversation.private:
            return "Link your account in a private chat with me, not in a group."
        if not code:
            return "Send /link followed by the code you got from the service."
        try:
            taken = await self.state.take_code(code, conversation.telegram_user)
        except LinkRefused as refused:
            return str(refused)
        await self.state.set_link(conversation.telegram_user, taken.user)
        # The address pushes for that user go to; links of the chat's own Telegram user stay.
        with isolation_scope(IsolationKeys(user=taken.user)):
            await self.context.store.link_identity(self.channel_name, str(conversation.chat_id))
        return "Linked. This chat now talks as your account: your conversations are shared with it."

    async def unlink(self, conversation: Conversation) -> str:
        if not conversation.private or await self.state.linked_user(conversation.telegram_user) is None:
            return "This chat is not linked to an account."
        await self.state.clear_link(conversation.telegram_user)
        return "Unlinked. This chat talks as itself again; nothing is pushed to it for the account."
