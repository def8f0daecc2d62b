"""docs/testing.md works as written: its agent and its tests (sync, async, traces) pass in a fresh directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "testing.md"


def _python_blocks() -> list[str]:
    return [block.split("```", 1)[0] for block in DOC.read_text().split("```python\n")[1:]]


def test_the_examples_of_the_testing_guide_pass(tmp_path: Path) -> None:
    blocks = _python_blocks()
    agent = next(block for block in blocks if "host = Host(greeter" in block)
    tests = [block for block in blocks if "from my_agent import" in block]
    assert len(tests) == 3  # the sync tests, the async test, the traces test
    (tmp_path / "my_agent.py").write_text(agent)
    for number, block in enumerate(tests):
        (tmp_path / f"test_guide_{number}.py").write_text(block)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "OTEL_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
