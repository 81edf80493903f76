"""Vos données (/explore) through the app: the upload route (streamed, limited, CSRF, login), the
page's callbacks (dataset list, table pages, column summary), and no reach into another user's."""

from __future__ import annotations

import json

import pytest

from dashhub.callbacks import explore as explore_callbacks
from dashhub.layouts.explore import IDS
from dashhub.shell import PAGE_CONTENT, PAGE_ROUTE
from tests.conftest import session_of
from tests.support.dash_requests import callback_body, find_prop, page_body, stringify_id

CSV = "ville,ventes,jour\nLyon,10,2026-01-05\nParis,25.5,2026-01-06\nLyon,4,2026-01-07\nNice,,2026-01-08\n"


def csrf(client) -> str:
    layout = client.get("/_dash-layout").get_json()
    return find_prop(layout, "logout-csrf", "value")


def upload(client, content: bytes, name: str = "ventes.csv", token: str | None = None):
    return client.post(
        "/explore/upload",
        data=content,
        headers={"X-CSRFToken": token if token is not None else csrf(client), "X-Filename": name},
        content_type="application/octet-stream",
    )


def test_a_file_sent_is_typed_listed_paged_and_summarised(app):
    client = session_of(app, "viewer")
    answer = upload(client, CSV.encode())
    assert answer.status_code == 200, answer.get_json()
    sent = answer.get_json()
    assert (sent["rows"], sent["columns"], sent["rejected"]) == (4, 3, 0)
    page = client.post("/_dash-update-component", json=page_body("/explore", f"?dataset={sent['id']}"))
    drawn = page.get_json()["response"][PAGE_CONTENT]["children"]
    assert find_prop(drawn, IDS.DATASET, "value") == sent["id"]
    assert find_prop(drawn, IDS.COLUMN, "value") == "ville"
    chosen = choose(client, sent["id"]).get_json()["response"]
    grid = chosen[IDS.TABLE_SLOT]["children"]["props"]
    assert grid["id"] == IDS.TABLE and [c["field"] for c in grid["columnDefs"]] == ["ville", "ventes", "jour"]
    assert "Moins de deux colonnes numériques" in str(chosen[IDS.CORRELATIONS]["figure"])
    rows = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.TABLE, "getRowsResponse")],
            [
                (
                    IDS.TABLE,
                    "getRowsRequest",
                    {"startRow": 0, "endRow": 20, "sortModel": [{"colId": "ventes", "sort": "desc"}]},
                )
            ],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    ).get_json()["response"][IDS.TABLE]["getRowsResponse"]
    assert rows["rowCount"] == 4
    assert [r["ventes"] for r in rows["rowData"]] == [25.5, 10.0, 4.0, None]
    summary = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.NEW_TYPE, "value")],
            [(IDS.COLUMN, "value", "ventes"), (IDS.RETYPED, "data", None)],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    ).get_json()["response"]
    texts = str(summary[IDS.SUMMARY]["children"])
    assert "Manquantes" in texts or "Missing" in texts
    bars = summary[IDS.HISTOGRAM]["figure"]["data"][0]
    assert sum(bars["y"]) == 3  # (the three values; the empty cell is missing)
    towns = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.NEW_TYPE, "value")],
            [(IDS.COLUMN, "value", "ville"), (IDS.RETYPED, "data", None)],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    )
    assert towns.status_code == 200
    bars = towns.get_json()["response"][IDS.HISTOGRAM]["figure"]["data"][0]
    assert dict(zip(bars["y"], bars["x"], strict=True)) == {"Lyon": 2, "Paris": 1, "Nice": 1}
    days = client.post(
        "/_dash-update-component",
        json=callback_body(
            [(IDS.SUMMARY, "children"), (IDS.HISTOGRAM, "figure"), (IDS.NEW_TYPE, "value")],
            [(IDS.COLUMN, "value", "jour"), (IDS.RETYPED, "data", None)],
            [(IDS.DATASET, "value", sent["id"])],
        ),
    )
    assert days.status_code == 200
    assert sum(days.get_json()["response"][IDS.HISTOGRAM]["figure"]["data"][0]["y"]) == 4


def test_a_file_over_the_server_wide_body_limit_but_under_the_uploads_goes_in(app):
    client = session_of(app, "viewer")
    big = ("x,y\n" + "123456,abcdefgh\n" * 700_000).encode()  # (11 MB: server.max_request_mb is 10)
    answer = upload(client, big, name="big.csv")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["rows"] == 700_000


def test_uploads_are_refused_without_login_token_or_under_the_limit(app, anonymous, monkeypatch):
    assert anonymous.post("/explore/upload", data=b"a\n1\n").status_code == 401
    client = session_of(app, "analyst")
    assert upload(client, CSV.encode(), token="forged").status_code == 400
    monkeypatch.setattr(explore_callbacks, "MAX_UPLOAD_BYTES", 10)
    too_big = upload(client, CSV.encode())
    assert too_big.status_code == 413 and "Le fichier dépasse" in too_big.get_json()["error"]
    monkeypatch.undo()
    binary = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    # (said in the user's language: the session speaks French)
    assert binary.status_code == 400 and "le fichier est binaire" in binary.get_json()["error"]
    uploads = app.server.extensions["dashhub"].settings.data_dir / "uploads"
    assert not list(uploads.glob("*.upload"))


@pytest.mark.parametrize("forged", [999_999, 2**40, -1, "1", True, None])
def test_another_users_or_a_forged_dataset_id_reaches_nothing(app, forged):
    owner = session_of(app, "hr")
    mine = upload(owner, CSV.encode(), name="secret.csv").get_json()["id"]
    other = session_of(app, "viewer")
    for dataset in (mine, forged):
        answer = other.post(
            "/_dash-update-component",
            json=callback_body(
                [(IDS.TABLE, "getRowsResponse")],
                [(IDS.TABLE, "getRowsRequest", {"startRow": 0, "endRow": 20})],
                [(IDS.DATASET, "value", dataset)],
            ),
        )
        assert answer.status_code in (204, 400), (dataset, answer.status_code)
        assert "secret" not in answer.get_data(as_text=True) and "Lyon" not in answer.get_data(as_text=True)
    page = other.post("/_dash-update-component", json=page_body("/explore", f"?dataset={mine}"))
    assert "secret" not in page.get_data(as_text=True)


def choose(client, dataset, pending=None, trigger=IDS.DATASET):
    """The callback that follows a dataset chosen (or a chart asked for with it)."""
    outputs = [
        (IDS.COLUMN, "options"),
        (IDS.COLUMN, "value"),
        (IDS.TABLE_SLOT, "children"),
        (IDS.DETAILS, "children"),
        (IDS.CORRELATIONS, "figure"),
        *[(c, "options") for c in explore_callbacks.COLUMN_PICKERS],
        *[(c, "value") for c in explore_callbacks.CHART_CONTROLS],
        (IDS.SHARE, "value"),
        (IDS.SHARE, "disabled"),
    ]
    body = callback_body(
        outputs,
        [(IDS.DATASET, "value", dataset), (IDS.PENDING_CHART, "data", pending), (IDS.RETYPED, "data", None)],
        [(IDS.COLUMN, "value", None)],
    )
    body["changedPropIds"] = [f"{trigger}.{'value' if trigger == IDS.DATASET else 'data'}"]
    return client.post("/_dash-update-component", json=body)


def manage(client, trigger: str, dataset, new_name=None, example=None):
    body = callback_body(
        [
            (IDS.DATASET, "options"),
            (IDS.DATASET, "value"),
            (IDS.ACTION_STATUS, "children"),
            (IDS.NEW_NAME, "value"),
            (IDS.PENDING_CHART, "data"),
        ],
        [(trigger, "n_clicks", 1)],
        [(IDS.DATASET, "value", dataset), (IDS.NEW_NAME, "value", new_name), (IDS.EXAMPLE, "value", example)],
    )
    clicks = (IDS.RENAME, IDS.DELETE_CONFIRM, IDS.ADD_EXAMPLE, IDS.SEED_SCATTER)
    body["inputs"] = [{"id": IDS.UPLOADED, "property": "data", "value": None}] + [
        {"id": c, "property": "n_clicks", "value": 1 if trigger == c else None} for c in clicks
    ]
    body["changedPropIds"] = [f"{trigger}.n_clicks"]
    return client.post("/_dash-update-component", json=body)


CHART_OUTPUTS = [
    (IDS.CHART, "figure"),
    (IDS.CHART_HTML, "href"),
    (IDS.CHART_CSV, "href"),
    (IDS.CHART, "config"),
]


def controls(kind="bar", x=None, y=None, color=None, size=None, facet=None, agg="count", filters=()):
    values = [kind, x, y, color, size, facet, agg]
    for i in range(2):
        values += list(filters[i]) if i < len(filters) else [None, "=", ""]
    return values


def draw(client, dataset, values):
    body = callback_body(
        CHART_OUTPUTS,
        [(IDS.DATASET, "value", dataset), (IDS.RETYPED, "data", None)]
        + [(c, "value", v) for c, v in zip(explore_callbacks.CHART_CONTROLS, values, strict=True)],
    )
    return client.post("/_dash-update-component", json=body)


def address(client, dataset, column, values):
    body = callback_body(
        [(IDS.VIEW, "data")],
        [(IDS.DATASET, "value", dataset), (IDS.COLUMN, "value", column)]
        + [(c, "value", v) for c, v in zip(explore_callbacks.CHART_CONTROLS, values, strict=True)],
        [(PAGE_ROUTE, "data", 1234)],
    )
    return client.post("/_dash-update-component", json=body)


def test_the_chart_builder_draws_exports_and_keeps_the_chart_in_the_address(app):
    client = session_of(app, "viewer")
    sent = upload(client, CSV.encode()).get_json()["id"]
    values = controls("bar", x="ville", y="ventes", agg="sum")
    drawn = draw(client, sent, values)
    assert drawn.status_code == 200, drawn.get_data(as_text=True)
    answer = drawn.get_json()["response"]
    bars = answer[IDS.CHART]["figure"]["data"]
    assert {x: y for trace in bars for x, y in zip(trace["x"], trace["y"], strict=True)} == {
        "Lyon": 14.0,
        "Paris": 25.5,
        "Nice": None,
    }
    csv_href = answer[IDS.CHART_CSV]["href"]
    assert csv_href.startswith("/explore/chart.csv?dataset=")
    exported = client.get(csv_href)
    assert exported.status_code == 200 and exported.headers["Content-Disposition"].endswith('.csv"')
    lines = exported.get_data(as_text=True).splitlines()
    assert lines == ["ville,sum(ventes)", "Lyon,14.0", "Nice,", "Paris,25.5"]
    page = client.get(answer[IDS.CHART_HTML]["href"])
    assert page.status_code == 200 and b"Plotly.newPlot" in page.data and b"Lyon" in page.data
    search = address(client, sent, "ventes", values).get_json()["response"][stringify_id(IDS.VIEW)]["data"]
    assert search["search"] == f"?dataset={sent}&column=ventes&chart=bar&x=ville&y=ventes&agg=sum"
    assert search["at"] == 1234  # (the stamp of the route the page was drawn for)
    again = client.post("/_dash-update-component", json=page_body("/explore", search["search"]))
    drawn_again = again.get_json()["response"][PAGE_CONTENT]["children"]
    assert [find_prop(drawn_again, c, "value") for c in explore_callbacks.CHART_CONTROLS] == values
    refused = draw(client, sent, controls("scatter", x="ville")).get_json()["response"]
    assert "Choisissez la colonne de l’axe des y" in str(refused[IDS.CHART]["figure"])
    other = session_of(app, "analyst")
    assert other.get(csv_href).status_code == 404
    assert other.get(answer[IDS.CHART_HTML]["href"]).status_code == 404
    forged = draw(other, sent, values)
    assert forged.status_code == 400 and "Lyon" not in forged.get_data(as_text=True)
    assert draw(client, sent, controls("pie", x="ville")).status_code == 400
    assert draw(client, sent, [1, *values[1:]]).status_code == 400


def test_formula_cells_are_neutralised_in_the_charts_csv(app):
    client = session_of(app, "viewer")
    sent = upload(client, b"nom,n\n=1+2,1\n@SUM(A1),2\nplain,3\n").get_json()["id"]
    href = draw(client, sent, controls("bar", x="nom")).get_json()["response"][IDS.CHART_CSV]["href"]
    lines = client.get(href).get_data(as_text=True).splitlines()
    assert lines == ["nom,count", "'=1+2,1", "'@SUM(A1),1", "plain,1"]


def test_the_course_iris_scatter_is_one_click_away(app):
    client = session_of(app, "viewer")
    answer = manage(client, IDS.SEED_SCATTER, None).get_json()["response"]
    iris = answer[IDS.DATASET]["value"]
    pending = answer[IDS.PENDING_CHART]["data"]
    assert pending["dataset"] == iris
    chosen = choose(client, iris, pending, trigger=IDS.PENDING_CHART).get_json()["response"]
    values = [chosen[c]["value"] for c in explore_callbacks.CHART_CONTROLS]
    assert values[:7] == ["scatter", "sepal_width", "sepal_length", "species", "petal_length", None, "count"]
    figure = draw(client, iris, values).get_json()["response"][IDS.CHART]["figure"]
    assert {t["name"] for t in figure["data"]} == {"setosa", "versicolor", "virginica"}
    assert sum(len(t["x"]) for t in figure["data"]) == 150
    again = manage(client, IDS.SEED_SCATTER, iris).get_json()["response"]
    assert again[IDS.DATASET]["value"] == iris  # (the user's Iris again, not a second copy)
    wine = manage(client, IDS.ADD_EXAMPLE, iris, example="wine").get_json()["response"]
    assert wine[IDS.DATASET]["value"] != iris
    assert len(wine[IDS.DATASET]["options"]) == len(again[IDS.DATASET]["options"]) + 1
    assert manage(client, IDS.ADD_EXAMPLE, iris, example="../../etc").status_code == 400


def test_the_owner_renames_and_deletes_others_cannot(app):
    owner, other = session_of(app, "analyst"), session_of(app, "viewer")
    mine = upload(owner, CSV.encode(), name="brouillon.csv").get_json()["id"]
    renamed = manage(owner, IDS.RENAME, mine, "  Ventes   2026 ").get_json()["response"]
    assert renamed[IDS.ACTION_STATUS]["children"] == "Renommé « Ventes 2026 »."
    assert any(
        o["value"] == mine and o["label"].startswith("Ventes 2026") for o in renamed[IDS.DATASET]["options"]
    )
    refused = manage(other, IDS.DELETE_CONFIRM, mine)
    assert refused.status_code == 200
    assert "Seul son propriétaire" in refused.get_json()["response"][IDS.ACTION_STATUS]["children"]
    assert all(o["value"] != mine for o in refused.get_json()["response"][IDS.DATASET]["options"])
    deleted = manage(owner, IDS.DELETE_CONFIRM, mine).get_json()["response"]
    assert deleted[IDS.ACTION_STATUS]["children"] == "« Ventes 2026 » a été supprimé."
    assert all(o["value"] != mine for o in deleted[IDS.DATASET]["options"])


def share(client, dataset, role):
    body = callback_body(
        [(IDS.SHARE_STATUS, "children")], [(IDS.SHARE, "value", role)], [(IDS.DATASET, "value", dataset)]
    )
    return client.post("/_dash-update-component", json=body)


def test_share_with_a_role_then_the_role_reads_and_cannot_change_it(app):
    owner, reader = session_of(app, "hr"), session_of(app, "analyst")
    mine = upload(owner, CSV.encode(), name="partage.csv").get_json()["id"]
    shared = share(owner, mine, "analyst").get_json()["response"]
    assert "« analyst »" in shared[IDS.SHARE_STATUS]["children"]
    assert share(owner, mine, "analyst").status_code == 204  # (the dropdown set to what it is)
    seen = choose(reader, mine).get_json()["response"]
    assert seen[IDS.SHARE]["value"] == "analyst" and seen[IDS.SHARE]["disabled"] is True
    refused = share(reader, mine, "").get_json()["response"]
    assert "Seul son propriétaire" in refused[IDS.SHARE_STATUS]["children"]
    assert share(owner, mine, "root").status_code == 400
    share(owner, mine, "")
    assert choose(reader, mine).status_code == 400  # (no longer shared: as if it did not exist)


def retype(client, dataset, column, new_type, date_format=None):
    body = callback_body(
        [(IDS.RETYPE_STATUS, "children"), (IDS.RETYPED, "data")],
        [(IDS.RETYPE, "n_clicks", 1)],
        [
            (IDS.DATASET, "value", dataset),
            (IDS.COLUMN, "value", column),
            (IDS.NEW_TYPE, "value", new_type),
            (IDS.DATE_FORMAT, "value", date_format),
        ],
    )
    return client.post("/_dash-update-component", json=body)


def test_the_owner_corrects_a_type_and_nothing_is_lost(app):
    owner = session_of(app, "analyst")
    mine = upload(owner, b"code,jour\n01,03/01/2026\n02,15/02/2026\n10,28/02/2026\n").get_json()["id"]
    assert retype(owner, mine, "code", "text").get_json()["response"][IDS.RETYPED]["data"]["dataset"] == mine
    dates = retype(owner, mine, "jour", "datetime").get_json()["response"]
    assert "Le type n’a pas changé" in dates[IDS.RETYPE_STATUS]["children"] and IDS.RETYPED not in dates
    fixed = retype(owner, mine, "jour", "datetime", "%d/%m/%Y").get_json()["response"]
    assert "est maintenant de type « date » (3 valeurs)" in fixed[IDS.RETYPE_STATUS]["children"]
    figure = draw(owner, mine, controls("line", x="jour")).get_json()["response"][IDS.CHART]["figure"]
    assert sum(figure["data"][0]["y"]) == 3
    other = session_of(app, "viewer")
    assert "Seul son propriétaire" in retype(other, mine, "jour", "text").get_data(as_text=True)


def saved(client, dataset, trigger, name=None, search=None, deletes=()):
    body = callback_body(
        [(IDS.SAVED, "children"), (IDS.SAVE_STATUS, "children"), (IDS.SAVE_NAME, "value")],
        [(IDS.DATASET, "value", dataset), (IDS.SAVE, "n_clicks", 1 if trigger == IDS.SAVE else None)],
        [(IDS.SAVE_NAME, "value", name), (IDS.VIEW, "data", {"search": search} if search else None)],
    )
    body["inputs"].append(
        [
            {"id": {"type": IDS.SAVED_DELETE, "index": i}, "property": "n_clicks", "value": n}
            for i, n in deletes
        ]
    )
    body["changedPropIds"] = [
        f"{stringify_id(trigger)}.n_clicks" if trigger != IDS.DATASET else f"{IDS.DATASET}.value"
    ]
    return client.post("/_dash-update-component", json=body)


def test_a_chart_is_saved_listed_reopened_and_deleted_by_its_owner_only(app):
    owner = session_of(app, "viewer")
    mine = upload(owner, CSV.encode()).get_json()["id"]
    search = f"?dataset={mine}&chart=bar&x=ville&y=ventes&agg=sum"
    answer = saved(owner, mine, IDS.SAVE, "Ventes par ville", search).get_json()["response"]
    assert answer[IDS.SAVE_STATUS]["children"] == "Enregistré sous « Ventes par ville »."
    assert f'"href": "/explore?dataset={mine}&chart=bar&x=ville' in json.dumps(answer[IDS.SAVED])
    reopened = owner.post("/_dash-update-component", json=page_body("/explore", search))
    drawn = reopened.get_json()["response"][PAGE_CONTENT]["children"]
    assert find_prop(drawn, IDS.CHART_Y, "value") == "ventes"
    refused = saved(owner, mine, IDS.SAVE, "  ", search).get_json()["response"]
    assert refused[IDS.SAVE_STATUS]["children"] == "Tapez d’abord un nom pour le graphique."
    listed = saved(owner, mine, IDS.DATASET).get_json()["response"][IDS.SAVED]["children"]
    chart_id = listed["props"]["children"][0]["props"]["children"][1]["props"]["id"]["index"]
    intruder = session_of(app, "analyst")
    trigger = {"type": IDS.SAVED_DELETE, "index": chart_id}
    assert saved(intruder, mine, trigger, deletes=[(chart_id, 1)]).status_code == 400
    gone = saved(owner, mine, trigger, deletes=[(chart_id, 1)]).get_json()["response"]
    assert gone[IDS.SAVE_STATUS]["children"] == "« Ventes par ville » a été supprimé."
    assert "Aucun graphique enregistré" in str(gone[IDS.SAVED]["children"])


def rows_of(client, dataset, filter_model):
    body = callback_body(
        [(IDS.TABLE, "getRowsResponse")],
        [(IDS.TABLE, "getRowsRequest", {"startRow": 0, "endRow": 20, "filterModel": filter_model})],
        [(IDS.DATASET, "value", dataset)],
    )
    return client.post("/_dash-update-component", json=body)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"ville": {"filterType": "text", "type": "contains", "filter": "LY"}}, [10.0, 4.0]),
        ({"ville": {"filterType": "text", "type": "notEqual", "filter": "Lyon"}}, [25.5, None]),
        ({"ventes": {"filterType": "number", "type": "greaterThanOrEqual", "filter": 10}}, [10.0, 25.5]),
        (
            {"jour": {"filterType": "date", "type": "greaterThan", "dateFrom": "2026-01-06 00:00:00"}},
            [4.0, None],
        ),
        (
            {
                "ville": {"filterType": "text", "type": "equals", "filter": "Lyon"},
                "ventes": {"filterType": "number", "type": "lessThan", "filter": 5},
            },
            [4.0],
        ),
    ],
)
def test_the_tables_column_filters_are_answered_by_the_server(app, model, expected):
    client = session_of(app, "viewer")
    sent = upload(client, CSV.encode()).get_json()["id"]
    answer = rows_of(client, sent, model).get_json()["response"][IDS.TABLE]["getRowsResponse"]
    assert [r["ventes"] for r in answer["rowData"]] == expected and answer["rowCount"] == len(expected)


@pytest.mark.parametrize(
    "model",
    [
        {"ville": {"filterType": "text", "type": "startsWith", "filter": "L"}},
        {"ventes": {"filterType": "number", "type": "equals", "filter": "dix"}},
        {"nope": {"filterType": "text", "type": "equals", "filter": "x"}},
        {"ville": "x"},
        ["ville"],
    ],
)
def test_forged_table_filters_are_refused(app, model):
    client = session_of(app, "viewer")
    sent = upload(client, CSV.encode()).get_json()["id"]
    assert rows_of(client, sent, model).status_code == 400
