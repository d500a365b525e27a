"""One way down: no import cycles among our modules, counting every import statement wherever it
stands (inside functions and `if TYPE_CHECKING:` blocks too), because a cycle hidden in a function
is still a cycle a reader has to untangle."""

from __future__ import annotations

import ast
from pathlib import Path

from p88_pipeline.settings import PROJECT_ROOT

SANDBOX_ROOT = PROJECT_ROOT / "sandbox"
# (folder the package sits in, package): the product, and the sandbox distribution beside it
PACKAGES = (
    (PROJECT_ROOT, "p88_pipeline"),
    (SANDBOX_ROOT, "p88_sandbox"),
    (SANDBOX_ROOT, "benchmarks"),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    return {
        module_name(path, root): path
        for root, package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
    }


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `name` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")[: len(name.split(".")) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imported_modules(name, path, set(modules)) for name, path in modules.items()}


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_function_level_imports_are_edges(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from p88_pipeline.cli import main\n")
    assert imported_modules("m", module, {"p88_pipeline.cli", "m"}) == {"p88_pipeline.cli"}


def test_no_import_cycles_among_our_modules() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_the_product_imports_nothing_of_the_sandbox_or_the_benchmarks() -> None:
    """The wheel ships p88_pipeline alone: one import of the sandbox would break it outside a
    checkout (the sandbox's commands reach the CLI through an entry point instead)."""
    leaks = sorted(
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.split(".")[0] == "p88_pipeline"
        for target in targets
        if target.split(".")[0] != "p88_pipeline"
    )
    assert not leaks, "the product imports the sandbox: " + "; ".join(leaks)
