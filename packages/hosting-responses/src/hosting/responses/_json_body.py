"""Request bodies as JSON: parsed exactly, and refused with a 400 when they cannot be served safely."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from ._errors import invalid

# Escapes of surrogates (\uD800-\uDFFF): only a body that has one can hold a lone surrogate after parsing.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: too large for a float, it would come back as null
        raise ValueError(f"{text} is out of range")
    return value


# One decoder for every request: json.loads builds a new one per call when given options.
_DECODER = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)
# A run of 19 digits or more may be an integer beyond 64 bits, which orjson would turn into a float.
_LONG_DIGITS = re.compile(rb"[0-9]{19,}")


def _parse(raw: bytes) -> Any:
    """The JSON value of `raw`: natively when that is exact, else (and for every error) as before.

    orjson refuses all that the checks below refuse, so a body it cannot read goes to the
    standard library, which says precisely what is wrong (or reads what the checks then
    refuse with their own messages: a lone surrogate, NaN).
    """
    if _LONG_DIGITS.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    # JSON text is UTF-8 (RFC 8259); a body that is not is malformed (UnicodeDecodeError is a ValueError).
    # A leading byte order mark is ignored, as RFC 8259 allows and the standard library does.
    return _DECODER.decode(raw.decode("utf-8-sig"))


def _has_lone_surrogate(value: Any) -> bool:
    pending = [value]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return True
        elif isinstance(node, dict):
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return False


def load_json(raw: bytes, *, max_depth: int) -> Any:
    """Parse a request body, refusing with a 400 what cannot be served safely.

    Besides malformed JSON: ``NaN`` and ``Infinity`` (not JSON; echoed back in a response
    they would make it invalid JSON), strings with an unpaired surrogate escape (they have
    no UTF-8 form, so writing them to a response or a store fails later, after the agent
    ran), and nesting deeper than `max_depth`.
    """
    if not raw.strip():
        raise invalid("The request body is empty; send a JSON object.", None, code="invalid_json")
    try:
        body = _parse(raw)
    except RecursionError:  # nested deeper than the parser goes: far deeper than the limit
        raise invalid(
            f"The JSON body is nested deeper than {max_depth} levels.", None, code="invalid_json"
        ) from None
    except ValueError:
        raise invalid(
            "We could not parse the JSON body of your request. Send a valid JSON object.",
            None,
            code="invalid_json",
        ) from None
    # Nesting needs an opening bracket per level: a body with few brackets needs no walk.
    if raw.count(b"[") + raw.count(b"{") > max_depth and json_depth(body, limit=max_depth) > max_depth:
        raise invalid(f"The JSON body is nested deeper than {max_depth} levels.", None, code="invalid_json")
    # Surrogate pairs (how many clients escape emoji) are joined by the parser; only lone halves remain.
    if _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(body):
        raise invalid(
            "The JSON body holds a string with an unpaired surrogate escape (\\ud800-\\udfff).",
            None,
            code="invalid_json",
        )
    return body


def json_depth(value: Any, *, limit: int) -> int:
    """The nesting depth of a parsed JSON value (a scalar is 0); counting stops past `limit`."""
    depth = 0
    level: list[Any] = [value]
    while depth <= limit:
        containers = [node for node in level if isinstance(node, dict | list)]
        if not containers:
            break
        depth += 1
        level = [
            child for node in containers for child in (node.values() if isinstance(node, dict) else node)
        ]
    return depth
