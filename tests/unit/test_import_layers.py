"""DESIGN.md's import rule, checked over the source so a later change cannot break it silently.

Imports point one way: cli -> {validate, gate, bench, run} -> {faults, load, analysis, topology,
compose} -> {records, scenario, errors, toxiproxy_api, tap, waits}. A package may import its own tier
and the tiers below, never a tier above, and the packages' graph has no cycle. The node programs
(proxies/) never import the harness, and each heavy library has one owner.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIERS = (
    {"cli"},
    {"validate", "gate", "bench", "run"},
    {"faults", "load", "analysis", "topology", "compose"},
    {"records", "scenario", "errors", "toxiproxy_api", "tap", "waits"},
)
# The modules allowed to import each library: the Locust process's own modules, the plotting
# module, the tap addon, the compose backend.
LIBRARY_OWNERS = {
    "locust": (
        "harness/load/locustfile.py",
        "harness/load/traffic_user.py",
        "harness/load/mirror_user.py",
    ),
    "matplotlib": ("harness/analysis/plots.py",),
    "mitmproxy": ("harness/tap/addon.py",),
    "docker": ("harness/compose/",),
}


def imported_modules(path: Path) -> list[str]:
    """Every absolute module a file imports, `from harness import x` counted as harness.x."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            if node.module == "harness":
                names.extend(f"harness.{alias.name}" for alias in node.names)
    return names


def package_of(path: Path) -> str:
    """harness/run/phases.py -> run; harness/errors.py -> errors."""
    return path.relative_to(ROOT / "harness").with_suffix("").parts[0]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "harness").rglob("*.py"):
        source = package_of(path)
        if source == "__init__":
            continue
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "harness" and len(parts) > 1 and parts[1] != source:
                graph[source].add(parts[1])
    return graph


def tier_of(package: str) -> int:
    for index, tier in enumerate(TIERS):
        if package in tier:
            return index
    raise AssertionError(f"harness/{package} is in no tier of DESIGN.md's import rule; add it")


def test_no_package_imports_a_tier_above_its_own():
    upward = [
        f"{source} -> {target}"
        for source, targets in package_graph().items()
        for target in targets
        if tier_of(target) < tier_of(source)
    ]
    assert upward == []


def test_the_packages_import_each_other_without_a_cycle():
    try:
        order = list(TopologicalSorter(package_graph()).static_order())
    except CycleError as error:
        raise AssertionError(f"import cycle between packages: {error.args[1]}") from None
    assert order.index("scenario") < order.index("run") < order.index("cli")


def test_the_node_programs_never_import_the_harness():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "proxies").rglob("*.py")
        if any(name.split(".")[0] == "harness" for name in imported_modules(path))
    ]
    assert offenders == []


def test_each_heavy_library_is_imported_only_by_its_owner():
    offenders = []
    for path in [*(ROOT / "harness").rglob("*.py"), *(ROOT / "proxies").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        for name in imported_modules(path):
            library = name.split(".")[0]
            owners = LIBRARY_OWNERS.get(library)
            if owners and not relative.startswith(owners):
                offenders.append(f"{relative} imports {library}")
    assert offenders == []


def test_an_upward_import_would_be_caught(tmp_path):
    """The checker itself: a bottom-layer file importing the run is seen."""
    bad = tmp_path / "bad.py"
    bad.write_text("from harness.run.runner import run_scenario\nfrom harness import cli\n")
    assert imported_modules(bad) == ["harness.run.runner", "harness", "harness.cli"]
    assert tier_of("run") < tier_of("scenario")
