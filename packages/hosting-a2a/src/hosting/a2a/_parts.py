"""A2A parts to the host's neutral parts and back.

In (a user's message):

- ``text`` -> `TextPart`;
- ``data`` (any JSON value) -> `TextPart` holding the value as compact JSON: agents read text, and a
  model reads JSON as text well;
- ``raw`` bytes -> `ImagePart` (an ``image/*`` media type) or `FilePart`, as a ``data:`` URL that keeps
  the media type (the form the Responses channel's ``file_data`` and ``image_url`` take);
- ``url`` -> `ImagePart` (``image/*``) or `FilePart` by URL.

A part whose media type the channel does not accept is refused with the protocol's
``ContentTypeNotSupportedError`` before anything runs or is stored.

Out (the agent's items): `TextPart` -> ``text``; a ``data:`` URL (image or file) -> ``raw`` with its
media type; any other URL -> ``url``; a file id (a Responses upload) -> ``data`` ``{"file_id": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]

from a2a.types import ContentTypeNotSupportedError, InvalidParamsError, Part
from hosting.core import FilePart, ImagePart, Limits, TextPart
from hosting.core import Part as NeutralPart

DEFAULT_INPUT_MODES: tuple[str, ...] = (
    "text/plain",
    "application/json",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
)
"""What the channel accepts unless told otherwise: text, JSON, common images and PDF."""

DEFAULT_OUTPUT_MODES: tuple[str, ...] = ("text/plain",)


def parts_in(parts: Sequence[Part], *, accepted: Iterable[str], limits: Limits) -> tuple[NeutralPart, ...]:
    """The neutral parts of an A2A message; an A2A error for a part that cannot be taken."""
    if not parts:
        raise InvalidParamsError(message="A message needs at least one part.")
    if len(parts) > limits.max_input_items:
        raise InvalidParamsError(message=f"A message may have at most {limits.max_input_items} parts.")
    modes = frozenset(accepted)
    return tuple(_part_in(part, index, modes, limits) for index, part in enumerate(parts))


def _part_in(part: Part, index: int, modes: frozenset[str], limits: Limits) -> NeutralPart:
    kind = part.WhichOneof("content")
    media_type = part.media_type or ("text/plain" if kind == "text" else "")
    if kind == "data":
        media_type = part.media_type or "application/json"
    if media_type and not _accepts(modes, media_type):
        raise ContentTypeNotSupportedError(
            message=f"Part {index}: media type {media_type[:128]!r} is not supported. "
            f"Supported: {', '.join(sorted(modes))}."
        )
    if kind == "text":
        return TextPart(_bounded(part.text, index, limits))
    if kind == "data":
        value = _integral(json_format.MessageToDict(part.data))
        return TextPart(_bounded(json.dumps(value, separators=(",", ":"), ensure_ascii=False), index, limits))
    if kind == "raw":
        if not media_type:
            raise InvalidParamsError(message=f"Part {index}: raw bytes need a mediaType.")
        encoded = base64.b64encode(part.raw).decode("ascii")
        data_url = f"data:{media_type};base64,{encoded}"
        if media_type.startswith("image/"):
            return ImagePart(url=data_url)
        return FilePart(data=data_url, filename=part.filename or None)
    if kind == "url":
        if media_type.startswith("image/"):
            return ImagePart(url=part.url)
        return FilePart(url=part.url, filename=part.filename or None)
    raise InvalidParamsError(message=f"Part {index} has no content (text, raw, url or data).")


def _integral(value: Any) -> Any:
    """JSON numbers travel as doubles in A2A's protobuf: 3 arrives as 3.0, and is given back as 3."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def _accepts(modes: frozenset[str], media_type: str) -> bool:
    base = media_type.split(";", 1)[0].strip().lower()
    return base in modes or f"{base.split('/', 1)[0]}/*" in modes or "*/*" in modes


def _bounded(text: str, index: int, limits: Limits) -> str:
    if len(text) > limits.max_text_chars:
        raise InvalidParamsError(message=f"Part {index} is longer than {limits.max_text_chars} characters.")
    return text


def parts_out(parts: Iterable[NeutralPart]) -> list[Part]:
    """The A2A parts of an item's neutral parts."""
    return [_part_out(part) for part in parts]


def text_part(text: str) -> Part:
    return Part(text=text)


def data_part(value: Any) -> Part:
    return Part(data=json_format.ParseDict(value, struct_pb2.Value()), media_type="application/json")


def _part_out(part: NeutralPart) -> Part:
    if isinstance(part, TextPart):
        return Part(text=part.text)
    filename = (part.filename if isinstance(part, FilePart) else None) or ""
    if isinstance(part, FilePart) and part.data is not None:
        # Inline data: a data: URL, or bare base64 as the Responses API's file_data may be.
        inline = _data_url(part.data) or _data_url(f"data:application/octet-stream;base64,{part.data}")
        if inline is not None:
            return Part(raw=inline[1], media_type=inline[0], filename=filename)
    if part.url is not None:
        inline = _data_url(part.url)
        if inline is not None:
            return Part(raw=inline[1], media_type=inline[0], filename=filename)
        return Part(url=part.url, filename=filename)
    return data_part({"file_id": part.file_id, "filename": filename or None})


def _data_url(value: str) -> tuple[str, bytes] | None:
    """The media type and bytes of a ``data:<type>;base64,<data>`` URL; None for anything else."""
    if not value.startswith("data:"):
        return None
    header, _, payload = value[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if encoding != "base64":
        return None
    try:
        return media_type or "application/octet-stream", base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
