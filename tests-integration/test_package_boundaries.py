"""No package imports another package's private module (``hosting.<pkg>._anything``).

Every Python file of every package, the samples, the benchmarks and these tests is
parsed; an import of ``hosting.<other>._name`` (or ``from hosting.<other> import
_name``) from outside that package is a failure. A package's own tests may reach
into its own private modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _package_of(path: Path) -> str | None:
    """The import name (``core``, ``responses``, ...) of the package a file belongs to, if any."""
    parts = path.relative_to(ROOT).parts
    if parts[0] != "packages":
        return None
    return parts[1].removeprefix("hosting-").replace("-", "_")


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def private_imports(path: Path, own: str | None) -> list[str]:
    """The imports in `path` of private modules or names of packages other than `own`, as ``line: module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offences: list[str] = []
    for line, module in _imported_modules(tree):
        parts = module.split(".")
        if len(parts) < 3 or parts[0] != "hosting":
            continue
        if parts[1] == own:
            continue  # a package may use its own private modules
        if any(part.startswith("_") for part in parts[2:]):
            offences.append(f"{line}: {module}")
    return offences


def _python_files() -> list[Path]:
    roots = [ROOT / "packages", ROOT / "samples", ROOT / "benchmarks", ROOT / "tests-integration"]
    return sorted(path for root in roots for path in root.rglob("*.py") if ".venv" not in path.parts)


def test_the_check_finds_every_kind_of_private_import(tmp_path: Path) -> None:
    sample = tmp_path / "probe.py"
    sample.write_text(
        "import hosting.core._engine\n"
        "from hosting.core._run import Run\n"
        "from hosting.core import _ids\n"
        "from hosting.responses._sse import EventStreamResponse\n"
        "from hosting.core.channels import Run as PublicRun\n"
        "import hosting.core\n",
        encoding="utf-8",
    )
    assert private_imports(sample, None) == [
        "1: hosting.core._engine",
        "2: hosting.core._run",
        "2: hosting.core._run.Run",
        "3: hosting.core._ids",
        "4: hosting.responses._sse",
        "4: hosting.responses._sse.EventStreamResponse",
    ]
    # A package's own private modules are its own business.
    assert private_imports(sample, "core") == [
        "4: hosting.responses._sse",
        "4: hosting.responses._sse.EventStreamResponse",
    ]


def test_the_files_checked_include_every_package() -> None:
    packages = {_package_of(path) for path in _python_files()} - {None}
    assert {"core", "responses", "testing", "agent_framework"} <= packages


@pytest.mark.parametrize("path", _python_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_file_imports_another_packages_private_modules(path: Path) -> None:
    assert private_imports(path, _package_of(path)) == []
