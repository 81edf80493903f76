"""Explorateur ML figures: confusion matrix, ROC curves, importance, cross-validation folds, class
balance, feature distributions and the decision boundary. Plain dicts from shaped results."""

from __future__ import annotations

import itertools

from dashhub.domain.ml import Boundary, Distribution, ExplorerResult, Importance
from dashhub.figures.common import PALETTE, Figure, base_layout, colour_map, empty_figure
from dashhub.i18n import N_, fmt_number, gettext

HOVER_WORDS = (N_("True class"), N_("Predicted class"), N_("Rows"), N_("Fold"), N_("Accuracy"))
MAX_BARS = 15


def _t(locale: str):
    return lambda message: gettext(message, locale)


def confusion_figure(result: ExplorerResult, locale: str) -> Figure:
    """Test rows by true class (rows) and predicted class (columns), counts written in the cells."""
    t = _t(locale)
    classes = result.info.classes
    z = result.confusion
    largest = max((max(row) for row in z), default=0) or 1
    trace = {
        "type": "heatmap",
        "x": classes,
        "y": classes,
        "z": z,
        # white (no row) to deep blue (most rows); counts are written on every cell
        "colorscale": [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
        "showscale": False,
        "xgap": 2,
        "ygap": 2,
        "hovertemplate": f"{t('True class')}: %{{y}}<br>{t('Predicted class')}: %{{x}}<br>"
        f"{t('Rows')}: %{{z}}<extra></extra>",
    }
    annotations = [
        {
            "x": classes[j],
            "y": classes[i],
            "text": str(count),
            "showarrow": False,
            "font": {"color": "#ffffff" if count > largest * 0.5 else "#212529", "size": 14},
        }
        for i, row in enumerate(z)
        for j, count in enumerate(row)
    ]
    layout = base_layout(
        t("Confusion matrix (test rows)"),
        locale,
        showlegend=False,
        annotations=annotations,
        xaxis={"title": {"text": t("Predicted class")}, "type": "category", "side": "bottom"},
        yaxis={"title": {"text": t("True class")}, "type": "category", "autorange": "reversed"},
    )
    return {"data": [trace], "layout": layout}


def roc_figure(result: ExplorerResult, locale: str) -> Figure:
    """One ROC curve per class against the others, its AUC in the legend, the chance line."""
    t = _t(locale)
    title = t("ROC curves, one class against the others")
    if not result.roc:
        return empty_figure(title, t("The test rows hold a single class: no ROC curve."), locale)
    colours = colour_map(result.info.classes)
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{curve.label} (AUC {fmt_number(curve.auc, 3, locale)})",
            "x": curve.fpr,
            "y": curve.tpr,
            "line": {"color": colours[curve.label], "width": 2},
            "hovertemplate": f"{curve.label}<br>FPR %{{x:.2f}} · TPR %{{y:.2f}}<extra></extra>",
        }
        for curve in result.roc
    ]
    traces.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": t("chance"),
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#adb5bd", "dash": "dash", "width": 1},
            "hoverinfo": "skip",
        }
    )
    layout = base_layout(
        title,
        locale,
        xaxis={"title": {"text": t("False positive rate")}, "range": [0, 1]},
        yaxis={"title": {"text": t("True positive rate")}, "range": [0, 1.02]},
    )
    return {"data": traces, "layout": layout}


IMPORTANCE_TITLES = {
    "impurity": N_("Feature importance (mean decrease in impurity)"),
    "coefficients": N_("Feature importance (|coefficient| on standardised features)"),
    "permutation": N_("Feature importance (accuracy lost when the feature is shuffled)"),
}


def importance_figure(importance: Importance | None, locale: str) -> Figure:
    """The most important features first, as horizontal bars (with the spread of the repeats)."""
    t = _t(locale)
    if importance is None:
        return empty_figure(t("Feature importance"), t("Computing…"), locale)
    features = importance.features[:MAX_BARS][::-1]
    values = importance.values[:MAX_BARS][::-1]
    trace = {
        "type": "bar",
        "orientation": "h",
        "x": [round(v, 5) for v in values],
        "y": features,
        "marker": {"color": PALETTE[0]},
        "hovertemplate": "%{y}: %{x:.4f}<extra></extra>",
    }
    if importance.spread is not None:
        trace["error_x"] = {
            "type": "data",
            "array": [round(s, 5) for s in importance.spread[:MAX_BARS][::-1]],
            "color": "#495057",
            "thickness": 1.2,
        }
    layout = base_layout(
        t(IMPORTANCE_TITLES[importance.kind]),
        locale,
        showlegend=False,
        margin={"l": 160, "r": 16, "t": 72, "b": 48},
        yaxis={"type": "category", "automargin": True},
    )
    return {"data": [trace], "layout": layout}


def cv_figure(result: ExplorerResult, locale: str) -> Figure:
    """Accuracy on each fold, its mean, and the single split's accuracy for comparison."""
    t = _t(locale)
    title = t("Cross-validated accuracy by fold")
    if not result.cv_scores:
        return empty_figure(title, t("Cross-validation is off."), locale)
    folds = [str(i + 1) for i in range(len(result.cv_scores))]
    mean = result.cv_mean
    traces = [
        {
            "type": "bar",
            "name": t("Fold"),
            "x": folds,
            "y": [round(s, 4) for s in result.cv_scores],
            "marker": {"color": PALETTE[5]},
            "hovertemplate": f"{t('Fold')} %{{x}}: %{{y:.3f}}<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": t("mean {value}").format(value=fmt_number(mean, 3, locale)),
            "x": [folds[0], folds[-1]],
            "y": [mean, mean],
            "line": {"color": PALETTE[3], "dash": "dash"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": t("single split {value}").format(value=fmt_number(result.accuracy, 3, locale)),
            "x": [folds[0], folds[-1]],
            "y": [result.accuracy, result.accuracy],
            "line": {"color": "#212529", "dash": "dot"},
        },
    ]
    lowest = min(min(result.cv_scores), result.accuracy)
    layout = base_layout(
        title,
        locale,
        xaxis={"title": {"text": t("Fold")}, "type": "category"},
        yaxis={"title": {"text": t("Accuracy")}, "range": [max(0, lowest - 0.05), 1.0]},
    )
    return {"data": traces, "layout": layout}


def classes_figure(result: ExplorerResult, locale: str) -> Figure:
    """Rows per class in the training and the test rows."""
    t = _t(locale)
    info = result.info
    traces = [
        {
            "type": "bar",
            "name": t("train"),
            "x": info.classes,
            "y": info.train_counts,
            "marker": {"color": PALETTE[0]},
            "hovertemplate": "%{x}: %{y}<extra></extra>",
        },
        {
            "type": "bar",
            "name": t("test"),
            "x": info.classes,
            "y": info.test_counts,
            "marker": {"color": PALETTE[1]},
            "hovertemplate": "%{x}: %{y}<extra></extra>",
        },
    ]
    layout = base_layout(
        t("Class distribution"),
        locale,
        barmode="stack",
        xaxis={"title": {"text": t("Class")}, "type": "category"},
        yaxis={"title": {"text": t("Rows")}},
    )
    return {"data": traces, "layout": layout}


def distribution_figure(distribution: Distribution, locale: str) -> Figure:
    """One feature's histogram per class, overlaid on shared bins."""
    t = _t(locale)
    edges = distribution.edges
    centres = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    width = edges[1] - edges[0] if len(edges) > 1 else 1
    colours = colour_map(list(distribution.counts))
    traces = [
        {
            "type": "bar",
            "name": name,
            "x": centres,
            "y": counts,
            "width": width,
            "opacity": 0.6,
            "marker": {"color": colours[name], "line": {"width": 0}},
            "hovertemplate": f"{name}: %{{y}}<extra></extra>",
        }
        for name, counts in distribution.counts.items()
    ]
    layout = base_layout(
        t("Distribution of {feature} by class").format(feature=distribution.feature),
        locale,
        barmode="overlay",
        bargap=0,
        hovermode="x unified",
        xaxis={"title": {"text": distribution.feature}},
        yaxis={"title": {"text": t("Rows")}},
    )
    return {"data": traces, "layout": layout}


def boundary_figure(boundary: Boundary, classes: list[str], locale: str) -> Figure:
    """The predicted class over the plane (shaded), training rows as dots, test rows as crosses."""
    t = _t(locale)
    colours = colour_map(classes)
    n = len(classes)
    # one flat band of colour per class index on a discrete scale
    scale = []
    for index, name in enumerate(classes):
        scale += [[index / n, colours[name]], [(index + 1) / n, colours[name]]]
    traces = [
        {
            "type": "heatmap",
            "x": boundary.x,
            "y": boundary.y,
            "z": boundary.z,
            "zmin": -0.5,
            "zmax": n - 0.5,
            "colorscale": scale,
            "opacity": 0.3,
            "showscale": False,
            "hoverinfo": "skip",
        }
    ]
    for part, symbol in (("train", "circle"), ("test", "x")):
        xs, ys, labels = boundary.points[part]
        for index, name in enumerate(classes):
            keep = [k for k, label in enumerate(labels) if label == index]
            if not keep:
                continue
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "name": f"{name} · {t(part)}",
                    "x": [xs[k] for k in keep],
                    "y": [ys[k] for k in keep],
                    "marker": {
                        "color": colours[name],
                        "symbol": symbol,
                        "size": 6 if part == "train" else 8,
                        "line": {"width": 0.5, "color": "#ffffff"},
                    },
                    "hovertemplate": f"{name} ({t(part)})<extra></extra>",
                }
            )
    layout = base_layout(
        t("Decision boundary on two axes (accuracy there {value})").format(
            value=fmt_number(boundary.accuracy, 3, locale)
        ),
        locale,
        xaxis={"title": {"text": boundary.x_label}, "range": [boundary.x[0], boundary.x[-1]]},
        yaxis={"title": {"text": boundary.y_label}, "range": [boundary.y[0], boundary.y[-1]]},
    )
    return {"data": traces, "layout": layout}
