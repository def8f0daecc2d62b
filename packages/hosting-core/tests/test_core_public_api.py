"""The public surface: `__all__` is complete, sorted and importable; the CLI parses."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import subprocess
import sys

import pytest

import hosting.core
from hosting.core._cli import main

TIERS = ("hosting.core", "hosting.core.channels", "hosting.core.stores", "hosting.core.middleware")


def _isort_key(name: str) -> tuple[int, str]:
    # "isort-style", as ruff keeps it: CONSTANTS, then Classes, then functions.
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("tier", TIERS)
def test_each_tier_lists_its_names_sorted_unique_and_importable(tier: str) -> None:
    module = importlib.import_module(tier)
    names = module.__all__
    assert list(names) == sorted(names, key=_isort_key)
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("tier", TIERS)
def test_every_public_object_of_a_tier_is_in_its_all(tier: str) -> None:
    module = importlib.import_module(tier)
    public = set(module.__all__)
    for name, value in vars(module).items():
        if name.startswith("_") or inspect.ismodule(value) or name == "annotations":
            continue
        if getattr(value, "__module__", "").startswith("hosting.core"):
            assert name in public, f"{name} is importable from {tier} but not in __all__"


def test_each_public_name_belongs_to_one_tier() -> None:
    owners: dict[str, list[str]] = {}
    for tier in TIERS:
        for name in importlib.import_module(tier).__all__:
            if name != "__version__":
                owners.setdefault(name, []).append(tier)
    shared = {name: tiers for name, tiers in owners.items() if len(tiers) > 1}
    assert shared == {}


@pytest.mark.parametrize("tier", TIERS)
def test_classes_and_functions_show_the_public_path_they_are_imported_from(tier: str) -> None:
    module = importlib.import_module(tier)
    for name in module.__all__:
        value = getattr(module, name)
        is_function = inspect.isfunction(value)
        if (inspect.isclass(value) and not dataclasses.is_dataclass(value)) or is_function:
            assert value.__module__ == tier, f"{tier}.{name} shows {value.__module__}"


def test_the_application_tier_stays_small() -> None:
    assert len(hosting.core.__all__) <= 60


@pytest.mark.parametrize(
    "internal",
    [
        "set_current_isolation_keys",
        "reset_current_isolation_keys",
        "RunEngine",
        "json_depth",
        "constructor",
        "FrontDoor",
        "ExactDispatch",
        "error_envelope",
        "is_well_formed_id",
    ],
)
def test_internals_are_in_no_tier(internal: str) -> None:
    for tier in TIERS:
        assert not hasattr(importlib.import_module(tier), internal), f"{tier}.{internal}"


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
