"""Dependencies point one way: the import-direction rule of the tree, checked on the source.

    domain (atp.domain: pure rules)
      <- foundation (errors, settings, metrics, privacy, log format: shared, no I/O of their own)
      <- engine (flows: Bytewax steps, routing table, topology)
      <- adapters (connectors: Kafka, CDC, store, webhooks, contracts; schemas)
      <- local stack (infra: installs and starts the services on this machine)
      <- application (atp: settings composition, supervisor, status, reconcile; flows.process and
         flows.run, the dataflow process's composition root)
      <- demo (atp.demo) <- commands (atp.cli) <- bench

A module may import its own layer and the layers below it, never one above; and no module may
reach itself again through its imports (no cycle), whether the import is at the top of the file or
inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("atp", "flows", "connectors", "schemas", "infra", "bench")

# Lowest first. The longest matching prefix decides a module's layer.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain", ("atp.domain",)),
    ("foundation", ("atp.errors", "atp.settings", "atp.metrics", "atp.privacy", "atp.log_format")),
    ("engine", ("flows",)),
    ("adapters", ("connectors", "schemas")),
    ("local stack", ("infra",)),
    ("application", ("atp", "flows.process", "flows.run")),
    ("demo", ("atp.demo",)),
    ("commands", ("atp.cli",)),
    ("bench", ("bench",)),
)


def layer_of(module: str) -> int:
    best, rank = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), index
    assert rank >= 0, f"{module} belongs to no layer"
    return rank


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported(path: Path, known: dict[str, Path]) -> Iterator[tuple[int, str]]:
    """(line, module) of every project module this file imports, at any depth of the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # ``from pkg import mod`` imports the module pkg.mod when there is one
            names = [_submodule_or_module(node.module, alias.name, known) for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                yield node.lineno, name


def _submodule_or_module(module: str, name: str, known: dict[str, Path]) -> str:
    return f"{module}.{name}" if f"{module}.{name}" in known else module


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {module: {target for _, target in imported(path, known)} - {module} for module, path in known.items()}


def test_every_import_points_down_the_layers() -> None:
    known = modules()
    wrong = []
    for module, path in sorted(known.items()):
        for line, target in imported(path, known):
            if layer_of(target) > layer_of(module):
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line}: {module} ({LAYERS[layer_of(module)][0]}) imports "
                    f"{target} ({LAYERS[layer_of(target)][0]})"
                )
    assert not wrong, "imports that point up the layers:\n" + "\n".join(wrong)


def test_no_module_reaches_itself_through_its_imports() -> None:
    graph = import_graph()
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(sorted(c)) for c in cycles)


def test_the_domain_imports_nothing_but_the_standard_library_and_itself() -> None:
    # orjson is a codec (dead letters carry their payload as JSON text), not I/O: the domain may use it.
    allowed_roots = {"atp", "orjson"}
    outside = []
    for path in (ROOT / "atp" / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = [alias.name.split(".")[0] for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                roots = [node.module.split(".")[0]]
            else:
                continue
            for root in roots:
                third_party = root not in allowed_roots and root not in STANDARD_LIBRARY
                if third_party or (root == "atp" and not _is_domain(node)):
                    outside.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert not outside, "\n".join(outside)


def _is_domain(node: ast.Import | ast.ImportFrom) -> bool:
    names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
    return all(name == "atp.domain" or name.startswith("atp.domain.") for name in names)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: every set of two or more modules that import one another, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in graph.get(module, ()):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


STANDARD_LIBRARY = frozenset(__import__("sys").stdlib_module_names) | {"__future__"}
