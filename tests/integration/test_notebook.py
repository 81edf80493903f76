"""docs/notebooks/dashboards-in-jupyter.ipynb, executed top to bottom in a real kernel (nbclient), and
its outputs checked against the notebook's own database read with plain SQL; NotebookServer's
framing headers and its loopback-only rule."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import sqlite3
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "notebooks" / "dashboards-in-jupyter.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def _stdout(cell) -> str:
    return "".join(o["text"] for o in cell.outputs if o["output_type"] == "stream" and o["name"] == "stdout")


def _figure(cell) -> dict:
    figures = [o["data"][PLOTLY] for o in cell.outputs if PLOTLY in o.get("data", {})]
    assert len(figures) == 1, f"cell {cell.metadata.tags}: {len(figures)} figures"
    figure = figures[0]
    return json.loads(figure) if isinstance(figure, str) else figure


def _bars(figure: dict) -> list[dict]:
    return [trace for trace in figure["data"] if trace["type"] == "bar"]


def _bar_sum(figure: dict) -> float:
    return sum(y for trace in _bars(figure) for y in trace["y"])


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after a run in a kernel of this virtualenv, its working and temporary folders
    of its own, and the data folder it made."""
    root = tmp_path_factory.mktemp("notebook")
    work, tmp, jupyter = root / "work", root / "tmp", root / "jupyter"
    work.mkdir()
    tmp.mkdir()
    # A "python3" kernel spec that runs this interpreter (where dashhub is installed), found first.
    write_kernel_spec(path=str(jupyter / "kernels" / "python3"))
    environ = {name: value for name, value in os.environ.items() if not name.startswith("DASHHUB_")}
    environ.update(JUPYTER_PATH=str(jupyter), TMPDIR=str(tmp), IPYTHONDIR=str(root / "ipython"))
    environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # (the notebook sets its own)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name not in environ:
                patch.delenv(name)
        for name, value in environ.items():
            patch.setenv(name, value)
        client = NotebookClient(
            notebook,
            timeout=180,  # per cell; `dashhub init --demo` takes about 20 s
            kernel_name="python3",
            resources={"metadata": {"path": str(work)}},
        )
        client.execute()  # raises CellExecutionError at the first failing cell; shuts the kernel down
    cells = {cell.metadata["tags"][0]: cell for cell in notebook.cells if cell.cell_type == "code"}
    folder = Path(re.search(r"^Data folder: (.+)$", _stdout(cells["setup"]), re.M).group(1))
    return cells, folder, tmp


@pytest.fixture(scope="module")
def database(executed):
    """The notebook's database, read with the standard library's sqlite3 (not the app's code)."""
    _, folder, _ = executed
    conn = sqlite3.connect(folder / "dashhub.db")
    yield conn
    conn.close()


def test_the_committed_notebook_has_no_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
            assert cell.metadata.get("tags"), f"an untagged cell: {cell.source[:60]}"


def test_every_cell_ran_without_an_error(executed):
    cells, folder, tmp = executed
    for tag, cell in cells.items():
        assert cell.execution_count is not None, tag
        assert not [o for o in cell.outputs if o["output_type"] == "error"], tag
        stderr = "".join(o["text"] for o in cell.outputs if o.get("name") == "stderr")
        assert "Traceback" not in stderr, (tag, stderr)
    # a throwaway database, in the kernel's temporary folder
    assert folder.parent == tmp and (folder / "dashhub.db").is_file()


def test_the_iframe_shows_the_running_server_which_answered_then_stopped(executed):
    cells, _, _ = executed
    served = _stdout(cells["server"])
    health = re.search(r"^GET http://127\.0\.0\.1:(\d+)/health -> (\d+)$", served, re.M)
    assert health, served
    port, status = int(health.group(1)), int(health.group(2))
    assert status == 200
    # a dashboard without a session: the login page first
    assert f"GET http://127.0.0.1:{port}/sales -> 302 /login?next=%2Fsales" in served

    html = [o["data"]["text/html"] for o in cells["iframe"].outputs if "text/html" in o.get("data", {})]
    assert len(html) == 1
    src = re.search(r'<iframe[^>]*\ssrc="([^"]+)"', html[0]).group(1)
    assert src == f"http://127.0.0.1:{port}/sales"
    assert re.search(r"^Log in as admin, password: \S{12,}$", _stdout(cells["iframe"]), re.M)

    assert _stdout(cells["stop"]).strip() == "Server stopped: True"
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_the_sales_charts_hold_the_database_sums(executed, database):
    cells, _, _ = executed
    total, rows = database.execute("SELECT SUM(amount), COUNT(*) FROM sales").fetchone()
    assert rows == 11_696  # the demo data: two years × 4 regions × 4 products, a row a day

    assert f"Total: {total:,.2f} €, best region: Nord" in _stdout(cells["sales-trend"])
    trend = _figure(cells["sales-trend"])
    assert {t["name"] for t in trend["data"] if t.get("meta") == "weeks"} == {"Nord", "Sud", "Est", "Ouest"}
    assert trend["layout"]["title"]["text"] == "Évolution des ventes par région"  # LOCALE = "fr"

    monthly = _figure(cells["sales-monthly"])
    assert {t["name"] for t in _bars(monthly)} == {"Nord", "Sud", "Est", "Ouest"}
    assert len(monthly["data"][0]["x"]) == 24  # every month of 2024 and 2025
    assert _bar_sum(monthly) == pytest.approx(total, abs=0.01)

    filtered_total = database.execute(
        "SELECT SUM(amount) FROM sales WHERE region IN ('Nord', 'Sud') AND date >= '2025-01-01'"
    ).fetchone()[0]
    filtered = _figure(cells["sales-filtered"])
    assert {t["name"] for t in _bars(filtered)} == {"Nord", "Sud"}
    assert min(x for t in _bars(filtered) for x in t["x"]) == "2025-01-01"
    assert _bar_sum(filtered) == pytest.approx(filtered_total, abs=0.01)
    assert filtered_total < total / 2


def test_the_salary_histogram_counts_every_employee(executed, database):
    cells, _, _ = executed
    count, mean_salary = database.execute("SELECT COUNT(*), AVG(salary) FROM employees").fetchone()
    assert count == 2000
    assert f"{count} employees, mean salary {mean_salary:,.0f} €" in _stdout(cells["hr-salary"])
    histogram = _figure(cells["hr-salary"])
    assert _bar_sum(histogram) == count
    departments = {row[0] for row in database.execute("SELECT DISTINCT department FROM employees")}
    assert {t["name"] for t in _bars(histogram)} == departments


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_notebook_server_lets_only_loopback_pages_frame_the_app(demo_app):
    from dashhub.notebook import NotebookServer

    with pytest.raises(ValueError, match="loopback"):
        NotebookServer(demo_app, host="0.0.0.0")

    with NotebookServer(demo_app) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/login", headers={"Accept": "text/html"})
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200
        assert response.getheader("X-Frame-Options") is None
        policy = response.getheader("Content-Security-Policy")
        assert "frame-ancestors http://127.0.0.1:* http://localhost:*" in policy
        assert "'none'" not in policy.split("frame-ancestors")[1].split(";")[0]
        assert "default-src 'self'" in policy  # the rest of the policy is the app's
    assert not server.running

    # The app itself still forbids every frame (the notebook server's wrapper changed nothing in it).
    client = demo_app.server.test_client()
    assert client.get("/login").headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in client.get("/login").headers["Content-Security-Policy"]
