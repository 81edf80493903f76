"""plotly.js, the part the charts use.

Every chart is a scatter, bar or heatmap trace, so the pages load plotly.js's "cartesian" partial
bundle (1.5 MB, 0.5 MB gzipped; scripts/vendor_js.sh fetches it at the version plotly.py ships)
instead of the full one (4.8 MB, 1.5 MB gzipped). Dash's renderer asks for plotly.js at one fixed
address; that address serves the partial bundle, with an ETag (it is not fingerprinted).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flask import Flask, Response, request

BUNDLE = Path(__file__).parent / "vendor" / "plotly-cartesian.min.js"
DASH_PLOTLY_PATH = "/_dash-component-suites/plotly/package_data/plotly.min.js"


@cache
def bundled_trace_types() -> frozenset[str]:
    """The trace types the partial bundle registers."""
    return frozenset(re.findall(r'moduleType:"trace",name:"(\w+)"', BUNDLE.read_text()))


@cache
def _bundle_bytes() -> bytes:
    return BUNDLE.read_bytes()


@cache
def bundle_version() -> str:
    """The plotly.js version written in the bundle's header."""
    match = re.search(r"plotly\.js \(cartesian - minified\) v(\S+)", BUNDLE.read_text()[:300])
    return match.group(1) if match else ""


def install_partial_plotly(server: Flask, prefix: str) -> None:
    """Serve the partial bundle where Dash's renderer looks for plotly.js."""
    path = prefix + DASH_PLOTLY_PATH

    @server.before_request
    def partial_plotly():
        if request.path == path and request.method in ("GET", "HEAD"):
            response = Response(_bundle_bytes(), mimetype="text/javascript")
            response.add_etag()  # (of the content: the same on every worker and host)
            response.headers["Cache-Control"] = "no-cache"  # revalidated with its ETag: 304
            return response.make_conditional(request)
        return None
