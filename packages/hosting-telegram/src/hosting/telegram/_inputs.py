"""A Telegram message as the agent's input: text, images and files.

Photos become `ImagePart`s and documents `FilePart`s, their bytes fetched from
Telegram (getFile, then the file URL) and carried inline (a ``data:`` URL for an
image, base64 data for a file): a Telegram file id means nothing to an agent,
and a file URL holds the bot's token. Files over `max_file_bytes` are refused
with a message to the user instead.
"""

from __future__ import annotations

import base64
import io
import mimetypes

from aiogram import Bot
from aiogram.types import Message as TelegramMessage

from hosting.core import FilePart, ImagePart, Message, Part, TextPart


class InputRefused(Exception):
    """The message cannot become input (a file too large); the text says why, for the user."""


async def message_input(
    bot: Bot, message: TelegramMessage, *, text: str, max_file_bytes: int
) -> Message | None:
    """The user message the agent gets for `message` (with `text`, its text or caption cleaned
    of the bot's mention); None when it carries nothing the agent can read."""
    parts: list[Part] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        content = await _download(bot, largest.file_id, largest.file_size, max_file_bytes)
        encoded = base64.b64encode(content).decode()
        parts.append(ImagePart(url=f"data:image/jpeg;base64,{encoded}"))
    if message.document is not None:
        document = message.document
        content = await _download(bot, document.file_id, document.file_size, max_file_bytes)
        mime = document.mime_type or mimetypes.guess_type(document.file_name or "")[0]
        encoded = base64.b64encode(content).decode()
        if mime is not None and mime.startswith("image/"):
            parts.append(ImagePart(url=f"data:{mime};base64,{encoded}"))
        else:
            parts.append(FilePart(data=encoded, filename=document.file_name or "file"))
    if text:
        parts.append(TextPart(text))
    if not parts:
        return None
    return Message(role="user", parts=tuple(parts))


async def _download(bot: Bot, file_id: str, size: int | None, max_file_bytes: int) -> bytes:
    if size is not None and size > max_file_bytes:
        raise InputRefused(f"That file is too large (the limit is {max_file_bytes // 1_000_000} MB).")
    file = await bot.get_file(file_id)
    if file.file_path is None:
        raise InputRefused("Telegram did not give that file out.")
    if file.file_size is not None and file.file_size > max_file_bytes:
        raise InputRefused(f"That file is too large (the limit is {max_file_bytes // 1_000_000} MB).")
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, destination=buffer)
    content = buffer.getvalue()
    if len(content) > max_file_bytes:
        raise InputRefused(f"That file is too large (the limit is {max_file_bytes // 1_000_000} MB).")
    return content
