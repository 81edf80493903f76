"""dashhub: interactive data and ML dashboards on Plotly Dash, run as a production web app."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dashhub")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
