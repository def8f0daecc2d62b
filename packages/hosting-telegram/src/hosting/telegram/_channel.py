"""TelegramChannel: the agent as a Telegram bot.

host = Host(my_agent, channels=[ResponsesChannel(), TelegramChannel(token)])

Updates come by long polling (the default) or by webhook (give a secret); the
routes, start-up and shutdown, push and commands are wired here; each idea has
its own module (`_updates`, `_reply`, `_commands`, `_state`, `_push`, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Literal

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from starlette.requests import Request
from starlette.responses import Response

from hosting.core import ConfigurationError
from hosting.core.channels import ChannelContext, ChannelContribution, Command, Delivery

from ._commands import BUILT_IN, COMMAND_NAME, Commands, published_commands
from ._linking import create_link_code
from ._polling import Poller
from ._problem import post_route, problem
from ._push import push_answer
from ._reply import with_retry_after
from ._state import ChannelState
from ._updates import UpdateHandler
from ._webhook import receive_update

logger = logging.getLogger("hosting.telegram")

Mode = Literal["polling", "webhook"]


class TelegramChannel:
    """A Telegram bot: chats answered by streaming edits, commands, push and identity linking.

    Args:
        token: the bot's token from @BotFather.
        api_base_url: the Bot API's address (a local Bot API server, or a stand-in in tests);
            None is Telegram's.
        webhook_secret: take updates by webhook at ``<prefix>/webhook``, accepting only requests
            that carry this secret (``X-Telegram-Bot-Api-Secret-Token``); None takes them by long
            polling.
        webhook_url: the public URL of the webhook, registered with setWebhook at start-up (None:
            the operator registers it).
        prefix: where the channel's routes live.
        commands: the host's commands, offered in the bot's menu next to the built-in ones.
        greeting: the answer to ``/start``.
        edit_interval: seconds between two edits of an answer being written in a private chat.
        group_edit_interval: the same in a group (Telegram allows a group about 20 messages a
            minute).
        link_code_ttl: seconds a link code stays usable.
        poll_timeout: seconds one getUpdates call waits for an update.
        max_file_bytes: the largest photo or document taken as input (Telegram gives bots at
            most 20 MB).
        shutdown_grace: seconds turns in progress get to finish at shutdown.
        name: the channel's name (deliveries name it: ``deliver_to=["telegram"]``).
    """

    name: str = "telegram"

    def __init__(
        self,
        token: str,
        /,
        *,
        api_base_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_url: str | None = None,
        prefix: str = "/telegram",
        commands: Sequence[Command] = (),
        greeting: str = "Hello! I am an assistant. Ask me anything.",
        edit_interval: float = 1.0,
        group_edit_interval: float = 3.0,
        link_code_ttl: float = 600.0,
        poll_timeout: int = 30,
        max_file_bytes: int = 20_000_000,
        shutdown_grace: float = 10.0,
        name: str = "telegram",
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ConfigurationError("a Telegram bot token looks like '123456:ABC-...' (ask @BotFather)")
        if webhook_secret is not None and not webhook_secret:
            raise ConfigurationError("webhook_secret must not be empty (None means polling)")
        if webhook_url is not None and webhook_secret is None:
            raise ConfigurationError("a webhook_url needs a webhook_secret")
        for command in commands:
            if not COMMAND_NAME.fullmatch(command.name) or command.name in BUILT_IN:
                raise ConfigurationError(
                    f"command {command.name!r}: Telegram takes 1-32 of a-z, 0-9 and _, and the "
                    f"built-in {sorted(BUILT_IN)} are taken"
                )
            if not 1 <= len(command.description) <= 256:
                raise ConfigurationError(
                    f"command {command.name!r}: the description must have 1-256 characters"
                )
        if (
            min(edit_interval, group_edit_interval) < 0
            or link_code_ttl <= 0
            or poll_timeout < 0
            or max_file_bytes < 1
        ):
            raise ConfigurationError(
                "edit intervals, link_code_ttl, poll_timeout and max_file_bytes must be positive"
            )
        self.token = token
        self.bot_id = int(bot_id)
        self.api_base_url = api_base_url
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.prefix = prefix.rstrip("/")
        self.commands = tuple(commands)
        self.greeting = greeting
        self.edit_interval = edit_interval
        self.group_edit_interval = group_edit_interval
        self.link_code_ttl = link_code_ttl
        self.poll_timeout = poll_timeout
        self.max_file_bytes = max_file_bytes
        self.shutdown_grace = shutdown_grace
        self.name = name

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> TelegramChannel | None:
        """The channel configured by environment variables, or None when no token is set.

        ``TELEGRAM_BOT_TOKEN`` (required), ``TELEGRAM_API_BASE_URL`` (the Bot API's address),
        ``TELEGRAM_WEBHOOK_SECRET`` (set: webhook mode; unset: polling) and
        ``TELEGRAM_WEBHOOK_URL`` (the webhook's public URL, registered at start-up).
        """
        environ = os.environ if environ is None else environ
        token = environ.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            return None
        return cls(
            token,
            api_base_url=environ.get("TELEGRAM_API_BASE_URL") or None,
            webhook_secret=environ.get("TELEGRAM_WEBHOOK_SECRET") or None,
            webhook_url=environ.get("TELEGRAM_WEBHOOK_URL") or None,
        )

    @property
    def mode(self) -> Mode:
        """How updates arrive: ``"webhook"`` when a secret is set, else ``"polling"``."""
        return "webhook" if self.webhook_secret is not None else "polling"

    @property
    def webhook_path(self) -> str:
        return f"{self.prefix}/webhook"

    def bot(self) -> Bot:
        """A Bot API client for this bot (at `api_base_url`)."""
        api = TelegramAPIServer.from_base(self.api_base_url) if self.api_base_url else None
        session = AiohttpSession(api=api) if api is not None else AiohttpSession()
        return Bot(self.token, session=session)

    def contribute(self, context: ChannelContext) -> ChannelContribution:
        bot = self.bot()
        state = ChannelState(context, self.bot_id)
        commands = Commands(
            context, state, channel_name=self.name, commands=self.commands, greeting=self.greeting
        )
        handler = UpdateHandler(
            context,
            bot,
            state,
            commands,
            channel_name=self.name,
            edit_interval=self.edit_interval,
            group_edit_interval=self.group_edit_interval,
            max_file_bytes=self.max_file_bytes,
        )
        poller = Poller(bot, handler, timeout=self.poll_timeout) if self.mode == "polling" else None

        async def startup() -> None:
            try:
                await start()
            except BaseException:
                # The host will not run our shutdown after a failed start: close the client here.
                await bot.session.close()
                raise

        async def start() -> None:
            handler.me = await with_retry_after(bot.get_me)
            await with_retry_after(lambda: bot.set_my_commands(published_commands(self.commands)))
            if poller is not None:
                # Telegram refuses getUpdates while a webhook is set; pending updates are kept.
                await with_retry_after(lambda: bot.delete_webhook(drop_pending_updates=False))
                poller.start()
            elif self.webhook_url is not None:
                await with_retry_after(
                    lambda: bot.set_webhook(
                        url=self.webhook_url or "",
                        secret_token=self.webhook_secret,
                        allowed_updates=["message"],
                    )
                )
            logger.info("Telegram bot @%s ready (%s)", handler.me.username, self.mode)

        async def stop_polling() -> None:
            # Before the engine refuses runs: an update taken now would only be refused.
            if poller is not None:
                await poller.stop()

        async def shutdown() -> None:
            await stop_polling()  # when the host stopped without draining first
            await handler.drain(self.shutdown_grace)
            await bot.session.close()

        async def link_codes(request: Request) -> Response:
            return await create_link_code(request, state=state, ttl=self.link_code_ttl)

        async def push(delivery: Delivery) -> None:
            await push_answer(delivery, bot=bot, state=state)

        routes = [post_route(f"{self.prefix}/link-codes", link_codes)]
        if self.webhook_secret is not None:
            secret = self.webhook_secret

            async def webhook(request: Request) -> Response:
                return await receive_update(request, handler=handler, bot=bot, secret=secret)

            routes.append(post_route(self.webhook_path, webhook))
        return ChannelContribution(
            routes=routes,
            on_startup=[startup],
            on_shutdown=[shutdown],
            on_drain=[stop_polling],
            push=push,
            commands=self.commands,
            error_prefix=f"{self.prefix}/",
            render_error=problem,
            # Telegram sends no API key: the webhook's secret token authenticates it (`_webhook`).
            public_paths=[self.webhook_path] if self.webhook_secret is not None else [],
        )
