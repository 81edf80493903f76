"""Feature drift: every statistic checked against scipy / numpy called directly or a hand computation, the
injected drift found, the false-alarm rate of undrifted windows held near alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from dashhub.services.drift import (
    DriftSettings,
    benjamini_hochberg,
    categorical_drift,
    numeric_drift,
    population_stability_index,
)

EPS = 1e-4  # the PSI floor, written out again so a changed floor shows


def psi_by_hand(reference: np.ndarray, current: np.ndarray, bins: int) -> float:
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ref = np.histogram(reference, bins=edges)[0] / len(reference)
    cur = np.histogram(current, bins=edges)[0] / len(current)
    ref, cur = np.maximum(ref, EPS), np.maximum(cur, EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def undrifted_window(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {
        "normal": rng.normal(10, 2, n),
        "lognormal": rng.lognormal(0, 1, n),
        "exponential": rng.exponential(3, n),
        "uniform": rng.uniform(-1, 1, n),
        "student": rng.standard_t(3, n),
        "beta": rng.beta(2, 5, n),
        "gamma": rng.gamma(2, 2, n),
        "laplace": rng.laplace(0, 1, n),
        "mixture": np.where(rng.random(n) < 0.3, rng.normal(-2, 1, n), rng.normal(2, 1, n)),
        "poisson": rng.poisson(4, n).astype(float),
    }


# Benjamini–Hochberg


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=60))
def test_bh_matches_scipy_false_discovery_control(pvalues):
    expected = stats.false_discovery_control(pvalues, method="bh")
    np.testing.assert_allclose(benjamini_hochberg(pvalues), expected, rtol=1e-12, atol=1e-15)


def test_bh_on_a_hand_worked_example_keeps_the_given_order():
    # sorted 0.01, 0.03, 0.04, 0.20 -> p*4/rank 0.04, 0.06, 0.0533, 0.20 -> step-up 0.04, 0.0533, 0.0533, 0.20
    adjusted = benjamini_hochberg([0.01, 0.04, 0.03, 0.20])
    np.testing.assert_allclose(adjusted, [0.04, 0.16 / 3, 0.16 / 3, 0.20])


def test_bh_of_nothing_is_empty():
    assert benjamini_hochberg([]).shape == (0,)


@pytest.mark.parametrize("bad", [[0.1, 1.5], [-0.1], [math.nan]])
def test_bh_refuses_values_that_are_not_p_values(bad):
    with pytest.raises(ValueError):
        benjamini_hochberg(bad)


# Population stability index


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_reference=st.integers(20, 400),
    n_current=st.integers(1, 400),
    bins=st.integers(2, 20),
    shift=st.floats(-2, 2),
    rounded=st.booleans(),
)
def test_psi_matches_a_histogram_on_the_reference_quantiles(
    seed, n_reference, n_current, bins, shift, rounded
):
    rng = np.random.default_rng(seed)
    reference = rng.normal(0, 1, n_reference)
    current = rng.normal(shift, 1.5, n_current)
    if rounded:  # ties, so some quantile edges coincide and are merged
        reference, current = np.round(reference), np.round(current)
    if len(np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))) <= 2:
        return  # the point-mass fallback, tested on its own below
    psi = population_stability_index(reference, current, bins)
    assert psi == pytest.approx(psi_by_hand(reference, current, bins), rel=1e-12, abs=1e-12)


def test_psi_on_a_hand_worked_example():
    # 2 bins cut at the median 5.5: reference 50/50, current 6 of 8 below -> 0.25 ln 1.5 + 0.25 ln 2
    reference = np.arange(1.0, 11.0)
    current = np.array([1.0, 2, 3, 4, 5, 5, 9, 10])
    assert population_stability_index(reference, current, bins=2) == pytest.approx(0.25 * math.log(3))


def test_psi_floors_an_empty_bin_instead_of_taking_log_zero():
    reference = np.arange(1.0, 11.0)
    current = np.array([1.0, 2, 3])  # the upper bin is empty
    expected = (1 - 0.5) * math.log(1 / 0.5) + (EPS - 0.5) * math.log(EPS / 0.5)
    assert population_stability_index(reference, current, bins=2) == pytest.approx(expected)


def test_psi_of_a_sample_with_itself_is_zero():
    sample = np.random.default_rng(1).lognormal(0, 1, 1000)
    assert population_stability_index(sample, sample) == 0.0


def test_psi_of_a_sample_shifted_by_one_std_is_above_the_usual_alarm():
    rng = np.random.default_rng(2)
    assert population_stability_index(rng.normal(0, 1, 1000), rng.normal(1, 1, 1000)) > 0.25


def test_psi_puts_current_values_beyond_the_reference_range_in_the_outer_bins():
    reference = np.random.default_rng(3).uniform(0, 1, 500)
    far_above = np.full(100, 50.0)
    # everything lands in the top decile bin: 0.9 of the mass moved away from the other nine
    expected = psi_by_hand(reference, far_above, 10)
    assert population_stability_index(reference, far_above) == pytest.approx(expected)
    assert expected > 5


def test_psi_of_a_constant_reference_separates_equal_from_different_values():
    reference = np.full(200, 3.0)
    assert population_stability_index(reference, np.full(50, 3.0)) == 0.0
    moved = population_stability_index(reference, np.full(50, 4.0))
    assert moved == pytest.approx(2 * (1 - EPS) * math.log(1 / EPS))
    half = population_stability_index(reference, np.array([3.0, 4.0] * 25))
    assert half == pytest.approx((0.5 - 1) * math.log(0.5) + (0.5 - EPS) * math.log(0.5 / EPS))


def test_psi_of_an_imbalanced_flag_compares_the_two_values():
    # 95 zeros and 5 ones: every decile is 0 or 1, so quantile bins would leave a single bin (PSI always 0)
    reference = np.array([0.0] * 95 + [1.0] * 5)
    current = np.array([0.0, 1.0] * 50)
    expected = (0.5 - 0.95) * math.log(0.5 / 0.95) + (0.5 - 0.05) * math.log(0.5 / 0.05)
    assert population_stability_index(reference, current) == pytest.approx(expected)
    assert population_stability_index(reference, reference) == 0.0


def test_psi_ignores_non_finite_values():
    rng = np.random.default_rng(4)
    reference, current = rng.normal(0, 1, 300), rng.normal(0.5, 1, 200)
    dirty = np.concatenate([current, [np.nan, np.inf, -np.inf]])
    assert population_stability_index(reference, dirty) == pytest.approx(psi_by_hand(reference, current, 10))


# Numeric drift across features


def test_each_field_matches_scipy_and_numpy_on_the_same_samples():
    rng = np.random.default_rng(5)
    reference = {"age": rng.normal(40, 10, 500), "income": rng.lognormal(10, 0.5, 500)}
    current = {"age": rng.normal(42, 11, 300), "income": rng.lognormal(10, 0.5, 300)}
    report = numeric_drift(reference, current)

    by_name = {f.feature: f for f in report.features}
    assert set(by_name) == {"age", "income"}
    ks_p = {name: stats.ks_2samp(reference[name], current[name]).pvalue for name in by_name}
    adjusted = dict(zip(ks_p, stats.false_discovery_control(list(ks_p.values()), method="bh"), strict=True))
    for name, f in by_name.items():
        ref, cur = reference[name], current[name]
        ks = stats.ks_2samp(ref, cur)
        wasserstein = stats.wasserstein_distance(ref, cur)
        assert (f.n_reference, f.n_current) == (500, 300)
        assert f.reference_mean == pytest.approx(np.mean(ref))
        assert f.reference_std == pytest.approx(np.std(ref, ddof=1))
        assert f.current_mean == pytest.approx(np.mean(cur))
        assert f.current_std == pytest.approx(np.std(cur, ddof=1))
        assert f.ks_statistic == pytest.approx(ks.statistic)
        assert f.ks_pvalue == pytest.approx(ks.pvalue)
        assert f.p_adjusted == pytest.approx(adjusted[name])
        assert f.wasserstein == pytest.approx(wasserstein)
        assert f.wasserstein_scaled == pytest.approx(wasserstein / np.std(ref, ddof=1))
        assert f.psi == pytest.approx(psi_by_hand(ref, cur, 10))
        assert f.drifted == (adjusted[name] < 0.05)


def test_non_finite_current_values_are_dropped_before_testing():
    rng = np.random.default_rng(6)
    reference = rng.normal(0, 1, 400)
    clean = rng.normal(0, 1, 120)
    dirty = np.concatenate([clean[:60], [np.nan, np.inf], clean[60:], [-np.inf]])
    (f,) = numeric_drift({"x": reference}, {"x": dirty}).features
    assert f.n_current == 120
    assert f.current_mean == pytest.approx(np.mean(clean))
    assert f.ks_statistic == pytest.approx(stats.ks_2samp(reference, clean).statistic)
    assert f.wasserstein == pytest.approx(stats.wasserstein_distance(reference, clean))


def test_only_features_present_on_both_sides_are_reported():
    rng = np.random.default_rng(7)
    reference = {"a": rng.normal(size=100), "b": rng.normal(size=100)}
    current = {"b": rng.normal(size=100), "c": rng.normal(size=100)}
    assert [f.feature for f in numeric_drift(reference, current).features] == ["b"]


def test_a_constant_reference_feature_has_zero_scaled_wasserstein():
    rng = np.random.default_rng(8)
    (f,) = numeric_drift({"flag": np.ones(200)}, {"flag": rng.normal(1, 1, 100)}).features
    assert f.reference_std == 0.0
    assert f.wasserstein > 0
    assert f.wasserstein_scaled == 0.0


def test_a_shift_of_one_std_in_one_feature_is_found_and_ranked_first():
    rng = np.random.default_rng(9)
    reference = undrifted_window(rng, 500)
    current = undrifted_window(rng, 300)
    current["gamma"] = current["gamma"] + np.std(reference["gamma"], ddof=1)
    report = numeric_drift(reference, current)

    first, *others = report.features
    assert first.feature == "gamma"
    assert first.drifted
    assert first.psi > 0.25
    assert not any(f.drifted for f in others)
    assert report.enough_data
    assert report.drifted_share == pytest.approx(1 / 10)
    assert not report.dataset_drift


def test_features_are_ordered_by_adjusted_p_then_ks_statistic():
    rng = np.random.default_rng(10)
    reference = {name: rng.normal(0, 1, 400) for name in "abcdef"}
    shifts = {"a": 0.0, "b": 0.3, "c": 1.5, "d": 0.0, "e": 0.8, "f": 3.0}
    current = {name: rng.normal(shifts[name], 1, 200) for name in "abcdef"}
    features = numeric_drift(reference, current).features
    assert [f.feature for f in features[:3]] == ["f", "c", "e"]
    keys = [(f.p_adjusted, -f.ks_statistic) for f in features]
    assert keys == sorted(keys)


def test_a_tie_in_adjusted_p_goes_to_the_larger_ks_statistic():
    reference = np.linspace(0, 1, 400)
    # raw p-values within a factor 2 of each other: BH gives both the larger one
    current = {"weaker": np.linspace(0.2, 1.2, 200), "stronger": np.linspace(0.205, 1.205, 200)}
    raw = [stats.ks_2samp(reference, current[name]).pvalue for name in current]
    assert raw[1] < raw[0] < 2 * raw[1]
    features = numeric_drift({name: reference for name in current}, current).features
    assert features[0].p_adjusted == features[1].p_adjusted
    assert [f.feature for f in features] == ["stronger", "weaker"]


@pytest.mark.parametrize(("n_shifted", "dataset_drift"), [(2, False), (3, True)])
def test_dataset_drift_needs_the_configured_share_of_drifted_features(n_shifted, dataset_drift):
    rng = np.random.default_rng(11)
    reference = undrifted_window(rng, 500)
    current = undrifted_window(rng, 300)
    for name in list(current)[:n_shifted]:
        current[name] = current[name] + 2 * np.std(reference[name], ddof=1)
    report = numeric_drift(reference, current)
    assert report.drifted_share == pytest.approx(n_shifted / 10)
    assert report.dataset_drift is dataset_drift


def test_undrifted_windows_raise_false_alarms_at_most_at_the_false_discovery_rate():
    rng = np.random.default_rng(12)
    windows, alpha = 400, 0.05
    any_flagged = dataset_alarms = 0
    for _ in range(windows):
        report = numeric_drift(
            undrifted_window(rng, 200), undrifted_window(rng, 100), DriftSettings(alpha=alpha)
        )
        any_flagged += any(f.drifted for f in report.features)
        dataset_alarms += report.dataset_drift
    # with every null true, BH bounds the chance of any flag by alpha (uncorrected: 1 - 0.95**10 = 0.40)
    assert any_flagged / windows <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / windows)
    assert dataset_alarms <= 1


def test_below_min_samples_nothing_is_tested():
    rng = np.random.default_rng(13)
    reference = {"x": rng.normal(0, 1, 500), "y": rng.normal(0, 1, 500)}
    current = {"x": rng.normal(5, 1, 49), "y": rng.normal(5, 1, 49)}  # a gross shift, too few rows
    report = numeric_drift(reference, current)

    assert not report.enough_data
    assert report.drifted_share == 0.0
    assert not report.dataset_drift
    for f in report.features:
        assert not f.drifted
        assert (f.ks_pvalue, f.p_adjusted) == (1.0, 1.0)
        assert all(math.isnan(v) for v in (f.ks_statistic, f.wasserstein, f.wasserstein_scaled, f.psi))
        assert f.n_current == 49
        assert f.current_mean == pytest.approx(np.mean(current[f.feature]))
        assert f.reference_std == pytest.approx(np.std(reference[f.feature], ddof=1))


def test_min_samples_counts_finite_values_and_is_inclusive():
    rng = np.random.default_rng(14)
    reference = {"x": rng.normal(0, 1, 500)}
    exactly = rng.normal(5, 1, 50)
    assert numeric_drift(reference, {"x": exactly}).features[0].drifted
    padded = np.concatenate([exactly[:49], [np.nan] * 10])
    assert not numeric_drift(reference, {"x": padded}).enough_data


def test_a_feature_without_enough_rows_is_left_out_of_the_others_correction():
    rng = np.random.default_rng(15)
    reference = {"x": rng.normal(0, 1, 500), "sparse": rng.normal(0, 1, 500)}
    current = {"x": rng.normal(0.4, 1, 200), "sparse": np.concatenate([rng.normal(0, 1, 10), [np.nan] * 190])}
    by_name = {f.feature: f for f in numeric_drift(reference, current).features}
    assert by_name["x"].p_adjusted == pytest.approx(stats.ks_2samp(reference["x"], current["x"]).pvalue)
    assert by_name["sparse"].p_adjusted == 1.0
    assert math.isnan(by_name["sparse"].ks_statistic)


@pytest.mark.parametrize(
    "bad", [{"alpha": 0.0}, {"alpha": 1.0}, {"min_samples": 0}, {"dataset_share": 0.0}, {"psi_bins": 0}]
)
def test_settings_refuse_meaningless_values(bad):
    with pytest.raises(ValueError):
        DriftSettings(**bad)


# Categorical drift


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ({"a": 50, "b": 30, "c": 20}, {"a": 40, "b": 35, "c": 25}),
        ({"a": 120, "b": 80}, {"a": 60, "b": 70}),  # 2x2: scipy applies the continuity correction
        ({"a": 10, "b": 5, "c": 3, "d": 1}, {"a": 2, "b": 9, "c": 7, "d": 12}),
    ],
)
def test_categorical_drift_matches_scipy_chi2_contingency(reference, current):
    expected = stats.chi2_contingency([list(reference.values()), list(current.values())])
    result = categorical_drift(reference, current)
    assert result.chi2 == pytest.approx(expected.statistic)
    assert result.pvalue == pytest.approx(expected.pvalue)
    assert result.dof == expected.dof
    assert result.drifted == (expected.pvalue < 0.05)
    total = sum(reference.values())
    assert result.reference_share == pytest.approx({k: v / total for k, v in reference.items()})


def test_missing_categories_count_zero_and_empty_ones_are_dropped():
    result = categorical_drift({"a": 30, "b": 20, "gone": 0}, {"a": 25, "c": 15})
    expected = stats.chi2_contingency([[30, 20, 0], [25, 0, 15]])
    assert result.chi2 == pytest.approx(expected.statistic)
    assert result.dof == 2
    assert result.current_share == pytest.approx({"a": 25 / 40, "b": 0.0, "c": 15 / 40})
    assert "gone" not in result.reference_share


def test_identical_label_distributions_are_not_drifted():
    counts = {"low": 300, "mid": 500, "high": 200}
    result = categorical_drift(counts, {k: v // 2 for k, v in counts.items()})
    assert result.chi2 == pytest.approx(0.0)
    assert not result.drifted


def test_a_changed_label_distribution_is_drifted():
    result = categorical_drift({"low": 300, "mid": 500, "high": 200}, {"low": 100, "mid": 100, "high": 300})
    assert result.drifted
    assert result.pvalue < 1e-10


@pytest.mark.parametrize(
    ("reference", "current"),
    [
        ({"only": 100}, {"only": 50}),
        ({"a": 10, "b": 5}, {}),
        ({}, {"a": 10, "b": 5}),
        ({"a": 10, "b": 5}, {"a": 0, "b": 0}),
    ],
)
def test_too_little_to_compare_is_reported_as_no_drift(reference, current):
    result = categorical_drift(reference, current)
    assert (result.chi2, result.pvalue, result.dof, result.drifted) == (0.0, 1.0, 0, False)
