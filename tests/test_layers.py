"""The root modules keep the layer order import-linter checks for the packages (it cannot check
single-file modules): cli → app → composition → the packages → settings; cli → supervision;
cli → recovery → composition; cli → observability → settings."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schema", "resolvers", "jobs", "services", "relational", "graph", "analytics", "auth")
# What each root module may import from the project.
ALLOWED = {
    "cli": {"app", "composition", "drill", "observability", "recovery", "settings",
            "supervision", *PACKAGES},
    "drill": {"recovery", "composition", "settings", *PACKAGES},
    "recovery": {"composition", "settings", *PACKAGES},
    "observability": {"settings"},
    "app": {"composition", "settings", *PACKAGES},
    "composition": {"settings", "jobs", "services", "relational", "graph", "auth", "analytics"},
    "settings": set(),
    "supervision": set(),
}
PROJECT = {*ALLOWED, *PACKAGES}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def test_root_modules_import_only_what_is_below_them() -> None:
    wrong = {name: sorted(_imports(ROOT / f"{name}.py") - allowed - {name})
             for name, allowed in ALLOWED.items()}
    assert {name: found for name, found in wrong.items() if found} == {}


def test_no_package_imports_a_root_module_but_settings() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)} imports {sorted(used)}"
        for package in PACKAGES for path in (ROOT / package).rglob("*.py")
        if (used := _imports(path) & {"cli", "app", "composition"}))
    assert offenders == []
