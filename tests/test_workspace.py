"""Workspace-level contracts: every library installs, reports its version, and keeps its
dependency boundaries: any library may import trackcore (the shared contract), trackcore
imports no other library, no library imports another otherwise, and the numpy-only ones
never load torch."""

import ast
import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = "trackcore"
LIBRARIES = [CONTRACT, "xml2csv", "featalign", "seqwin", "mttransformer", "trainer", "mediafeat"]
TORCH_FREE = [CONTRACT, "xml2csv", "featalign", "seqwin", "mediafeat"]


def allowed_siblings(name: str) -> set[str]:
    """The xmlai libraries `name` may import: the contract, except from the contract itself."""
    return set() if name == CONTRACT else {CONTRACT}


def imported_modules(source: str, filename: str = "<source>") -> set[str]:
    """Top-level names of every absolute import in `source`, lazy ones inside functions too."""
    found = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def boundary_violations(name: str, sources: dict[str, str]) -> list[str]:
    """'file: imports X' for each import of a sibling library that `name` may not import."""
    forbidden = set(LIBRARIES) - {name} - allowed_siblings(name)
    return [
        f"{file}: imports {module}"
        for file, text in sorted(sources.items())
        for module in sorted(imported_modules(text, file) & forbidden)
    ]


def library_sources(name: str) -> dict[str, str]:
    src = ROOT / "packages" / name / "src" / name
    return {str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in src.rglob("*.py")}


def project(name: str) -> dict:
    return tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())["project"]


@pytest.mark.parametrize("name", LIBRARIES)
def test_library_version_is_semver_and_distribution_is_prefixed(name):
    module = importlib.import_module(name)
    major, minor, patch = module.__version__.split(".")
    assert all(part.isdigit() for part in (major, minor, patch))
    assert project(name)["name"] == f"xmlai-{name}"
    assert (ROOT / "packages" / name / "CHANGELOG.md").read_text().count(module.__version__) >= 1


@pytest.mark.parametrize("name", LIBRARIES)
def test_no_library_imports_a_sibling_but_the_contract(name):
    """An AST scan of every module, so a lazy import inside a function is caught too."""
    assert boundary_violations(name, library_sources(name)) == []


@pytest.mark.parametrize("name", LIBRARIES)
def test_a_library_that_imports_the_contract_declares_it(name):
    imports = set().union(*(imported_modules(t) for t in library_sources(name).values()))
    declared = [d for d in project(name)["dependencies"] if d.startswith(f"xmlai-{CONTRACT}")]
    if name == CONTRACT:
        assert project(name)["dependencies"] == []  # the standard library only
    elif CONTRACT in imports:
        assert declared == [f"xmlai-{CONTRACT}>=0.1,<0.2"]


def _distribution(requirement: str) -> str:
    name = requirement.split(";")[0].strip()
    for stop in "<>=!~[ ":
        name = name.split(stop)[0]
    return name.lower().replace("_", "-")


@pytest.mark.parametrize("name", LIBRARIES)
def test_every_third_party_import_is_a_declared_dependency(name):
    """What `hatch run pkg:test` finds by installing each library alone, read from the code:
    each imported module that is not the standard library belongs to a distribution the
    library declares (its dependencies or extras). Modules not installed here are skipped."""
    import importlib.metadata

    owners = importlib.metadata.packages_distributions()
    spec = project(name)
    declared = {_distribution(r) for r in spec["dependencies"]}
    for extra in spec.get("optional-dependencies", {}).values():
        declared |= {_distribution(r) for r in extra}
    imports = set().union(*(imported_modules(t) for t in library_sources(name).values()))
    undeclared = {
        module: owners[module]
        for module in sorted(imports - set(sys.stdlib_module_names) - {name, "__future__"})
        if module not in LIBRARIES
        and module in owners
        and not {d.lower().replace("_", "-") for d in owners[module]} & declared
    }
    assert undeclared == {}
    siblings = imports & set(LIBRARIES) - {name}
    assert {f"xmlai-{s}" for s in siblings} <= declared


def test_trackcore_imports_the_standard_library_only():
    imports = set().union(*(imported_modules(t) for t in library_sources(CONTRACT).values()))
    assert imports - {CONTRACT, "__future__"} <= set(sys.stdlib_module_names)


def test_the_boundary_scan_finds_a_forbidden_import():
    """The scan itself: a sibling import anywhere in a module is reported, the contract is
    allowed to every library but itself."""
    lazy = "def f():\n    from featalign.store import build_frame_store\n"
    assert boundary_violations("xml2csv", {"a.py": lazy}) == ["a.py: imports featalign"]
    assert boundary_violations("seqwin", {"b.py": "import mttransformer.config as c\n"}) == [
        "b.py: imports mttransformer"
    ]
    assert boundary_violations("seqwin", {"c.py": "from trackcore import manifest\n"}) == []
    assert boundary_violations("trackcore", {"d.py": "import seqwin\n"}) == ["d.py: imports seqwin"]
    relative = "from .featalign import x\nfrom . import seqwin\n"  # its own modules
    assert boundary_violations("xml2csv", {"e.py": relative}) == []


@pytest.mark.parametrize("name", LIBRARIES)
def test_importing_a_library_loads_no_sibling_library(name):
    siblings = [
        other for other in LIBRARIES if other != name and other not in allowed_siblings(name)
    ]
    forbidden = siblings + (["torch"] if name in TORCH_FREE else [])
    if name == CONTRACT:
        forbidden.append("numpy")
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
    others = ["torch", *(lib for lib in LIBRARIES if lib not in ("mediafeat", CONTRACT))]
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
        f"others = {others!r}\n"
        "loaded = [m for m in others if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
