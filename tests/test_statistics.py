"""bn_course.metrics, bn_course.statistics and bn_course.study_plots, checked against values computed by hand,
by textbook formulas or by simulation, never against the functions themselves. No training here."""
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.datasets import make_circles

from bn_course.metrics import epochs_to_threshold, first_epoch_reaching, first_epoch_staying
from bn_course.statistics import (
    confidence_label,
    at_confidence,
    bayes_accuracy_circles,
    bayes_classifier_accuracy,
    censored_epochs,
    comparison_report,
    circles_bayes_boundary_radius,
    circles_inner_probability,
    circles_log_density,
    decide,
    kaplan_meier,
    mean_confidence_interval,
    multiplicity_note,
    paired_difference,
    restricted_mean_epochs,
    test_set_standard_error,
)
from bn_course.study_plots import (
    PALETTE,
    draw_bayes_accuracy,
    plot_band,
    plot_curves,
    plot_kaplan_meier,
    plot_paired_differences,
)

T_975_3 = 3.182446  # Student t quantile t_{0.975, 3}, from a printed table
Z_975 = 1.959964  # standard normal quantile z_{0.975}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- first_epoch_staying ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("curve, expected_staying, expected_first", [
    ([0.5, 0.85, 0.7, 0.82, 0.9], 4, 2),  # a spike at epoch 2, then a dip: stays from epoch 4
    ([0.9, 0.95, 0.8], 1, 1),  # above from the start; exactly at the threshold counts
    ([0.5, 0.9, 0.7], None, 2),  # ends below: never stays
    ([0.5, 0.6], None, None),
    ([0.81, np.nan, 0.9], 3, 1),  # a NaN is not above the threshold
    ([], None, None),
])
def test_first_epoch_staying_by_hand(curve, expected_staying, expected_first):
    assert first_epoch_staying(curve, 0.8) == expected_staying
    assert first_epoch_reaching(curve, 0.8) == expected_first


def test_first_epoch_staying_is_never_before_the_first_crossing():
    curves = np.random.default_rng(0).uniform(0.6, 1.0, size=(200, 12))
    for curve in curves:
        staying = first_epoch_staying(curve, 0.8)
        # brute force, straight from the definition
        expected = next((e for e in range(1, 13) if np.all(curve[e - 1:] >= 0.8)), None)
        assert staying == expected
        if staying is not None:
            assert first_epoch_reaching(curve, 0.8) <= staying


def test_first_epoch_staying_wants_one_curve():
    with pytest.raises(ValueError, match=r"one-dimensional.*shape \(2, 3\).*epochs_to_threshold"):
        first_epoch_staying(np.ones((2, 3)), 0.8)


def test_epochs_to_threshold_per_row():
    curves = [[0.5, 0.85, 0.7, 0.82, 0.9], [0.5, 0.6, 0.7, 0.7, 0.7], [0.9, 0.9, 0.9, 0.9, 0.9]]
    np.testing.assert_array_equal(epochs_to_threshold(curves, 0.8), [2, np.nan, 1])
    np.testing.assert_array_equal(epochs_to_threshold(curves, 0.8, rule="staying"), [4, np.nan, 1])
    np.testing.assert_array_equal(epochs_to_threshold([[0.9, 0.5]], 0.8), [1])  # one run = one row
    with pytest.raises(ValueError, match=r"shape \(runs, epochs\).*curve\[None, :\]"):
        epochs_to_threshold([0.5, 0.9], 0.8)
    with pytest.raises(ValueError, match="rule must be one of"):
        epochs_to_threshold(curves, 0.8, rule="last")


# --- censoring and the restricted mean -------------------------------------------------------------------------

def test_restricted_mean_counts_never_reached_runs_at_the_last_epoch():
    epochs = [10, 20, np.nan, np.nan]
    mean, low, high = restricted_mean_epochs(epochs, 50)
    # min(T, 50) = 10, 20, 50, 50: mean 32.5; deviations -22.5, -12.5, 17.5, 17.5 -> s^2 = 1275 / 3 = 425.
    half_width = T_975_3 * np.sqrt(425) / 2
    assert mean == pytest.approx(32.5)
    assert (low, high) == pytest.approx((32.5 - half_width, 32.5 + half_width), abs=1e-4)
    # The survivor-biased mean of the reached runs only would have said 15.
    assert mean_confidence_interval(epochs)[0] == pytest.approx(15.0)


def test_restricted_mean_equals_the_plain_mean_when_every_run_reached():
    assert restricted_mean_epochs([21, 21, 22, 25], 100) == pytest.approx(mean_confidence_interval([21, 21, 22, 25]))
    assert restricted_mean_epochs([np.nan, np.nan], 7) == (7.0, 7.0, 7.0)


def test_censored_epochs():
    times, reached = censored_epochs([3, None, 5], 5)
    np.testing.assert_array_equal(times, [3, 5, 5])
    np.testing.assert_array_equal(reached, [True, False, True])


@pytest.mark.parametrize("epochs, last_epoch, message", [
    ([0, 3], 5, "between 1 and last_epoch=5"),
    ([6], 5, "between 1 and last_epoch=5"),
    ([2.5], 5, "whole epochs"),
    ([[1, 2]], 5, r"1-D, one value per run \(seed\); got shape \(1, 2\)"),
    ([1, 2], 0, "last_epoch must be a positive integer"),
    ([1, 2], 4.0, "last_epoch must be a positive integer"),
])
def test_censored_epochs_bad_input(epochs, last_epoch, message):
    with pytest.raises(ValueError, match=message):
        censored_epochs(epochs, last_epoch)


# --- Kaplan-Meier ----------------------------------------------------------------------------------------------

def test_kaplan_meier_by_hand_with_greenwood_interval():
    curve = kaplan_meier([2, 3, np.nan, 5, np.nan], 5)
    np.testing.assert_array_equal(curve.epochs, [0, 1, 2, 3, 4, 5])
    # Censoring only at the end: the fraction reached by epoch e is the plain count / 5.
    np.testing.assert_allclose(curve.fraction_reached, [0, 0, 1 / 5, 2 / 5, 2 / 5, 3 / 5])
    assert (curve.n, curve.n_reached, curve.last_epoch) == (5, 3, 5)
    # Greenwood at epoch 5: S = 0.4, var = S^2 * (1/(5*4) + 1/(4*3) + 1/(3*2)) = 0.16 * 0.3 = 0.048.
    half_width = Z_975 * np.sqrt(0.048)
    assert curve.ci_low[5] == pytest.approx(0.6 - half_width, rel=1e-5)
    assert curve.ci_high[5] == 1.0  # 0.6 + 0.429 clipped to 1
    # At epoch 2: S = 0.8, var = 0.64 * 1/20 = 0.032 -> 0.2 - 0.35 clipped to 0, 0.2 + 0.3506.
    assert curve.ci_low[2] == 0.0 and curve.ci_high[2] == pytest.approx(0.2 + Z_975 * np.sqrt(0.032), rel=1e-5)
    # Restricted mean = area under 1 - F over epochs 0..4 = 1 + 1 + 0.8 + 0.6 + 0.6 = 4 = mean of (2, 3, 5, 5, 5).
    assert curve.restricted_mean == pytest.approx(4.0)


def test_kaplan_meier_edge_cases():
    never = kaplan_meier([np.nan, np.nan, np.nan], 4)
    assert never.n_reached == 0 and np.all(never.fraction_reached == 0) and np.all(never.ci_high == 0)
    always = kaplan_meier([1, 1, 3], 3)
    np.testing.assert_allclose(always.fraction_reached, [0, 2 / 3, 2 / 3, 1])
    assert always.ci_low[3] == always.ci_high[3] == 1.0  # no uncertainty left once every run has reached it
    with pytest.raises(ValueError, match="at least one run"):
        kaplan_meier([], 3)


# --- paired comparisons ----------------------------------------------------------------------------------------

def test_paired_difference_is_the_paired_t_interval():
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 3.0, 7.0]
    result = paired_difference(a, b, margin=1, a_name="base", b_name="BN", metric="test_accuracy")
    # d = 1, 2, 0, 3: mean 1.5, s^2 = (0.25 + 0.25 + 2.25 + 2.25) / 3 = 5/3.
    half_width = T_975_3 * np.sqrt(5 / 3) / 2
    assert result.mean_difference == pytest.approx(1.5)
    assert (result.ci_low, result.ci_high) == pytest.approx((1.5 - half_width, 1.5 + half_width), rel=1e-6)
    assert result.n == 4 and result.a_reached is None
    assert result.decision == "undecided with 4 seeds"
    np.testing.assert_array_equal(result.differences, [1, 2, 0, 3])
    assert paired_difference(a, b, margin=4).decision == "no practical difference (within \u00b14)"


def test_pairing_decides_where_interval_overlap_would_not():
    """Separate intervals overlap almost entirely, yet every seed gains about 1: the paired CI excludes 0."""
    a = np.array([10.0, 20.0, 30.0, 40.0])
    b = a + np.array([1.0, 1.1, 0.9, 1.0])
    _, a_low, a_high = mean_confidence_interval(a)
    _, b_low, b_high = mean_confidence_interval(b)
    assert a_low < b_high and b_low < a_high  # overlapping
    result = paired_difference(a, b, margin=0.5)
    assert result.decision == "a difference" and result.ci_low > 0
    # d = 1, 1.1, 0.9, 1: mean 1, s^2 = 0.02 / 3.
    assert result.ci_low == pytest.approx(1 - T_975_3 * np.sqrt(0.02 / 3) / 2, rel=1e-6)


def test_paired_difference_censors_time_metrics():
    a = [20, 30, np.nan, 25]
    b = [15, np.nan, 40, 20]
    result = paired_difference(a, b, margin=3, last_epoch=50, a_name="baseline", b_name="BN",
                               metric="epoch_staying_above")
    # min(T, 50): a = 20, 30, 50, 25; b = 15, 50, 40, 20; d = -5, 20, -10, -5: mean 0.
    np.testing.assert_array_equal(result.differences, [-5, 20, -10, -5])
    assert result.mean_difference == 0.0
    assert (result.a_reached, result.b_reached, result.last_epoch, result.unit) == (3, 3, 50, "epochs")
    text = str(result)
    assert "BN - baseline" in text and "reached 3/4 (baseline) vs 3/4 (BN)" in text
    assert "censored at epoch 50" in text and text.endswith("undecided with 4 seeds")
    assert repr(result) == text


def test_constant_differences_give_a_zero_width_interval_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_difference([0.84, 0.85, 0.83], [0.86, 0.87, 0.85], margin=0.01)
    assert result.mean_difference == pytest.approx(0.02)
    assert result.ci_low == pytest.approx(0.02) and result.ci_high == pytest.approx(0.02)
    assert result.decision == "a difference"


@pytest.mark.parametrize("a, b, kwargs, message", [
    ([1, 2, 3], [1, 2], {}, "paired: one value per seed.*3 values for a and 2 for b"),
    ([[1, 2]], [[1, 2]], {}, "1-D"),
    ([1], [2], {}, "at least 2 pairs"),
    ([1, np.nan], [1, 2], {}, "pass last_epoch"),
    ([1, 2], [1, 2], {"margin": -1}, "margin must be a finite number >= 0"),
    ([1, 2], [1, 2], {"confidence": 95}, "confidence must be a coverage between 0 and 1"),
])
def test_paired_difference_bad_input(a, b, kwargs, message):
    with pytest.raises(ValueError, match=message):
        paired_difference(a, b, **{"margin": 1, **kwargs})


SMALL = "a difference, smaller than the margin \u00b11 (no practical difference)"


@pytest.mark.parametrize("low, high, expected", [
    (0.1, 0.5, SMALL),  # excludes 0 and inside the margin: both answers
    (-1.0, -0.1, SMALL),  # touching the margin counts as within it
    (-2.0, -0.1, "a difference"),  # excludes 0, reaches past the margin
    (0.5, 1.2, "a difference"),
    (-0.5, 0.9, "no practical difference (within \u00b11)"),
    (-1.0, 1.0, "no practical difference (within \u00b11)"),
    (0.0, 0.5, "no practical difference (within \u00b11)"),  # an end at 0 does not exclude 0
    (-0.5, 1.5, "undecided with 7 seeds"),
    (-1.5, 0.5, "undecided with 7 seeds"),
])
def test_decision_rule(low, high, expected):
    assert decide(low, high, 1, 7) == expected


def test_notebook_05s_small_difference_is_no_practical_difference():
    """The case that made the rule four-way: -1.3 [-2.5, -0.1] epochs with a margin of 3 epochs."""
    decision = decide(-2.5, -0.1, 3, 10)
    assert decision == "a difference, smaller than the margin \u00b13 (no practical difference)"


def test_unequal_reached_counts_leave_the_size_of_a_small_difference_open():
    """The interval excludes 0 and lies within the margin, but one run never got there: its size is open."""
    comparison = paired_difference([np.nan, 10, 10, 10, 10], [9, 9, 9, 9, 8], margin=3, last_epoch=10)
    assert comparison.ci_high < 0 and comparison.ci_low > -3
    assert comparison.decision == ("a difference, its size undecided with 5 seeds: reached 4/5 vs 5/5, which "
                                   "censoring at epoch 10 hides")


def test_multiplicity_note_states_the_expected_false_differences():
    assert multiplicity_note(12) == (
        "12 comparisons, each with its own 95 % CI (no family-wise adjustment): when nothing differs, about "
        "0.05 x 12 = 0.6 of them would read \"a difference\" by chance.")
    assert "0.1 x 4 = 0.4" in multiplicity_note(4, confidence=0.9)
    assert multiplicity_note(1).startswith("1 comparison;")
    for bad in (0, 2.5, "3"):
        with pytest.raises(ValueError, match="positive integer"):
            multiplicity_note(bad)


def test_multiplicity_note_matches_simulated_false_differences():
    """With no true difference, 95 % paired intervals exclude 0 in about 5 % of comparisons (simulation)."""
    rng = np.random.default_rng(0)
    n_comparisons = 2000
    a, b = rng.normal(size=(2, n_comparisons, 10))
    false = sum(decide(*stats.ttest_rel(b[i], a[i]).confidence_interval(), 0.0, 10).startswith("a difference")
                for i in range(n_comparisons))
    assert false / n_comparisons == pytest.approx(0.05, abs=0.015)


def test_comparison_report_lists_each_comparison_then_the_note():
    first = paired_difference([1, 2, 3, 4], [2, 4, 3, 7], margin=3, a_name="base", b_name="BN")
    second = paired_difference([1, 2, 3, 4], [1, 2, 3, 4.5], margin=3, a_name="base", b_name="input BN")
    lines = comparison_report([first, second]).splitlines()
    assert lines == [str(first), str(second), multiplicity_note(2)]
    table = pd.DataFrame([first.as_row(), second.as_row()]).astype({"a_reached": "Int64", "b_reached": "Int64"})
    assert comparison_report(table).splitlines() == lines  # the same lines from Study.comparisons' DataFrame
    with pytest.raises(TypeError, match="list of PairedComparison"):
        comparison_report([1.5])
    with pytest.raises(ValueError, match="empty"):
        comparison_report([])
    wider = paired_difference([1, 2, 3, 4], [2, 4, 3, 7], margin=3, confidence=0.9)
    with pytest.raises(ValueError, match="one confidence"):
        comparison_report([first, wider])



def test_at_confidence_equals_a_new_comparison_at_that_confidence_censoring_included():
    base, bn = [20, 35, np.nan, 40, 22], [18, 30, 41, np.nan, 21]
    for confidence in (0.9, 0.99):
        direct = paired_difference(base, bn, margin=3, confidence=confidence, last_epoch=50)
        widened = at_confidence(paired_difference(base, bn, margin=3, last_epoch=50), confidence)
        assert widened.decision == direct.decision and widened.confidence == confidence
        assert np.allclose([widened.ci_low, widened.ci_high], [direct.ci_low, direct.ci_high], rtol=1e-12)
    with pytest.raises(TypeError, match="PairedComparison"):
        at_confidence({"ci_low": 0}, 0.99)


def test_family_wise_report_widens_every_interval_to_bonferroni():
    first = paired_difference([0, 0, 0, 0], [0.6, 1.2, 2.0, 2.6], margin=1, a_name="base", b_name="BN")
    second = paired_difference([0.0, 0.1, 0.2, 0.3], [0.2, 0.4, 0.3, 0.7], margin=0.5, a_name="base", b_name="x")
    lines = comparison_report([first, second], family_wise=True).splitlines()
    assert lines[:3] == comparison_report([first, second]).splitlines()
    assert "97.5 %" in lines[3]
    assert lines[4:] == [f"  {at_confidence(first, 0.975)}", f"  {at_confidence(second, 0.975)}"]
    wide = at_confidence(first, 0.975)
    assert wide.ci_low < first.ci_low and wide.ci_high > first.ci_high
    assert first.decision == "a difference" != wide.decision  # [+0.2, +3.0] excludes 0; [-0.2, +3.4] does not
    table = pd.DataFrame([first.as_row(), second.as_row()]).astype({"a_reached": "Int64", "b_reached": "Int64"})
    with pytest.raises(ValueError, match="family_wise"):
        comparison_report(table, family_wise=True)


def test_a_bonferroni_level_prints_with_one_decimal():
    """1 - 0.05 / 7 = 0.992857...: the lines say "99.3 % CI", not the float's digits."""
    comparisons = [paired_difference([0, 0, 0, 0], [0.6, 1.2, 2.0, 2.6 + k], margin=1) for k in range(7)]
    report = comparison_report(comparisons, family_wise=True)
    assert "each interval at 99.3 % (Bonferroni" in report and "99.3 % CI [" in report
    assert "99.28" not in report
    assert confidence_label(0.95) == "95 %" and confidence_label(0.995) == "99.5 %"

# --- the ceiling of the circles problem and the test set's error bar -------------------------------------------

def test_bayes_accuracy_of_the_course_is_about_084_and_matches_monte_carlo():
    bayes = bayes_accuracy_circles(factor=0.8, noise=0.1)
    assert 0.835 < bayes < 0.845  # the "about 0.84"
    n = 400_000
    X, y = make_circles(n_samples=n, factor=0.8, noise=0.1, random_state=0)
    correct = (circles_inner_probability(X, factor=0.8, noise=0.1) > 0.5) == (y == 1)
    monte_carlo = correct.mean()
    standard_error = np.sqrt(monte_carlo * (1 - monte_carlo) / n)  # about 0.0006
    assert abs(monte_carlo - bayes) < 4 * standard_error
    # No other radius threshold does better on the same sample (the Bayes boundary is a circle).
    radius = np.hypot(X[:, 0], X[:, 1])
    for cut in (0.85, 0.88, 0.92, 0.95):
        assert ((radius < cut) == (y == 1)).mean() < monte_carlo + 2 * standard_error


def test_bayes_accuracy_matches_a_brute_force_integral_over_the_plane():
    """Densities built in the plane from the generating process (Gaussians averaged over angles), summed on a grid."""
    factor, noise = 0.6, 0.2
    step = 0.01
    grid = np.arange(-1.0 - 6 * noise, 1.0 + 6 * noise + step / 2, step)
    x1, x2 = np.meshgrid(grid, grid)
    angles = np.linspace(0, 2 * np.pi, 256, endpoint=False)
    densities = []
    for radius in (1.0, factor):
        total = np.zeros_like(x1)
        for angle in angles:
            total += np.exp(-((x1 - radius * np.cos(angle)) ** 2 + (x2 - radius * np.sin(angle)) ** 2) / (2 * noise**2))
        densities.append(total / angles.size / (2 * np.pi * noise**2))
    error_rate = 0.5 * np.minimum(*densities).sum() * step**2
    assert bayes_accuracy_circles(factor=factor, noise=noise) == pytest.approx(1 - error_rate, abs=1e-3)


def test_bayes_accuracy_limits_and_bad_input():
    assert bayes_accuracy_circles(factor=0.8, noise=0.0) == 1.0
    assert bayes_accuracy_circles(factor=0.8, noise=100.0) == pytest.approx(0.5, abs=1e-3)  # rings indistinguishable
    # Narrow rings far apart relative to the noise: the radial noise is nearly N(0, noise^2), so the error is
    # about Phi(-(1 - factor) / (2 noise)) = Phi(-1) = 0.1587 here.
    assert bayes_accuracy_circles(factor=0.9, noise=0.05) == pytest.approx(stats.norm.cdf(1), abs=2e-3)
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        bayes_accuracy_circles(factor=1.2)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        bayes_accuracy_circles(noise=-0.1)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        circles_inner_probability(np.zeros(5))


def test_bayes_boundary_radius_is_where_the_ring_densities_meet_and_the_best_radius_cut():
    radius = circles_bayes_boundary_radius(factor=0.8, noise=0.1)
    assert 0.8 < radius < 1.0
    inner = circles_log_density(radius, ring_radius=0.8, noise=0.1)
    assert circles_log_density(radius, ring_radius=1.0, noise=0.1) == pytest.approx(inner, abs=1e-9)
    assert circles_inner_probability(np.array([[radius - 0.01, 0.0]])) > 0.5 > circles_inner_probability(
        np.array([[0.0, radius + 0.01]]))
    # Cutting a large sample at this radius scores the Bayes accuracy; cuts 0.02 away score less.
    X, y = make_circles(n_samples=400_000, factor=0.8, noise=0.1, random_state=1)
    distance = np.hypot(X[:, 0], X[:, 1])
    accuracy = {cut: ((distance < cut) == (y == 1)).mean() for cut in (radius - 0.02, radius, radius + 0.02)}
    assert accuracy[radius] == pytest.approx(bayes_accuracy_circles(factor=0.8, noise=0.1), abs=4 * 0.0006)
    assert accuracy[radius] > max(accuracy[radius - 0.02], accuracy[radius + 0.02])
    assert circles_bayes_boundary_radius(factor=0.6, noise=0.0) == pytest.approx(0.8)
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        circles_bayes_boundary_radius(factor=1.0)


def test_bayes_classifier_accuracy_scores_samples_around_the_bayes_accuracy():
    bayes = bayes_accuracy_circles()
    X, y = make_circles(n_samples=200_000, factor=0.8, noise=0.1, random_state=3)
    assert bayes_classifier_accuracy(X, y) == pytest.approx(bayes, abs=4 * 0.0008)
    # Small samples scatter around it by about the binomial standard error.
    scores = [bayes_classifier_accuracy(*make_circles(n_samples=500, noise=0.1, factor=0.8, random_state=seed))
              for seed in range(200)]
    assert np.mean(scores) == pytest.approx(bayes, abs=0.004)
    assert np.std(scores) == pytest.approx(test_set_standard_error(bayes, 500), rel=0.25)
    # Points at the origin are inner, points far out are outer.
    assert bayes_classifier_accuracy(np.array([[0.0, 0.0], [2.0, 0.0]]), [1, 0]) == 1.0
    with pytest.raises(ValueError, match="one label per point"):
        bayes_classifier_accuracy(np.zeros((3, 2)), [0, 1])


def test_test_set_standard_error():
    # 0.84 * 0.16 = 0.1344; / 500 = 0.0002688; sqrt = 0.016395.
    assert test_set_standard_error(0.84, 500) == pytest.approx(0.016395, abs=1e-6)
    # The spread of accuracies over many independent 500-point test sets of a 84 %-accurate classifier.
    accuracies = np.random.default_rng(0).binomial(500, 0.84, size=20_000) / 500
    assert test_set_standard_error(0.84, 500) == pytest.approx(accuracies.std(), rel=0.03)
    np.testing.assert_allclose(test_set_standard_error(np.array([0.5, 1.0]), 100), [0.05, 0.0])
    with pytest.raises(ValueError, match="fraction between 0 and 1"):
        test_set_standard_error(84, 500)
    with pytest.raises(ValueError, match="n_test must be a positive integer"):
        test_set_standard_error(0.84, 0)


# --- plots -----------------------------------------------------------------------------------------------------

def test_palette_is_okabe_ito():
    # Okabe & Ito (2008), "Color Universal Design": the eight colours as hex.
    assert set(PALETTE) == {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"}
    assert len(PALETTE) == 8


def test_plot_band_takes_seeds_by_epochs():
    samples = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 6.0]])
    ax = plot_band(samples, label="two runs")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [1.0, 2.0, 4.0])
    # n = 2: half-width = t_{0.975, 1} * s / sqrt(2), t_{0.975, 1} = 12.7062; s per epoch = sqrt(2), sqrt(2), 2 sqrt(2).
    band = ax.collections[0].get_paths()[0].vertices
    expected_high = np.array([1.0, 2.0, 4.0]) + 12.7062 * np.array([1.0, 1.0, 2.0])
    assert band[:, 1].max() == pytest.approx(expected_high.max(), rel=1e-5)
    single = plot_band(samples[:1])
    assert len(single.collections) == 0 and len(single.get_lines()) == 1  # a single row draws no band
    with pytest.raises(ValueError, match=r"\(seeds, epochs\).*curve\[None, :\]"):
        plot_band(np.array([0.5, 0.6]))


def test_plot_curves_uses_the_palette():
    ax = plot_curves({"a": np.ones((3, 4)), "b": np.zeros((1, 4))}, metric="val_accuracy")
    assert [line.get_color() for line in ax.get_lines()] == [PALETTE[0], PALETTE[1]]
    assert len(ax.collections) == 1  # "b" is a single run
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a (n=3)", "b (n=1)"]


def test_plot_kaplan_meier_draws_the_steps():
    curve = kaplan_meier([2, 3, np.nan, 5, np.nan], 5)
    ax = plot_kaplan_meier({"baseline": curve})
    line = ax.get_lines()[0]
    assert line.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(line.get_ydata(), [0, 0, 0.2, 0.4, 0.4, 0.6])
    assert "baseline (3/5 reached)" == ax.get_legend().get_texts()[0].get_text()


def test_plot_paired_differences_one_row_per_comparison():
    first = paired_difference([1, 2, 3, 4], [2, 4, 3, 7], margin=3, a_name="base", b_name="BN")
    second = paired_difference([1, 2, 3, 4], [1, 2, 3, 4.5], margin=3, a_name="base", b_name="input BN")
    ax = plot_paired_differences([first, second])
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [dot.get_xdata()[0] for dot in dots] == pytest.approx([1.5, 0.125])
    assert [dot.get_ydata()[0] for dot in dots] == [1, 0]  # first comparison on top
    intervals = [line for line in ax.get_lines() if line.get_marker() != "o" and len(line.get_xdata()) == 2
                 and line.get_ydata()[0] == line.get_ydata()[1]]
    assert sorted(intervals[0].get_xdata()) == pytest.approx([first.ci_low, first.ci_high])
    zero = [line for line in ax.get_lines() if list(line.get_xdata()) == [0, 0]]
    assert len(zero) == 1
    (band,) = ax.patches  # the margin band, from -3 to +3 (a Rectangle in data x coordinates)
    assert (band.get_x(), band.get_x() + band.get_width()) == (-3, 3)
    labels = dict(zip(ax.get_yticks(), [label.get_text() for label in ax.get_yticklabels()]))
    assert labels[1] == "BN \u2212 base\nundecided with 4 seeds"
    assert labels[0] == "input BN \u2212 base\nno practical difference (within \u00b13)"
    table = pd.DataFrame([first.as_row(), second.as_row()])
    assert len([line for line in plot_paired_differences(table).get_lines() if line.get_marker() == "o"]) == 2
    with pytest.raises(TypeError, match="PairedComparison"):
        plot_paired_differences([1.5, 0.2])


def test_draw_bayes_accuracy():
    _, ax = plt.subplots()
    draw_bayes_accuracy(ax, accuracy=0.84)
    assert list(ax.get_lines()[0].get_ydata()) == [0.84, 0.84]


def test_unequal_reached_counts_never_read_as_no_practical_difference():
    """Both sides censor to the last epoch (4): the times agree although one side never got there."""
    never = [np.nan] * 5
    at_the_end = [4.0] * 5
    comparison = paired_difference(never, at_the_end, margin=1, last_epoch=4)
    assert (comparison.a_reached, comparison.b_reached) == (0, 5)
    assert comparison.decision.startswith("undecided") and "0/5 vs 5/5" in comparison.decision
    same = paired_difference(at_the_end, at_the_end, margin=1, last_epoch=4)
    assert same.decision.startswith("no practical difference")
