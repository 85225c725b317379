"""The shape of the package: no import cycle among its modules (imports
inside functions count, ``if TYPE_CHECKING:`` blocks do not), ``core`` does
no I/O, ``services`` never imports an engine, and no module is over 400
lines (migrations aside)."""

import ast
from pathlib import Path

import django_sessiontokens

ROOT = Path(django_sessiontokens.__file__).parent
PACKAGE = "django_sessiontokens"


def _modules():
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name):
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _type_checking(node):
    test = node.test
    return getattr(test, "id", None) == "TYPE_CHECKING" or (
        getattr(test, "attr", None) == "TYPE_CHECKING"
    )


def _imports(module, path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _type_checking(node):
            skipped.update(id(n) for sub in node.body for n in ast.walk(sub))
    base = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = base
                for _ in range(node.level - 1):
                    prefix = prefix.rpartition(".")[0]
                source = f"{prefix}.{node.module}" if node.module else prefix
            else:
                source = node.module or ""
            names = [
                f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source
                for a in node.names
            ]
        for name in names:
            target = _resolve(name)
            if target and target != module:
                targets.add(target)
    return targets


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles():
    """Strongly connected components with more than one module."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
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

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    assert _cycles() == []


def test_the_checker_sees_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, f"{PACKAGE}.types", {f"{PACKAGE}.core.policy"})
    monkeypatch.setitem(GRAPH, f"{PACKAGE}.core.policy", {f"{PACKAGE}.types"})
    assert [f"{PACKAGE}.core.policy", f"{PACKAGE}.types"] in _cycles()


def _reach(module):
    seen, todo = set(), [module]
    while todo:
        for target in GRAPH[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_types_imports_nothing_of_ours():
    assert GRAPH[f"{PACKAGE}.types"] == set()


def test_core_does_no_io():
    allowed = {f"{PACKAGE}.types", f"{PACKAGE}.conf", f"{PACKAGE}.defaults"}
    for module in MODULES:
        if module.startswith(f"{PACKAGE}.core"):
            outside = {t for t in _reach(module) if not t.startswith(f"{PACKAGE}.core")}
            assert outside <= allowed, (module, outside - allowed)


def test_services_never_import_an_engine():
    for module in MODULES:
        if module.startswith(f"{PACKAGE}.services"):
            engines = {t for t in _reach(module) if t.startswith(f"{PACKAGE}.backends")}
            assert engines == set(), (module, engines)


def test_no_module_over_400_lines():
    long = {
        module: n
        for module, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
