"""dashhub: interactive data and ML dashboards on Plotly Dash, run as a production web app."""

import os
from importlib.metadata import PackageNotFoundError, version

# One thread per process for the numeric libraries (OpenMP, BLAS), set before any of them loads:
# gunicorn already runs a process per core, and a background job is a fork of a worker — an OpenMP
# pool that existed before the fork hangs the child on its first parallel loop (k-NN predict did).
# One thread also keeps every result identical whatever the host.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

try:
    __version__ = version("dashhub")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
