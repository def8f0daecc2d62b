"""The published wheels, tried as a new user would: a fresh virtualenv, three wheels, a ten-line test.

Builds every wheel with ``uv build --all-packages --no-sources`` (so the wheels'
dependency ranges are what PyPI users get, not the workspace's sources), creates
a virtualenv with the machine's Python, installs only hosting-core,
hosting-responses and hosting-testing (their dependencies come from the package
index through pip), and runs a user's test of their own agent with that
virtualenv's pytest, where the kit's pytest plugin is found through its entry point.

It takes a minute or two. ``HOSTING_SKIP_WHEELS=1`` skips it (for a quick local run);
``make test`` runs it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
WHEELS = ("hosting_core", "hosting_responses", "hosting_testing")

USER_TEST = """\
from hosting.core import Host, MemoryStore, RunContext, agent
from hosting.responses import ResponsesChannel
from hosting.testing import ScriptedAgent, openai_client


@agent
async def greeter(context: RunContext):
    yield f"Hello, {context.input_text}!"


def test_my_agent_answers(openai_client_for) -> None:
    client = openai_client_for(Host(greeter, channels=[ResponsesChannel()]))
    first = client.responses.create(model="greeter", input="Ada")
    assert first.output_text == "Hello, Ada!"
    assert client.responses.retrieve(first.id).output_text == "Hello, Ada!"


def test_my_agent_sees_the_history() -> None:
    scripted = ScriptedAgent(turns=[["Hi!"], ["Again!"]])
    with openai_client(Host(scripted, channels=[ResponsesChannel()], store=MemoryStore())) as client:
        first = client.responses.create(model="x", input="one")
        client.responses.create(model="x", input="two", previous_response_id=first.id)
    assert [item.text for item in scripted.runs[1].history] == ["one", "Hi!"]
"""

pytestmark = pytest.mark.skipif(
    os.environ.get("HOSTING_SKIP_WHEELS") == "1", reason="HOSTING_SKIP_WHEELS=1 skips the wheel test"
)


def _run(command: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    finished = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert finished.returncode == 0, f"{' '.join(command)} failed:\n{finished.stdout}\n{finished.stderr}"
    return finished.stdout


def test_a_new_user_tests_their_agent_with_only_the_wheels(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make install` first")
    base_python = getattr(sys, "_base_executable", sys.executable)
    build_env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": os.environ.get("UV_PYTHON", base_python),
    }
    dist = tmp_path / "dist"
    _run(
        [str(UV), "build", "--all-packages", "--no-sources", "--wheel", "--out-dir", str(dist)],
        cwd=ROOT,
        env=build_env,
    )
    wheels = sorted(path for path in dist.glob("*.whl") if path.name.split("-")[0] in WHEELS)
    assert [path.name.split("-")[0] for path in wheels] == list(WHEELS)

    venv = tmp_path / "venv"
    _run([base_python, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    user_env = {
        name: value for name, value in os.environ.items() if not name.startswith(("VIRTUAL_ENV", "PYTHON"))
    }
    user_env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    _run([str(python), "-m", "pip", "install", "--quiet", *map(str, wheels)], cwd=tmp_path, env=user_env)

    # Only the three wheels of ours, nothing from the workspace.
    installed = _run([str(python), "-m", "pip", "list", "--format=freeze"], cwd=tmp_path, env=user_env)
    ours = sorted(line.split("==")[0] for line in installed.splitlines() if line.startswith("hosting"))
    assert ours == ["hosting-core", "hosting-responses", "hosting-testing"]

    project = tmp_path / "my_project"
    project.mkdir()
    (project / "test_my_agent.py").write_text(textwrap.dedent(USER_TEST))
    output = _run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "error", "test_my_agent.py"],
        cwd=project,
        env={**user_env, "HOSTING_DATA_DIR": str(project / ".hosting")},
    )
    assert "2 passed" in output


def test_every_package_pins_uv_build_to_the_uv_the_makefile_installs() -> None:
    # uv builds a package in process only when the package's uv_build range admits uv itself.
    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^UV_VERSION \?= (\S+)$", makefile, re.MULTILINE)
    assert version is not None
    installed = tuple(int(part) for part in version.group(1).split("."))
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        build = tomllib.loads(pyproject.read_text())["build-system"]
        assert build["build-backend"] == "uv_build", pyproject
        (requirement,) = build["requires"]
        low, high = re.fullmatch(r"uv_build>=([\d.]+),<([\d.]+)", requirement).groups()  # type: ignore[union-attr]
        assert tuple(map(int, low.split("."))) <= installed < tuple(map(int, high.split("."))), pyproject
