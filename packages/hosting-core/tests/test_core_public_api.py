"""The public surface: `__all__` is complete, sorted and importable; the CLI parses."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest

import hosting.core
from hosting.core._cli import main


def test_all_is_sorted_unique_and_importable() -> None:
    names = hosting.core.__all__
    # "isort-style", as ruff keeps it: CONSTANTS, then Classes, then functions.
    assert list(names) == sorted(
        names, key=lambda name: (0 if name.isupper() else 1 if name[0].isupper() else 2, name)
    )
    assert len(set(names)) == len(names)
    module = importlib.import_module("hosting.core")
    for name in names:
        assert hasattr(module, name), name


def test_every_public_object_defined_in_a_private_module_is_exported() -> None:
    public = set(hosting.core.__all__)
    for name, value in vars(hosting.core).items():
        if name.startswith("_") or inspect.ismodule(value):
            continue
        if getattr(value, "__module__", "").startswith("hosting.core."):
            assert name in public, f"{name} is importable from hosting.core but not in __all__"


def test_hosting_is_a_namespace_package() -> None:
    import hosting

    assert getattr(hosting, "__file__", None) is None


def test_core_does_not_import_openai() -> None:
    code = "import sys, hosting.core; print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_cli_requires_module_attribute(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "no-colon"])
    assert exit_info.value.code == 2
    assert "module:attribute" in capsys.readouterr().err


def test_cli_help_lists_serve() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hosting.core._cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--port" in result.stdout and "--reload" in result.stdout
