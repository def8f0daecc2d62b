"""Telegram's HTML parse mode as the stand-in checks it: tags, entities, visible text.

The real Bot API refuses a message whose HTML it cannot parse ("can't parse
entities"): a ``<`` or ``&`` that starts no tag or entity, an unknown tag, a tag
closed out of order. The stand-in refuses the same, so a channel that escapes
wrongly fails its tests.
"""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler", "span"}
    | {"blockquote", "tg-emoji"}
)
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z-]*)((?:\s[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[<&]")
_NAMED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})


class HTMLParseError(ValueError):
    """The text is not valid Telegram HTML; the message is the Bot API's description."""


def visible_text(markup: str) -> str:
    """The text Telegram shows for `markup` (HTML parse mode).

    Raises:
        HTMLParseError: the markup is not valid Telegram HTML.
    """
    out: list[str] = []
    open_tags: list[str] = []
    position = 0
    for token in _TOKEN.finditer(markup):
        out.append(markup[position : token.start()])
        position = token.end()
        closing, tag, _attributes, entity = token.group(1), token.group(2), token.group(3), token.group(4)
        if tag is not None:
            tag = tag.lower()
            if tag not in ALLOWED_TAGS:
                raise HTMLParseError(f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"')
            if closing:
                if not open_tags or open_tags[-1] != tag:
                    raise HTMLParseError(f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
                open_tags.pop()
            else:
                open_tags.append(tag)
        elif entity is not None:
            if not entity.startswith("#") and entity not in _NAMED_ENTITIES:
                raise HTMLParseError(f'Bad Request: can\'t parse entities: Unsupported entity "{entity}"')
            out.append(html.unescape(f"&{entity};"))
        else:
            raise HTMLParseError(
                "Bad Request: can't parse entities: Unexpected character "
                f'"{token.group(0)}" at byte offset {token.start()}'
            )
    out.append(markup[position:])
    if open_tags:
        raise HTMLParseError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to \"{open_tags[-1]}\""
        )
    return "".join(out)
