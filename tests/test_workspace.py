"""Workspace-level contracts: every library installs, reports its version, and keeps its
dependency boundaries (no library imports a sibling; the numpy-only ones never load torch)."""

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ["xml2csv", "featalign", "seqwin", "mttransformer", "trainer", "mediafeat"]
TORCH_FREE = ["xml2csv", "featalign", "seqwin", "mediafeat"]


@pytest.mark.parametrize("name", LIBRARIES)
def test_library_version_is_semver_and_distribution_is_prefixed(name):
    module = importlib.import_module(name)
    major, minor, patch = module.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))
    project = tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())["project"]
    assert project["name"] == f"xmlai-{name}"
    assert (ROOT / "packages" / name / "CHANGELOG.md").read_text().count(module.__version__) >= 1


@pytest.mark.parametrize("name", LIBRARIES)
def test_importing_a_library_loads_no_sibling_library(name):
    siblings = [other for other in LIBRARIES if other != name]
    forbidden = siblings + (["torch"] if name in TORCH_FREE else [])
    code = (
        f"import sys, {name}, importlib\n"
        f"for sub in getattr({name}, '__all__', []):\n"
        f"    getattr({name}, sub, None)\n"
        f"loaded = [m for m in {forbidden!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_mediafeat_extracts_without_torch_or_a_sibling(tmp_path):
    """The default install never needs torch: a whole extraction loads none of it."""
    code = (
        "import sys, numpy as np, av\n"
        "from mediafeat import ExtractConfig, extract\n"
        f"path = {str(tmp_path / 'c.mp4')!r}\n"
        "with av.open(path, 'w') as out:\n"
        "    s = out.add_stream('libx264', rate=25); s.width, s.height = 64, 48\n"
        "    for i in range(10):\n"
        "        f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8))\n"
        "        f.pts = i; out.mux(s.encode(f))\n"
        "    out.mux(s.encode())\n"
        f"extract(path, {str(tmp_path / 'f')!r}, ExtractConfig())\n"
        f"others = ['torch', *{[lib for lib in LIBRARIES if lib != 'mediafeat']!r}]\n"
        "loaded = [m for m in others if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
