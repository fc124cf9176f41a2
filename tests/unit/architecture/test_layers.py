"""The architecture's rules, read from the source (docs/architecture.md, "The rooms"):

- the platform (ecp.web, ecp.db, ecp.settings...) never imports a feature;
- feature packages import one another without a cycle, never another's routes module and
  never a private name of another module;
- nothing finds a feature by its module name (every feature is imported by name in app.py,
  cli.py, ops/jobs.py and demo/seed.py, so renaming a module fails at import, loudly).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import ecp

PACKAGE = Path(ecp.__file__).parent
NOT_CODE = {"migrations", "static", "templates", "__pycache__"}
FEATURES = sorted(
    p.name
    for p in PACKAGE.iterdir()
    if p.is_dir() and p.name not in NOT_CODE and (p / "__init__.py").exists() and p.name != "web"
)
# Modules every layer may use: they import no feature (checked below).
PLATFORM_MODULES = sorted(
    p.stem
    for p in PACKAGE.glob("*.py")
    if p.stem not in {"__init__", "app", "asgi", "cli", "piccolo_app", "piccolo_conf"}
)


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if parts[0] in NOT_CODE:
            continue
        yield path, parts


def _imports(path: Path):
    """(module imported, names imported from it) for every absolute import of ecp.*."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("ecp.") or node.module == "ecp":
                yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("ecp."):
                    yield alias.name, []


def _owner(parts: tuple[str, ...]) -> str:
    """The feature package a module belongs to, or 'platform'."""
    if len(parts) > 1 and parts[0] in FEATURES:
        return parts[0]
    if parts[0] == "web" or (len(parts) == 1 and Path(parts[0]).stem in PLATFORM_MODULES):
        return "platform"
    return "composition"  # app.py, cli.py, asgi.py, piccolo_app.py: they wire features


def _target(module: str, names: list[str]) -> list[str]:
    """Feature packages an import reaches ('from ecp import booking' reaches booking)."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in FEATURES:
        return [parts[1]]
    if module == "ecp":
        return [name for name in names if name in FEATURES]
    return []


def test_the_feature_list_is_what_the_package_holds():
    assert {"booking", "invoices", "payments", "auth", "families", "commune", "backoffice"} <= set(
        FEATURES
    )
    assert "staff" not in FEATURES  # the back office is named for what it is


def test_the_platform_imports_no_feature():
    offenders = [
        f"{'/'.join(parts)} imports {module}"
        for path, parts in _modules()
        if _owner(parts) == "platform"
        for module, names in _imports(path)
        if _target(module, names)
    ]
    assert offenders == []


def test_feature_packages_form_no_import_cycle():
    graph: dict[str, set[str]] = {feature: set() for feature in FEATURES}
    for path, parts in _modules():
        owner = _owner(parts)
        if owner not in graph:
            continue
        for module, names in _imports(path):
            graph[owner].update(t for t in _target(module, names) if t != owner)
    try:
        order = list(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        raise AssertionError(f"import cycle between feature packages: {error.args[1]}") from None
    # The shared layer comes first: the tables every feature builds on import no feature above.
    assert order.index("commune") < order.index("families") < order.index("auth")
    assert graph["commune"] == set() and graph["families"] <= {"commune"}


def test_no_module_imports_another_packages_routes_or_private_names():
    offenders = []
    for path, parts in _modules():
        owner = _owner(parts)
        for module, names in _imports(path):
            reached = _target(module, names)
            other = reached and reached[0] != owner
            if other and owner != "composition" and "routes" in module.rsplit(".", 1)[-1]:
                offenders.append(f"{'/'.join(parts)} imports the routes of {module}")
            if module != f"ecp.{'.'.join(parts)[:-3]}":
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                if private:
                    offenders.append(f"{'/'.join(parts)} imports {private} from {module}")
    assert offenders == []


def test_nothing_finds_a_module_by_its_name():
    offenders = []
    for path, parts in _modules():
        source = path.read_text()
        for needle in ("find_spec", "import_module", "__import__("):
            if needle in source:
                offenders.append(f"{'/'.join(parts)} uses {needle}")
    assert offenders == []


def test_the_architecture_test_sees_real_imports():
    """A check of the checker: a known import edge and a known platform module are seen."""
    booking_imports = {module for module, _ in _imports(PACKAGE / "booking" / "services.py")}
    assert any(m.startswith("ecp.families") for m in booking_imports)
    assert "db" in PLATFORM_MODULES and "settings" in PLATFORM_MODULES
