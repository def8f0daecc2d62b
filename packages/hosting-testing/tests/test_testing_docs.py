"""The examples of docs/testing.md run as written, as a user would run them: pytest in a fresh folder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "testing.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_the_documented_examples_pass(tmp_path: Path) -> None:
    blocks = _python_blocks()
    agent_module = next(block for block in blocks if "host = Host(greeter" in block)
    agent_tests = next(block for block in blocks if "from my_agent import greeter" in block)
    upstream_tests = next(block for block in blocks if "def test_the_agent_uses_its_calculator" in block)
    (tmp_path / "my_agent.py").write_text(agent_module)
    (tmp_path / "test_my_agent.py").write_text(agent_tests)
    (tmp_path / "test_upstream.py").write_text(upstream_tests)
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "--rootdir",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "3 passed" in finished.stdout
