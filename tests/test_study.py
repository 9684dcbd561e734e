"""The study runner: tidy runs, curves, censored speed summaries, paired comparisons and plots, all reproducible.

Expected values are computed here from the runs and curves (by the definition or a textbook formula), never by
calling the function under test."""
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras

from bn_course.data import load_circles
from bn_course.fast import train_fast
from bn_course.metrics import area_under_curve
from bn_course import statistics, study_plots
from bn_course.study import PALETTE, Study, mean_confidence_interval, run_study
from bn_course.training import compile_model, set_seed

L = keras.layers
SEEDS = [0, 1, 2]
EPOCHS = 4
SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def staying_epoch(curve, threshold):
    """Straight from the definition: the first e with every value from epoch e on >= threshold, else NaN."""
    return next((float(e) for e in range(1, len(curve) + 1) if all(v >= threshold for v in curve[e - 1:])), np.nan)


def t_interval(values, confidence=0.95):
    """Textbook Student t interval: mean -/+ t_{(1+c)/2, n-1} s / sqrt(n)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * values.std(ddof=1) / np.sqrt(n)
    return values.mean(), values.mean() - half, values.mean() + half


def plain():
    return keras.Sequential([keras.Input(shape=(2,)), L.Dense(50, activation="relu", kernel_initializer="he_uniform"),
                             L.Dense(1, activation="sigmoid")])


def batch_norm():
    return keras.Sequential([keras.Input(shape=(2,)), L.Dense(50, activation="relu", kernel_initializer="he_uniform"),
                             L.BatchNormalization(), L.Dense(1, activation="sigmoid")])


def deep_plain():
    return keras.Sequential([keras.Input(shape=(2,)),
                             *[L.Dense(50, activation="relu", kernel_initializer="he_uniform") for _ in range(12)],
                             L.Dense(1, activation="sigmoid")])


@pytest.fixture(scope="module")
def data():
    return load_circles()


@pytest.fixture(scope="module")
def study(data):
    # "bn" first: the summary must keep the configs' order, not sort them.
    return run_study({"bn": batch_norm, "plain": plain, "deep": deep_plain}, data, seeds=SEEDS, epochs=EPOCHS,
                     threshold=0.6, progress=False)


def test_mean_confidence_interval_is_the_student_t_interval():
    mean, low, high = mean_confidence_interval([1.0, 2.0, 3.0, 4.0])
    # s = sqrt(5/3), n = 4, t_{0.975, 3} = 3.182446 (textbook table value).
    half_width = 3.182446 * np.sqrt(5 / 3) / 2
    assert mean == pytest.approx(2.5)
    assert (low, high) == pytest.approx((2.5 - half_width, 2.5 + half_width), rel=1e-6)
    narrower = mean_confidence_interval([1.0, 2.0, 3.0, 4.0], confidence=0.5)
    assert low < narrower[1] < narrower[2] < high


def test_mean_confidence_interval_edge_cases():
    assert mean_confidence_interval([2.0, np.nan, 4.0])[0] == pytest.approx(3.0)
    mean, low, high = mean_confidence_interval([7.0])
    assert mean == 7.0 and np.isnan(low) and np.isnan(high)
    assert all(np.isnan(value) for value in mean_confidence_interval([np.nan]))
    assert mean_confidence_interval([5.0, 5.0, 5.0]) == (5.0, 5.0, 5.0)


def test_runs_table_is_tidy(study):
    runs = study.runs
    assert list(runs.columns) == ["config", "seed", "train_accuracy", "test_accuracy", "epoch_to_threshold",
                                  "epoch_staying_above"]
    assert len(runs) == 3 * len(SEEDS)
    assert list(runs["config"].unique()) == ["bn", "plain", "deep"]
    assert sorted(runs.loc[runs["config"] == "bn", "seed"]) == SEEDS
    assert runs[["train_accuracy", "test_accuracy"]].apply(lambda column: column.between(0, 1)).all().all()
    reached = runs["epoch_to_threshold"].dropna()
    assert ((reached >= 1) & (reached <= EPOCHS) & (reached == reached.round())).all()


def test_curves_and_final_accuracies_agree(study):
    assert list(study.curves) == ["bn", "plain", "deep"]
    for config, curves in study.curves.items():
        assert set(curves) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        for values in curves.values():
            assert values.shape == (len(SEEDS), EPOCHS) and np.all(np.isfinite(values))
        runs = study.runs[study.runs["config"] == config]
        # The final test accuracy is the last validation point; the epoch to threshold is read off the same curve.
        np.testing.assert_allclose(runs["test_accuracy"], curves["val_accuracy"][:, -1])
        columns = zip(curves["val_accuracy"], runs["epoch_to_threshold"], runs["epoch_staying_above"])
        for curve, epoch, staying in columns:
            expected = np.flatnonzero(curve >= 0.6)
            assert (np.isnan(epoch) and expected.size == 0) or epoch == expected[0] + 1
            np.testing.assert_array_equal(staying, staying_epoch(curve, 0.6))


def test_each_run_is_the_seeded_single_run(study, data):
    """Seed s of a study = set_seed(s), build, train_fast(random_state=s): init and shuffling both follow the seed."""
    for index, seed in enumerate(SEEDS):
        set_seed(seed)
        history = train_fast(batch_norm(), data, epochs=EPOCHS, random_state=seed)
        np.testing.assert_allclose(study.curves["bn"]["val_loss"][index], history["val_loss"], rtol=1e-4)
    assert not np.allclose(study.curves["bn"]["val_loss"][0], study.curves["bn"]["val_loss"][1])


def test_same_call_same_numbers(study, data):
    again = run_study({"bn": batch_norm, "plain": plain, "deep": deep_plain}, data, seeds=SEEDS, epochs=EPOCHS,
                      threshold=0.6, progress=False)
    pd.testing.assert_frame_equal(study.runs, again.runs)
    for config in study.curves:
        for metric, values in study.curves[config].items():
            np.testing.assert_array_equal(values, again.curves[config][metric])


def test_summary(study):
    summary = study.summary()
    assert list(summary.index) == ["bn", "plain", "deep"]
    for column in ("test_accuracy", "train_accuracy", "epoch_to_threshold"):
        for suffix in ("mean", "ci_low", "ci_high"):
            assert f"{column}_{suffix}" in summary.columns
    for config, row in summary.iterrows():
        runs = study.runs[study.runs["config"] == config]
        assert row["n_runs"] == len(SEEDS)
        assert row["n_reached"] == runs["epoch_to_threshold"].notna().sum()
        expected = mean_confidence_interval(runs["test_accuracy"])
        assert (row["test_accuracy_mean"], row["test_accuracy_ci_low"], row["test_accuracy_ci_high"]) == pytest.approx(expected, nan_ok=True)
        assert row["test_accuracy_ci_low"] <= row["test_accuracy_mean"] <= row["test_accuracy_ci_high"]
        for column in ("epoch_to_threshold", "epoch_staying_above"):
            # Restricted mean: never-reached runs count the last epoch (censored), none is dropped.
            censored = runs[column].fillna(EPOCHS).to_numpy()
            expected = t_interval(censored) if censored.std() > 0 else (censored[0],) * 3
            assert (row[f"{column}_mean"], row[f"{column}_ci_low"], row[f"{column}_ci_high"]) == pytest.approx(expected)
            assert row[f"{column}_n_reached"] == runs[column].notna().sum()
    assert summary.attrs["speed_metric"] == "epoch_staying_above"
    for suffix in ("mean", "ci_low", "ci_high", "n_reached"):
        np.testing.assert_array_equal(summary[f"speed_{suffix}"], summary[f"epoch_staying_above_{suffix}"])
    first = study.summary(speed_metric="epoch_to_threshold")
    np.testing.assert_array_equal(first["speed_mean"], first["epoch_to_threshold_mean"])
    with pytest.raises(ValueError, match="speed_metric must be one of"):
        study.summary(speed_metric="test_accuracy")


def test_threshold_never_reached_gives_nan(data):
    study = run_study({"plain": plain}, data, seeds=[0, 1], epochs=2, threshold=1.0, progress=False)
    assert study.runs["epoch_to_threshold"].isna().all() and study.runs["epoch_staying_above"].isna().all()
    summary = study.summary().loc["plain"]
    assert summary["n_reached"] == 0
    # Censored at the last epoch (2), not dropped: the restricted mean is 2 epochs, not NaN.
    assert (summary["epoch_to_threshold_mean"], summary["epoch_to_threshold_ci_low"]) == (2.0, 2.0)


def test_plot_curves_draws_one_mean_line_and_band_per_config(study):
    ax = study.plot_curves(metric="val_loss")
    assert len(ax.get_lines()) == 3
    assert len(ax.collections) == 3
    mean_line = ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(mean_line, study.curves["bn"]["val_loss"].mean(axis=0))
    assert ax.get_ylabel() == "val_loss"
    assert [line.get_color() for line in ax.get_lines()] == list(PALETTE[:3])


def test_a_learning_rate_sweep_trains_in_one_graph_as_each_config_alone(data):
    """Configs that differ only by learning rate stack; each config's runs equal those of a study of it alone."""
    configs = {f"lr {lr}": (lambda lr=lr: compile_model(plain(), learning_rate=lr)) for lr in (0.001, 0.1)}
    together = run_study(configs, data, seeds=SEEDS, epochs=EPOCHS, progress=False)
    alone = run_study({"lr 0.1": configs["lr 0.1"]}, data, seeds=SEEDS, epochs=EPOCHS, progress=False)
    np.testing.assert_allclose(together.curves["lr 0.1"]["val_loss"], alone.curves["lr 0.1"]["val_loss"], rtol=1e-5)
    assert list(together.runs["config"].unique()) == list(configs)
    assert not np.allclose(together.curves["lr 0.1"]["loss"], together.curves["lr 0.001"]["loss"])


@pytest.mark.parametrize("arguments, message", [
    ({"seeds": 5}, "range(5)"),
    ({"seeds": []}, "non-empty iterable of integers"),
    ({"threshold": 80}, "between 0 and 1"),
    ({"epochs": 0}, "positive integer"),
])
def test_bad_arguments_say_what_was_expected(data, arguments, message):
    with pytest.raises((TypeError, ValueError)) as error:
        run_study({"plain": plain}, data, **{"progress": False, **arguments})
    assert message in str(error.value)
    with pytest.raises(TypeError, match="non-empty dict"):
        run_study([plain], data)


def test_old_imports_still_work():
    from bn_course.study import (  # noqa: F401
        first_epoch_reaching, first_epoch_staying, kaplan_meier, paired_difference, plot_curves,
        restricted_mean_epochs)
    from bn_course import study as study_module
    assert study_module.mean_confidence_interval is statistics.mean_confidence_interval
    assert study_module.plot_paired_differences is study_plots.plot_paired_differences
    assert not hasattr(study_module, "_half_width")  # no notebook imports the private name any more


def test_area_under_curve_is_the_mean_over_epochs_per_run(study):
    np.testing.assert_allclose(area_under_curve([[0.0, 1.0], [0.5, 0.5]]), [0.5, 0.5])
    curves = study.curves["plain"]["val_accuracy"]
    # Each epoch's value counts for one epoch of width: the area is the sum, divided by the number of epochs.
    np.testing.assert_allclose(area_under_curve(curves), [sum(row) / len(row) for row in curves.tolist()])
    with pytest.raises(ValueError, match=r"shape \(runs, epochs\)"):
        area_under_curve(np.ones(3))


def test_every_summary_column_the_solutions_read_exists(study):
    """The released notebooks read these columns (by name, by row attribute, or as column + suffix)."""
    sources = []
    for notebook in sorted(SOLUTIONS.glob("*/*.ipynb")):
        sources += ["".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"]
                    if cell["cell_type"] == "code"]
    code = "\n".join(sources)
    pattern = (r"\b((?:test_accuracy|train_accuracy|epoch_to_threshold|epoch_staying_above|speed)_"
               r"(?:mean|ci_low|ci_high|n_reached)|n_runs|n_reached)\b")
    used = set(re.findall(pattern, code))
    for column in re.findall(r"interval\(row, '(\w+)'", code):  # 03: interval(row, 'epoch_to_threshold', 1)
        used |= {f"{column}_mean", f"{column}_ci_low", f"{column}_ci_high"}
    assert {"epoch_to_threshold_mean", "n_reached", "test_accuracy_ci_low", "speed_n_reached",
            "epoch_staying_above_n_reached"} <= used  # the scan finds them
    assert used <= set(study.summary().columns)
    for column in ("seed", "epoch_to_threshold", "test_accuracy"):
        assert f'"{column}"' in code and column in study.runs.columns


def test_compare_is_the_paired_t_interval_by_seed(study):
    runs = study.runs.pivot(index="seed", columns="config", values="test_accuracy")
    differences = (runs["plain"] - runs["bn"]).to_numpy()
    result = study.compare("bn", "plain", metric="test_accuracy", margin=0.01)
    assert result.n == len(SEEDS) and (result.a, result.b) == ("bn", "plain")
    assert (result.mean_difference, result.ci_low, result.ci_high) == pytest.approx(t_interval(differences))
    assert result.a_reached is None
    assert "plain - bn, test_accuracy" in str(result)


def test_compare_speed_censors_and_counts_reached(study):
    result = study.compare("bn", "deep", margin=1)  # metric="speed": the primary, epoch_staying_above
    assert result.metric == "epoch_staying_above" and result.last_epoch == EPOCHS
    runs = study.runs.pivot(index="seed", columns="config", values="epoch_staying_above")
    np.testing.assert_array_equal(result.differences, (runs["deep"].fillna(EPOCHS) - runs["bn"].fillna(EPOCHS)))
    assert (result.a_reached, result.b_reached) == (runs["bn"].notna().sum(), runs["deep"].notna().sum())
    first = study.compare("bn", "deep", metric="speed", speed_metric="epoch_to_threshold", margin=1)
    assert first.metric == "epoch_to_threshold"


def test_comparisons_table(study):
    table = study.comparisons("bn", "test_accuracy", 0.01)
    assert list(table.index) == ["plain", "deep"]
    assert (table["a"] == "bn").all() and list(table["b"]) == ["plain", "deep"]
    runs = study.runs.pivot(index="seed", columns="config", values="test_accuracy")
    for config in ("plain", "deep"):
        mean, low, high = t_interval(runs[config] - runs["bn"])
        assert (table.loc[config, "mean_difference"], table.loc[config, "ci_low"], table.loc[config, "ci_high"]) == \
            pytest.approx((mean, low, high))
    assert table["a_reached"].isna().all()
    with pytest.raises(TypeError, match="margin="):
        study.comparisons("bn", "test_accuracy")
    ax = study.plot_comparisons("bn", "test_accuracy", 0.01)
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    # one dot per config, in the colour the config has in plot_curves (plain is the 2nd config, deep the 3rd)
    assert [dot.get_color() for dot in dots] == [PALETTE[1], PALETTE[2]]
    assert [dot.get_xdata()[0] for dot in dots] == pytest.approx(list(table["mean_difference"]))


@pytest.mark.parametrize("arguments, message", [
    ({"a": "nope", "b": "bn"}, "one of the study's configs"),
    ({"a": "bn", "b": "plain", "metric": "loss"}, "metric must be 'speed' or one of"),
])
def test_compare_bad_arguments(study, arguments, message):
    with pytest.raises(ValueError, match=message):
        study.compare(**arguments, margin=1)


def synthetic_study():
    """Hand-made curves, 3 seeds x 6 epochs, threshold 0.8: no training."""
    curves = {
        "spiky": np.array([[0.5, 0.85, 0.6, 0.7, 0.82, 0.9],   # first crossing 2, stays from 5
                           [0.5, 0.6, 0.81, 0.9, 0.9, 0.9],    # 3 and 3
                           [0.9, 0.5, 0.5, 0.5, 0.5, 0.5]]),   # 1, never stays
        "steady": np.array([[0.5, 0.6, 0.81, 0.85, 0.9, 0.9],  # 3 and 3
                            [0.5, 0.6, 0.7, 0.81, 0.9, 0.9],   # 4 and 4
                            [0.5, 0.6, 0.7, 0.75, 0.79, 0.8]]),  # 6 and 6
    }
    rows = []
    for config, values in curves.items():
        for seed, curve in enumerate(values):
            reached = np.flatnonzero(curve >= 0.8)
            rows.append({"config": config, "seed": seed, "train_accuracy": 0.8, "test_accuracy": curve[-1],
                         "epoch_to_threshold": reached[0] + 1.0 if reached.size else np.nan,
                         "epoch_staying_above": staying_epoch(curve, 0.8)})
    return Study(runs=pd.DataFrame(rows), curves={c: {"val_accuracy": v} for c, v in curves.items()}, threshold=0.8)


def test_a_spike_makes_the_first_crossing_fast_but_not_the_primary_metric():
    study = synthetic_study()
    summary = study.summary()
    # first crossing: spiky 2, 3, 1 -> 2.0; steady 3, 4, 6 -> 4.33
    assert summary.loc["spiky", "epoch_to_threshold_mean"] == pytest.approx(2.0)
    assert summary.loc["steady", "epoch_to_threshold_mean"] == pytest.approx(13 / 3)
    # staying: spiky 5, 3, censored at 6 -> 14/3 with 2 reached; steady 3, 4, 6 -> 13/3 with 3 reached
    assert summary.loc["spiky", "speed_mean"] == pytest.approx(14 / 3)
    assert summary.loc["spiky", "speed_n_reached"] == 2 and summary.loc["steady", "speed_n_reached"] == 3
    result = study.compare("steady", "spiky", margin=1)
    np.testing.assert_array_equal(result.differences, [2, -1, 0])
    assert (result.a_reached, result.b_reached) == (3, 2)
    assert "reached 3/3 (steady) vs 2/3 (spiky)" in str(result)
    km = study.kaplan_meier()
    np.testing.assert_allclose(km["spiky"].fraction_reached, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(km["steady"].fraction_reached, [0, 0, 0, 1 / 3, 2 / 3, 2 / 3, 1])
    ax = study.plot_time_to_threshold()
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [0, 0, 0, 1 / 3, 2 / 3, 2 / 3, 1])


def test_kaplan_meier_of_a_trained_study_is_the_fraction_reached(study):
    for config, curve in study.kaplan_meier("epoch_to_threshold").items():
        epochs = study.runs.loc[study.runs["config"] == config, "epoch_to_threshold"].to_numpy()
        expected = [np.sum(epochs <= e) / len(SEEDS) for e in range(EPOCHS + 1)]  # NaN <= e is False
        np.testing.assert_allclose(curve.fraction_reached, expected)
