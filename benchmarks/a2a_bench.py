"""A short answer over A2A, as a ratio to the same answer over the Responses API, in one run.

One host serves both channels (an agent that answers at once, a memory store). wrk sends, in
turns (see `benchmarks.harness.in_rounds`), ``SendMessage`` to ``/a2a`` and ``POST /v1/responses`` with
``store: true`` (an A2A task is always stored, so the stored response is the fair comparison). The
row is A2A's requests per second over the Responses channel's, the median of the rounds' ratios.

Usage: python benchmarks/a2a_bench.py [--quick] [--json PATH]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness  # noqa: E402

WHOLE = "answer at once"
RESPONSES: tuple[str, dict[str, Any], dict[str, str]] = (
    "/v1/responses",
    {"model": "agent", "input": WHOLE, "store": True},
    {},
)
A2A: tuple[str, dict[str, Any], dict[str, str]] = (
    "/a2a",
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "SendMessage",
        "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": WHOLE}]}},
    },
    {"A2A-Version": "1.0"},
)


def build_app() -> Any:
    """The host both loads go to (``uvicorn --factory benchmarks.a2a_bench:build_app``)."""
    from hosting.a2a import A2AChannel

    return harness.instant_host(A2AChannel())


def check(port: int) -> None:
    """Both loads answer what they should (an A2A error is an HTTP 200, which wrk cannot tell)."""
    import httpx

    for path, payload, headers in (RESPONSES, A2A):
        answer = httpx.post(
            f"http://127.0.0.1:{port}{path}", json=payload, headers=headers, timeout=30
        ).json()
        if answer.get("error") or answer.get("status", "completed") != "completed":
            raise SystemExit(f"{path} answered {answer}")
        if path == "/a2a" and answer["result"]["task"]["status"]["state"] != "TASK_STATE_COMPLETED":
            raise SystemExit(f"{path} answered {answer}")


def measure(*, rounds: int, seconds: int) -> dict[str, Any]:
    """Both loads in turns; the A2A row with its ratio to the Responses channel's."""
    with harness.server("benchmarks.a2a_bench:build_app", label="the A2A benchmark server", factory=True) as (
        port,
        _,
    ):
        check(port)
        loads = {
            name: (path, harness.post_script(json.dumps(payload).encode(), headers))
            for name, (path, payload, headers) in (("responses", RESPONSES), ("a2a", A2A))
        }
        return harness.against(port, loads, baseline="responses", rounds=rounds, seconds=seconds)


def report(results: dict[str, Any]) -> None:
    harness.report_rows(
        results,
        (("responses", "short answer, Responses (store)"), ("a2a", "short answer, A2A SendMessage")),
    )


if __name__ == "__main__":
    harness.compare_main(__doc__ or "", measure, report)
