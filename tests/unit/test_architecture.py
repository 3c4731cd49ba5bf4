"""The shape of the package: layers one way (import-linter, in ./dev test), no import cycle
anywhere, modules small enough to read. Lazy imports inside functions and TYPE_CHECKING
imports count: a cycle that only closes at run time is still a cycle for a reader."""

from __future__ import annotations

from pathlib import Path

import grimp

import loginkit

PACKAGE = Path(loginkit.__file__).parent
#: "No module over ~500 lines" (one concept per module).
MAX_LINES = 500


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(module: str) -> None:
        nonlocal counter
        index[module] = low[module] = counter
        counter += 1
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others() -> None:
    graph = grimp.build_graph("loginkit", include_external_packages=False)
    # The package root re-exports everything (lazily, by name); it is the one allowed hub.
    graph.remove_module("loginkit")
    assert _cycles(graph) == []


def test_every_layer_is_a_package_of_private_modules() -> None:
    layers = ("cli", "signin", "loopback", "store", "oauth", "core")
    for layer in layers:
        modules = sorted(p.name for p in (PACKAGE / layer).glob("*.py"))
        assert modules[0] == "__init__.py"
        assert all(name.startswith("_") for name in modules), (layer, modules)
    public = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert public == ["__init__.py", "__main__.py", "auth.py", "progress.py"]


def test_no_module_is_over_the_size_of_one_concept() -> None:
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
