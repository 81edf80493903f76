"""The partial plotly.js bundle: the plotly.js plotly.py expects, with every trace the charts draw."""

from __future__ import annotations

import ast
from pathlib import Path

from plotly.offline import get_plotlyjs_version

from dashhub.plotly_bundle import BUNDLE, bundle_version, bundled_trace_types

FIGURES = Path(__file__).resolve().parents[2] / "src" / "dashhub" / "figures"


def _trace_types_in_source() -> set[str]:
    """Every {"type": …} dict literal in the figure modules that also has x, y or z: a trace."""
    found = set()
    for path in FIGURES.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Dict):
                continue
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if "type" in keys and keys & {"x", "y", "z"} and not keys & {"buttons", "steps"}:  # (menus)
                value = node.values[[getattr(k, "value", None) for k in node.keys].index("type")]
                assert isinstance(value, ast.Constant), f"{path.name}: a trace type that is not a literal"
                found.add(value.value)
    return found


def test_the_bundle_is_the_plotly_js_that_plotly_py_ships():
    assert bundle_version() == get_plotlyjs_version(), "run scripts/vendor_js.sh after upgrading plotly"


def test_every_trace_type_the_charts_draw_is_in_the_bundle():
    used = _trace_types_in_source()
    assert {"scatter", "bar", "heatmap"} <= used  # (the scan finds the traces)
    assert used <= bundled_trace_types(), used - bundled_trace_types()


def test_the_bundle_is_a_third_of_the_full_one():
    assert BUNDLE.stat().st_size < 2_000_000
