"""The package's layers, read from its imports: the method, then the pipeline, then the book, then the CLI.

Each wing imports only the wings below it, no import of the package hides inside a function, no two
modules import each other in a circle, and every module stays short enough to read (`cli.py` shorter
still: it parses, checks and calls the pipeline).
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "lucid_dreamer"
WINGS = {"method": 1, "pipeline": 2, "book": 3, "cli": 4}
"""Each wing's floor; the package's own `__init__` (its version, importing nothing) is the ground, 0."""
MAX_LINES = 400
MAX_CLI_LINES = 350


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int:
    """The floor of a package module (`lucid_dreamer.pipeline.grid` -> the pipeline's)."""
    parts = module.split(".")
    return WINGS.get(parts[1], 0) if len(parts) > 1 else 0


def package_imports(path: Path, tree: ast.Module | None = None) -> list[tuple[ast.stmt, list[str]]]:
    """Every import statement of the package in `path` (parsed as `tree`), with the package modules it names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree or ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.split(".")[0] == "lucid_dreamer"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            else:
                base = ""
            source = ".".join(p for p in (base, node.module or "") if p)
            if source.split(".")[0] != "lucid_dreamer":
                continue
            submodules = [f"{source}.{a.name}" for a in node.names if is_module(f"{source}.{a.name}")]
            targets = submodules or [source]
        else:
            continue
        if targets:
            found.append((node, targets))
    return found


def is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_each_wing_imports_only_the_wings_below_it():
    upward = []
    for path in modules():
        here = module_name(path)
        for node, targets in package_imports(path):
            upward += [f"{here}:{node.lineno} imports {t}" for t in targets if floor(t) > floor(here)]
    assert not upward, "imports from a lower wing to a higher one:\n" + "\n".join(upward)


def test_no_import_of_the_package_hides_inside_a_function():
    hidden = []
    for path in modules():
        tree = ast.parse(path.read_text())
        inside = {
            id(n)
            for f in ast.walk(tree)
            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
            for n in ast.walk(f)
            if isinstance(n, (ast.Import, ast.ImportFrom))
        }
        hidden += [f"{module_name(path)}:{n.lineno}" for n, _ in package_imports(path, tree) if id(n) in inside]
    assert not hidden, "imports of the package inside a function:\n" + "\n".join(hidden)


def test_no_modules_import_each_other_in_a_circle():
    graph = {module_name(p): {t for _, ts in package_imports(p) for t in ts} for p in modules()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target == module or target not in graph:
                continue
            if state.get(target) == 1:
                return path[path.index(target) :] + [target] if target in path else [module, target]
            if state.get(target) is None and (circle := visit(target, [*path, target])):
                return circle
        state[module] = 2
        return None

    for module in sorted(graph):
        if state.get(module) is None and (circle := visit(module, [module])):
            raise AssertionError("an import circle: " + " -> ".join(circle))


def test_every_module_is_short_enough_to_read():
    long = [
        f"{p.relative_to(PACKAGE.parent)}: {n}" for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, f"modules over {MAX_LINES} lines:\n" + "\n".join(long)


def test_the_cli_is_thin():
    lines = len((PACKAGE / "cli.py").read_text().splitlines())
    assert lines <= MAX_CLI_LINES, f"cli.py has {lines} lines, more than {MAX_CLI_LINES}"
