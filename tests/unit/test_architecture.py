"""The layering rules of docs/architecture.md, read from the source: who may import what."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "dashhub"

# Where each layer's modules live in the repository (layouts/ and callbacks/ ship as
# dashhub.layouts and dashhub.callbacks).
LAYERS = {
    "domain": PACKAGE / "domain",
    "figures": PACKAGE / "figures",
    "services": PACKAGE / "services",
    "layouts": ROOT / "layouts",
    "callbacks": ROOT / "callbacks",
}

DATABASE = ("sqlalchemy", "psycopg", "dashhub.db", "dashhub.services", "dashhub.container")
DASH_CODE = ("dash", "dash_bootstrap_components", "dash_ag_grid", "plotly", "dashhub.layouts")
APP_MACHINERY = ("dashhub.auth", "dashhub.jobs", "dashhub.export_jobs", "flask_login", "celery")

FORBIDDEN = {
    "layouts": DATABASE,
    "figures": (*DATABASE, *APP_MACHINERY, "dash", "dashhub.layouts", "dashhub.callbacks"),
    "services": (*DASH_CODE, *APP_MACHINERY, "dashhub.callbacks", "dashhub.figures", "dashhub.container"),
    "callbacks": ("sqlalchemy", "psycopg", "dashhub.db"),
}


def imported_modules(path: Path) -> set[str]:
    """Every module path imports, absolute (relative imports resolved against dashhub)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = "dashhub." + base if base else "dashhub"
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted(LAYERS[layer].glob("*.py")):
        for module in sorted(imported_modules(path)):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.name} imports {module}")
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_keeps_to_its_imports(layer):
    assert violations(layer, FORBIDDEN[layer]) == []


def test_the_domain_imports_nothing_but_the_standard_library_and_itself():
    stdlib = sys.stdlib_module_names
    bad = []
    for path in sorted(LAYERS["domain"].glob("*.py")):
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "__future__" or top in stdlib or module.startswith("dashhub.domain"):
                continue
            bad.append(f"{path.name} imports {module}")
    assert bad == []


def test_the_services_package_itself_wires_nothing():
    init = PACKAGE / "services" / "__init__.py"
    assert imported_modules(init) == set()


def test_the_rules_see_a_forbidden_import(tmp_path, monkeypatch):
    """The checker itself: a layout that reads the database is reported."""
    (tmp_path / "bad.py").write_text("from dashhub.services.sales import SalesService\nimport sqlalchemy\n")
    monkeypatch.setitem(LAYERS, "layouts", tmp_path)
    assert violations("layouts", FORBIDDEN["layouts"]) == [
        "bad.py imports dashhub.services.sales",
        "bad.py imports dashhub.services.sales.SalesService",
        "bad.py imports sqlalchemy",
    ]


def test_importing_the_figure_builders_loads_no_database_auth_or_jobs():
    """A pure figure builder is cheap to import: no SQLAlchemy, Flask-Login, job manager or hash."""
    probe = (
        "import sys, dashhub.figures.sales, dashhub.figures.hr, dashhub.domain.sales, dashhub.domain.hr\n"
        "heavy = ['sqlalchemy', 'flask_login', 'dashhub.services', 'dashhub.jobs', 'dashhub.auth',"
        " 'dashhub.container', 'celery', 'diskcache', 'dash']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
