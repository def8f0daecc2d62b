"""The hosting-ui wheel carries the page: every file of ``static/``, byte for byte, and no build step.

``HOSTING_SKIP_WHEELS=1`` skips it, like the other wheel test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"
STATIC = ROOT / "packages" / "hosting-ui" / "src" / "hosting" / "ui" / "static"

pytestmark = pytest.mark.skipif(
    os.environ.get("HOSTING_SKIP_WHEELS") == "1", reason="HOSTING_SKIP_WHEELS=1 skips the wheel tests"
)


def test_the_wheel_ships_every_file_of_the_page(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make install` first")
    env = {
        **os.environ,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": os.environ.get("UV_PYTHON", getattr(sys, "_base_executable", sys.executable)),
    }
    command = [
        str(UV),
        "build",
        "--package",
        "hosting-ui",
        "--wheel",
        "--no-sources",
        "--out-dir",
        str(tmp_path),
    ]
    built = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("hosting_ui-*.whl")
    sources = sorted(path.name for path in STATIC.iterdir() if path.is_file())
    assert {"index.html", "app.js", "style.css", "markdown.js"} <= set(sources)
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(
            name.removeprefix("hosting/ui/static/")
            for name in archive.namelist()
            if name.startswith("hosting/ui/static/") and not name.endswith("/")  # files, not directories
        )
        assert shipped == sources
        for name in sources:
            assert archive.read(f"hosting/ui/static/{name}") == (STATIC / name).read_bytes(), name
        assert "hosting/ui/py.typed" in archive.namelist()
        assert not any(
            name.endswith((".ts", ".map")) or "node_modules" in name for name in archive.namelist()
        )
