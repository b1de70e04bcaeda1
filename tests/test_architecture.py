"""The package's layering: each module sits on a floor and imports only from its floor or below.

The floors are the table under "## Floors" in docs/architecture.md; this test reads that
table, so the documentation and the check cannot drift apart. Every import counts: at module
level, inside functions (lazy imports) and under ``TYPE_CHECKING``. Importing ``a.b.c`` also
runs the ``__init__`` of package ``a.b``, so that is an edge too (except to packages the
importing module is itself inside, which always run first, and to the root ``lakehouse``
package, the public API that loads everything lazily). A package ``__init__`` that the table
does not name sits on the lowest floor of its modules, so it cannot re-export upward.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = "lakehouse"
APART = "apart"
SPARK_PACKAGES = ("pyspark", "delta")


def modules(repo: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    src = repo / "src" / ROOT
    found = {}
    for path in sorted(src.rglob("*.py")):
        parts = path.relative_to(src.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def floors_table(repo: Path) -> dict[str, str]:
    """The floors table of docs/architecture.md: pattern (``lakehouse.x`` or ``lakehouse.x.*``) -> floor."""
    text = (repo / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Floors", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"\d|apart", cells[0]):
            continue
        for name in re.findall(r"`([\w.*]+)`", cells[-1]):
            pattern = ROOT if name == ROOT else f"{ROOT}.{name}"
            assert pattern not in table, f"{name} is listed twice in the floors table"
            table[pattern] = cells[0]
    return table


def _matches(pattern: str, module: str) -> bool:
    if pattern.endswith(".*"):
        package = pattern[:-2]
        return module == package or module.startswith(package + ".")
    return module == pattern


def assign_floors(repo: Path) -> dict[str, str]:
    """Each module's floor; unlisted package ``__init__`` files take their lowest module floor."""
    table, found = floors_table(repo), modules(repo)
    floors: dict[str, str] = {}
    for module in found:
        hits = [floor for pattern, floor in table.items() if _matches(pattern, module)]
        assert len(hits) <= 1, f"{module} matches several rows of the floors table"
        if hits:
            floors[module] = hits[0]
    for module, path in found.items():
        if module not in floors and path.name == "__init__.py":
            inside = [f for m, f in floors.items() if m.startswith(module + ".") and f != APART]
            floors[module] = min(inside, default="0")
    unlisted = sorted(set(found) - set(floors))
    assert not unlisted, f"modules missing from the floors table in docs/architecture.md: {unlisted}"
    stale = [p for p in table if not any(_matches(p, m) for m in found)]
    assert not stale, f"the floors table names modules that do not exist: {stale}"
    return floors


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:  # relative import
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


def imports(path: Path, module: str, known: set[str]) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = _imported(node, module, path.name == "__init__.py")
            out.update(n for n in names if n in known)
    own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    if path.name == "__init__.py":
        own.add(module)
    for target in list(out):  # importing a.b.c runs the __init__ of a.b
        parts = target.split(".")
        out.update(".".join(parts[:i]) for i in range(2, len(parts)))
    return {t for t in out if t != ROOT and t not in own and t != module}


def graph(repo: Path) -> dict[str, set[str]]:
    found = modules(repo)
    return {m: imports(p, m, set(found)) for m, p in found.items()}


def _rank(floor: str) -> float:
    return 3.5 if floor == APART else float(floor)


def upward_edges(edges: dict[str, set[str]], floors: dict[str, str]) -> list[str]:
    bad = []
    for module, targets in edges.items():
        for target in targets:
            mine, theirs = floors[module], floors[target]
            if theirs == APART and mine not in (APART, "6"):
                bad.append(f"{module} (floor {mine}) imports {target} (apart: only entry points may)")
            elif theirs != APART and _rank(theirs) > _rank(mine):
                bad.append(f"{module} (floor {mine}) imports {target} (floor {theirs})")
    return sorted(bad)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path (first node repeated at the end), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def package_graph(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph between top-level parts of the package (``lakehouse.gold``, ``lakehouse.cli``)."""

    def top(name: str) -> str:
        return ".".join(name.split(".")[:2])

    out: dict[str, set[str]] = {}
    for module, targets in edges.items():
        if module == ROOT:
            continue
        out.setdefault(top(module), set()).update(top(t) for t in targets if top(t) != top(module))
    return out


def spark_at_import(path: Path) -> list[str]:
    """pyspark/delta imports run when the module is imported (not in a function or TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                break
            if isinstance(sub, ast.Import | ast.ImportFrom):
                names = [a.name for a in sub.names] if isinstance(sub, ast.Import) else [sub.module or ""]
                found += [n for n in names if n.split(".")[0] in SPARK_PACKAGES]
    return found


def test_every_module_has_one_floor_in_the_documented_table(repo_root: Path) -> None:
    floors = assign_floors(repo_root)
    assert floors[ROOT] == "6" and floors[f"{ROOT}.config"] == "1"


def test_imports_point_down_only(repo_root: Path) -> None:
    assert upward_edges(graph(repo_root), assign_floors(repo_root)) == []


def test_no_import_cycle_between_modules_or_packages(repo_root: Path) -> None:
    edges = graph(repo_root)
    assert find_cycle(edges) is None
    assert find_cycle(package_graph(edges)) is None


def test_specs_and_foundation_import_no_spark(repo_root: Path) -> None:
    floors, found = assign_floors(repo_root), modules(repo_root)
    low = {m: spark_at_import(found[m]) for m, f in floors.items() if f in ("0", "1")}
    assert {m: names for m, names in low.items() if names} == {}


@pytest.mark.parametrize(
    ("sources", "problem"),
    [
        ({"a": "", "b": "from lakehouse.a import x"}, "upward"),
        ({"a": "", "b": "def f():\n    from lakehouse.a import x"}, "upward"),
        (
            {"a": "", "b": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lakehouse.a"},
            "upward",
        ),
        ({"b": "import lakehouse.c", "c": "import lakehouse.b"}, "cycle"),
        ({"pkg/__init__": "from lakehouse.pkg.high import x", "pkg/low": "", "pkg/high": ""}, "upward"),
    ],
    ids=["module-level", "lazy-in-function", "type-checking", "cycle", "package-reexport"],
)
def test_the_checks_catch_what_they_claim(tmp_path: Path, sources: dict[str, str], problem: str) -> None:
    """A small fake package with one defect: the checks above must report it."""
    src = tmp_path / "src" / ROOT
    every = ("__init__", "a", "b", "c", "pkg/__init__", "pkg/low", "pkg/high")
    for name, text in {**dict.fromkeys(every, ""), **sources}.items():
        path = src / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    rows = "| 6 | top | `lakehouse` |\n| 2 | low | `b`, `c`, `pkg.low` |\n| 4 | high | `a`, `pkg.high` |\n"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "architecture.md").write_text(
        f"## Floors\n\n| floor | role | modules |\n|---|---|---|\n{rows}"
    )
    edges, floors = graph(tmp_path), assign_floors(tmp_path)
    if problem == "upward":
        assert upward_edges(edges, floors)
    else:
        assert find_cycle(edges) is not None


JVM_MARKERS = ("_jvm", "_jsc", "sparkContext", "py4j")
SESSION_MODULE = f"{ROOT}.spark"


def jvm_uses(repo: Path) -> dict[str, list[str]]:
    """Modules other than the local-session module whose text names the JVM gateway.

    Spark Connect sessions (serverless, standard access mode) have no JVM on the Python side:
    any of these names on the data path fails there, so they may appear only in
    ``lakehouse.spark``, which builds local classic sessions.
    """
    found = {}
    for module, path in modules(repo).items():
        if module == SESSION_MODULE:
            continue
        text = path.read_text(encoding="utf-8")
        hits = [marker for marker in JVM_MARKERS if marker in text]
        if hits:
            found[module] = hits
    return found


def test_no_jvm_gateway_outside_the_local_session_module(repo_root: Path) -> None:
    assert jvm_uses(repo_root) == {}


def test_the_jvm_check_finds_a_use(tmp_path: Path) -> None:
    src = tmp_path / "src" / ROOT
    src.mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "spark.py").write_text("session.sparkContext.setLogLevel('ERROR')\n")
    (src / "listing.py").write_text("fs = spark._jsc.hadoopConfiguration()\n")
    assert jvm_uses(tmp_path) == {f"{ROOT}.listing": ["_jsc"]}
