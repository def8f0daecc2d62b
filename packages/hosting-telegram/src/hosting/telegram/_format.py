"""Agent text as Telegram HTML, in messages that fit Telegram's limit.

Agents write Markdown; Telegram renders a small HTML subset (``parse_mode=HTML``).
A little of Markdown is kept (fenced code blocks, inline code, bold), the rest is
sent as text, every piece escaped. Deliberate choices:

1. HTML rather than MarkdownV2: only ``<``, ``>`` and ``&`` need escaping, so no
   agent text can break the parse; MarkdownV2 reserves eighteen characters.
2. Text is parsed into styled spans before it is split, and each message renders
   its own spans: a bold run or a code block cut by the limit is closed at the
   end of one message and opened again at the start of the next, so no message
   carries an unclosed tag.
3. The limit counts visible text in UTF-16 code units (what Telegram counts after
   parsing entities), never the markup; cuts fall after a newline, else after a
   space, else anywhere (never inside a character).
4. Partial text parses too (while an answer streams): an unclosed fence is code up
   to the end; an unclosed ``**`` or backtick is plain text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

MESSAGE_LIMIT = 4096
"""Telegram's limit on a message's text, after entities are parsed."""

Style: TypeAlias = Literal["plain", "bold", "italic", "code", "pre"]

_FENCE = re.compile(r"```([\w+#.-]*)[^\S\n]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`|\*\*(.+?)\*\*", re.DOTALL)
_TAGS: dict[Style, tuple[str, str]] = {
    "plain": ("", ""),
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
}


@dataclass(frozen=True, slots=True)
class Span:
    """A run of text in one style."""

    style: Style
    text: str


def utf16_length(text: str) -> int:
    """How long Telegram counts `text` (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def markdown_spans(text: str) -> list[Span]:
    """The styled spans of the Markdown subset this channel renders (see the module docstring)."""
    spans: list[Span] = []
    position = 0
    for fence in _FENCE.finditer(text):
        spans += _inline_spans(text[position : fence.start()])
        if fence.group(2):
            spans.append(Span("pre", fence.group(2).rstrip("\n")))
        position = fence.end()
    spans += _inline_spans(text[position:])
    return [span for span in spans if span.text]


def _inline_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    position = 0
    for match in _INLINE.finditer(text):
        spans.append(Span("plain", text[position : match.start()]))
        if match.group(1) is not None:
            spans.append(Span("code", match.group(1)))
        else:
            spans.append(Span("bold", match.group(2)))
        position = match.end()
    spans.append(Span("plain", text[position:]))
    return spans


def render(spans: list[Span]) -> str:
    """Spans as Telegram HTML, every piece of text escaped."""
    out: list[str] = []
    for span in spans:
        opening, closing = _TAGS[span.style]
        out.append(f"{opening}{html.escape(span.text, quote=False)}{closing}")
    return "".join(out)


def split_spans(spans: list[Span], limit: int = MESSAGE_LIMIT) -> list[list[Span]]:
    """Spans cut into messages of at most `limit` visible UTF-16 units each."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    messages: list[list[Span]] = []
    current: list[Span] = []
    room = limit
    for span in spans:
        text = span.text
        while text:
            size = utf16_length(text)
            if size <= room:
                current.append(Span(span.style, text))
                room -= size
                break
            head, text = _cut(text, room, whole_message=not current)
            if head:
                current.append(Span(span.style, head))
            messages.append(current)
            current, room = [], limit
    if current:
        messages.append(current)
    return [_trim(message) for message in messages if any(span.text.strip() for span in message)]


def _cut(text: str, room: int, *, whole_message: bool) -> tuple[str, str]:
    """Split `text` so the head fits in `room` units, at a newline or space when there is one."""
    end = 0
    used = 0
    for index, character in enumerate(text):
        used += 2 if ord(character) > 0xFFFF else 1
        if used > room:
            break
        end = index + 1
    head = text[:end]
    for separator in ("\n", " "):
        cut = head.rfind(separator)
        # A break too early wastes most of a message; cut hard instead when nothing better exists.
        if cut > 0 and (cut >= len(head) // 2 or not whole_message):
            return text[: cut + 1], text[cut + 1 :]
    if not whole_message:
        # The span starts late in a message: move it whole to the next one rather than cut it hard.
        return "", text
    return head, text[end:]


def _trim(message: list[Span]) -> list[Span]:
    """Drop the whitespace a cut leaves at a message's edges (Telegram would strip it anyway)."""
    spans = list(message)
    while spans and not spans[0].text.strip():
        spans.pop(0)
    while spans and not spans[-1].text.strip():
        spans.pop()
    if spans and spans[0].style != "pre":
        spans[0] = Span(spans[0].style, spans[0].text.lstrip())
    if spans and spans[-1].style != "pre":
        spans[-1] = Span(spans[-1].style, spans[-1].text.rstrip())
    return spans


def html_messages(spans: list[Span], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Spans as the HTML of one or more messages, each within `limit`."""
    return [render(message) for message in split_spans(spans, limit)]


def markdown_messages(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Agent text as the HTML of one or more messages, each within `limit`."""
    return html_messages(markdown_spans(text), limit)
