"""The sample assistant's own tools: a calculator and a clock.

Both run on the server (the agent calls them and shows each call with its result
as a `ToolStep`), unlike client-declared tools, which the caller runs.
The calculator walks the expression's syntax tree instead of calling `eval`,
so a message cannot run code, and it caps powers so it cannot be made to hang.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hosting.core import ToolStep

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
MAX_EXPONENT = 100
MAX_EXPRESSION = 200
MAX_DIGITS = 1000


class ToolError(ValueError):
    """A tool could not do what it was asked; the message is shown to the model or the user."""


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        result: int | float = _UNARY[type(node.op)](_evaluate(node.operand))
        return result
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and (
            abs(right) > MAX_EXPONENT or (abs(left) > 1 and abs(right) * math.log10(abs(left)) > MAX_DIGITS)
        ):
            raise ToolError("that power is too large")
        try:
            result = _BINARY[type(node.op)](left, right)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        if isinstance(result, complex):
            raise ToolError("the result is not a real number")
        return result
    raise ToolError("only numbers, + - * / // % ** and parentheses are supported")


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression (``^`` is accepted for powers) and return the result as text."""
    cleaned = expression.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/").strip()
    if not cleaned:
        raise ToolError("the expression is empty")
    if len(cleaned) > MAX_EXPRESSION:
        raise ToolError(f"expressions are limited to {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise ToolError(f"cannot read {expression!r} as arithmetic") from None
    value = _evaluate(tree)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def clock(timezone: str = "UTC", *, now: Callable[[], datetime] | None = None) -> str:
    """The current date and time in an IANA time zone, as ISO 8601 text."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {timezone!r}") from None
    current = (now or (lambda: datetime.now(UTC)))()
    return current.astimezone(zone).isoformat(timespec="seconds")


# The tools in the Chat Completions "function" format.
TOOL_SPECS: list[dict[str, Any]] = [
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression exactly. Use it for any arithmetic.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string", "description": "for example (2 + 3) * 4"}},
                "required": ["expression"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "clock",
            "description": "The current date and time.",
            "parameters": {
                "type": "object",
                "properties": {"timezone": {"type": "string", "description": "an IANA zone, default UTC"}},
                "required": [],
            },
        },
    },
]
TOOL_NAMES = frozenset(spec["function"]["name"] for spec in TOOL_SPECS)


def run_tool(name: str, arguments: str, *, now: Callable[[], datetime] | None = None) -> str:
    """Run one of the tools with JSON `arguments`; a failure comes back as an ``error: ...`` text."""
    try:
        parsed = json.loads(arguments or "{}")
        if not isinstance(parsed, dict):
            raise ToolError("arguments must be a JSON object")
        if name == "calculator":
            return calculator(str(parsed.get("expression", "")))
        if name == "clock":
            return clock(str(parsed.get("timezone") or "UTC"), now=now)
        raise ToolError(f"unknown tool {name!r}")
    except (ToolError, ValueError) as error:
        return f"error: {error}"


def tool_step(name: str, arguments: str, result: str) -> ToolStep:
    """The step that shows a run of one of these tools: its output, or its error when it failed."""
    if result.startswith("error: "):
        return ToolStep(name, arguments, error=result[len("error: ") :])
    return ToolStep(name, arguments, output=result)
