"""The package's imports run one way: backend -> tensor -> autograd -> ops -> nn -> optim/data,
and no module wires another at run time.

Every ``import`` counts, at module level or inside a function (a lazy import is still a
dependency). A module may import from its own layer or the layers below it, never above, and
no set of modules imports itself round in a circle. No module assigns a global of another
(``other_module.name = ...``): state has one owner, changed through that owner's functions.
"""

from __future__ import annotations

import ast
import pathlib

import lucid

ROOT = pathlib.Path(lucid.__file__).parent

# lowest first; a module belongs to the layer with its longest matching prefix
LAYERS = [
    ("backend", ["lucid.dtypes", "lucid._backend", "lucid.version", "lucid.futures"]),
    ("device services", ["lucid.backends"]),
    ("tensor", ["lucid._tensor", "lucid._printing", "lucid._typeinfo", "lucid._interop", "lucid.return_types",
                "lucid.random", "lucid.cuda", "lucid.accelerator"]),  # random: Generator states are Tensors
    ("autograd", ["lucid.autograd"]),
    ("autocast", ["lucid.amp"]),
    ("ops", ["lucid.ops", "lucid.linalg", "lucid.autograd.functional", "lucid.fft", "lucid.special",
             "lucid.signal", "lucid.sparse", "lucid.library", "lucid.nested"]),
    ("distributed", ["lucid.distributed"]),
    ("nn", ["lucid.nn"]),
    ("distributions", ["lucid.distributions"]),
    ("optim, data, files", ["lucid.optim", "lucid.data", "lucid.serialization", "lucid.utils",
                            "lucid.distributed.optim", "lucid.func", "lucid.multiprocessing",
                            "lucid.hub"]),
    ("datasets", ["lucid.datasets"]),
    ("applications", ["lucid", "lucid.examples", "lucid._stubgen", "lucid._functional_aliases", "lucid.torch_compat",
                      "lucid.testing", "lucid._settings", "lucid._control_flow"]),
]


def _modules() -> dict[str, tuple[pathlib.Path, bool]]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ["lucid", *path.relative_to(ROOT).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imports(modules) -> dict[str, set[str]]:
    """module -> the lucid modules it imports (a ``from pkg import name`` names ``pkg.name`` when
    that is a module, else ``pkg``)."""
    edges = {}
    for name, (path, is_package) in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    targets.add(sub if sub in modules else source)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        edges[name] = {t for t in targets if t in modules and t != name}
    return edges


def _layer(module: str) -> int:
    """The index in LAYERS of the layer whose prefix matches ``module`` most closely."""
    matches = [(len(p), i) for i, (_, prefixes) in enumerate(LAYERS) for p in prefixes
               if module == p or module.startswith(p + ".")]
    assert matches, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return max(matches)[1]


def _cycles(edges) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, found, counter = {}, {}, set(), [], [], [0]
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def test_imports_form_no_circle():
    assert _cycles(_imports(_modules())) == []


def test_the_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_a_higher_layer():
    upward = [
        f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for module, targets in _imports(_modules()).items()
        for target in sorted(targets)
        if _layer(target) > _layer(module)
    ]
    assert upward == []


def _foreign_assignments(path: pathlib.Path) -> list[str]:
    """``module.name = ...`` (or ``+=``) statements in ``path`` whose ``module`` is an imported module."""
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.update(a.asname or a.name for a in node.names)
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id in imported:
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(t)} = ...")
    return found


def test_no_module_assigns_another_modules_globals():
    modules = _modules()
    assert [line for path, _ in modules.values() for line in _foreign_assignments(path)] == []


def test_the_assignment_finder_finds_one(tmp_path):
    source = tmp_path / "wiring.py"
    source.write_text("from lucid.autograd import function\nfunction.interceptors += (print,)\n")
    assert len(_foreign_assignments(source)) == 1
