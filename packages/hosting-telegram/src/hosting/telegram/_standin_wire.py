"""The Bot API's wire as the stand-in speaks it: parameters in, errors out.

Parameters come in the query string, a JSON body or a form (aiogram sends forms);
form values are strings, read as JSON where the method's parameter is not a
plain string, as Telegram does. They are validated by aiogram's own model of the
method, so a call the real API would refuse for its types is refused here too.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Mapping
from typing import Any

from aiogram import methods as aiogram_methods
from aiogram.methods.base import TelegramMethod
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

METHODS: dict[str, type[TelegramMethod[Any]]] = {
    cls.__api_method__.lower(): cls
    for cls in vars(aiogram_methods).values()
    if isinstance(cls, type) and issubclass(cls, TelegramMethod) and cls is not TelegramMethod
}
"""aiogram's model of every Bot API method, by lower-cased name (method names are case-insensitive)."""


class BotAPIError(Exception):
    """A refusal, with the status and description the Bot API would answer."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def chat_id_of(params: Mapping[str, Any]) -> int:
    chat_id = params.get("chat_id")
    if not isinstance(chat_id, int):
        raise BotAPIError(400, "Bad Request: chat not found")
    return chat_id


def error_response(error: BotAPIError) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.status, "description": error.description}
    if error.retry_after is not None:
        body["parameters"] = {"retry_after": error.retry_after}
    return JSONResponse(body, status_code=error.status)


def _is_text(annotation: Any) -> bool:
    """A parameter typed as a plain string (its form value is taken as it is, never as JSON)."""
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return all(arg is str or arg is type(None) for arg in typing.get_args(annotation))
    return False


async def method_params(request: Request, model: type[TelegramMethod[Any]]) -> dict[str, Any]:
    """The call's parameters (query string, JSON or form), validated by aiogram's model of the method.

    Form values are strings; like Telegram, a value is read as JSON where the parameter is not a
    plain string (numbers, booleans, objects, arrays).
    """
    raw: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        if not isinstance(body, dict):
            raise BotAPIError(400, "Bad Request: parameters must be an object")
        raw.update(body)
    elif request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if not isinstance(value, str):
                raise BotAPIError(400, "Bad Request: file uploads are not supported by the stand-in")
            field_info = model.model_fields.get(key)
            if field_info is not None and _is_text(field_info.annotation):
                raw[key] = value
                continue
            try:
                raw[key] = json.loads(value)
            except ValueError:
                raw[key] = value
    try:
        validated = model.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BotAPIError(400, f"Bad Request: wrong parameter {where}: {first['msg']}") from None
    return validated.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True) | {
        key: raw[key] for key in raw if key not in model.model_fields
    }
