"""The engine's architecture, checked from its source with ``ast`` (issue 11).

- the packages follow the pipeline: a module imports only from its own layer or
  the layers below it (``LAYERS``), so results never import an estimator;
- no import cycles between modules;
- no module-private name (``_x``) is imported from another module;
- no import inside a function, unless a comment on that line says why
  (``# lazy: ...``, e.g. an optional dependency or start-up cost);
- no function longer than ``MAX_LINES`` lines of code (docstring aside).
"""
from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "python" / "torchfit"

#: the pipeline, lowest first: each entry is the first component of a module's
#: name inside torchfit (a package or a top-level module); a module may import from
#: its own layer and any layer before it, never from a later one.
LAYERS = [
    {"errors", "version", "options"},
    {"distributed"},
    {"model", "datasets"},
    {"data"},
    {"estimate"},
    {"inference"},
    {"results"},
    {"iwave", "ordinal"},
    {"estimators"},
    {"api"},
    {"efa"},
    {"bridge"},
    {"__init__"},
]

#: the longest function allowed, in lines of code (docstring, comments and blank
#: lines not counted)
MAX_LINES = 80


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def resolve(name: str, node: ast.ImportFrom) -> list:
    """The torchfit modules that ``node`` (in module ``name``) imports, with the names."""
    if node.level == 0:
        if not (node.module or "").startswith("torchfit"):
            return []
        base = node.module.split(".")[1:]
    else:
        here = name.split(".") if is_package(name) else name.split(".")[:-1]
        if name == "__init__":
            here = []
        base = here[:len(here) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    target = ".".join(base) or "__init__"
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}" if target != "__init__" else alias.name
        if sub in MODULES:  # `from . import report`: the module itself
            out.append((sub, None))
        else:
            out.append((target, alias.name))
    return out


def imports(name: str):
    """(imported module, imported name or None, node, inside a function) of ``name``."""
    tree = ast.parse(MODULES[name].read_text())
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                for target, what in resolve(name, child):
                    found.append((target, what, child, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("torchfit."):
                        found.append((alias.name[len("torchfit."):], None, child, in_function))
            visit(child, inner)

    visit(tree, False)
    return found


def layer(name: str) -> int:
    head = name.split(".")[0]
    for i, names in enumerate(LAYERS):
        if head in names:
            return i
    raise AssertionError(f"module torchfit.{name} is in no layer of LAYERS: add it there")


def graph() -> dict:
    return {name: {t for t, _, _, _ in imports(name) if t in MODULES and t != name}
            for name in MODULES}


def test_every_module_has_a_layer():
    for name in MODULES:
        layer(name)


def test_no_upward_imports():
    bad = [f"torchfit.{name} (layer {layer(name)}) imports torchfit.{target} "
           f"(layer {layer(target)})"
           for name in MODULES for target, _, _, _ in imports(name)
           if target in MODULES and layer(target) > layer(name)]
    assert not bad, "\n".join(bad)


def find_cycle(edges: dict):
    """A cycle of ``edges`` as a list of modules, or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(edges):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_private_names_across_modules():
    bad = [f"torchfit.{name} line {node.lineno} imports {what} from torchfit.{target}"
           for name in MODULES for target, what, node, _ in imports(name)
           if what and what.startswith("_") and not what.startswith("__") and target != name]
    assert not bad, "\n".join(bad)


def line_comments(path: Path) -> dict:
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string
    return out


def test_no_hidden_imports_in_functions():
    bad = []
    for name, path in MODULES.items():
        comments = line_comments(path)
        for target, _, node, in_function in imports(name):
            if in_function and "lazy:" not in comments.get(node.lineno, ""):
                bad.append(f"torchfit.{name} line {node.lineno} imports torchfit.{target} "
                           "inside a function (import it at the top, or say why with "
                           "'# lazy: ...')")
    assert not bad, "\n".join(bad)


def code_lines(node: ast.AST, comment_lines: set, blank: set) -> int:
    """Lines of ``node`` that hold code: its span less its docstring, its comment-only
    and blank lines."""
    lines = set(range(node.lineno, node.end_lineno + 1)) - comment_lines - blank
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        lines -= set(range(body[0].lineno, body[0].end_lineno + 1))
    return len(lines)


def long_functions(max_lines: int = MAX_LINES) -> list:
    out = []
    for name, path in MODULES.items():
        text = path.read_text()
        source = text.splitlines()
        blank = {i for i, line in enumerate(source, 1) if not line.strip()}
        comment_only = {i for i, line in enumerate(source, 1) if line.strip().startswith("#")}
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = code_lines(node, comment_only, blank)
                if n > max_lines:
                    out.append(f"torchfit.{name}.{node.name} (line {node.lineno}): {n} lines")
    return out


def test_functions_are_short():
    bad = long_functions()
    assert not bad, f"functions over {MAX_LINES} lines of code:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", ["api", "bridge", "errors"])
def test_top_level_modules_stay(name):
    assert name in MODULES
