"""The study runner: tidy runs, curves, t intervals and a band plot, all reproducible."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras

from bn_course.data import load_circles
from bn_course.fast import train_fast
from bn_course.study import mean_confidence_interval, run_study
from bn_course.training import compile_model, set_seed

L = keras.layers
SEEDS = [0, 1, 2]
EPOCHS = 4


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
    assert list(runs.columns) == ["config", "seed", "train_accuracy", "test_accuracy", "epoch_to_threshold"]
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
        for curve, epoch in zip(curves["val_accuracy"], runs["epoch_to_threshold"]):
            expected = np.flatnonzero(curve >= 0.6)
            assert (np.isnan(epoch) and expected.size == 0) or epoch == expected[0] + 1


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


def test_threshold_never_reached_gives_nan(data):
    study = run_study({"plain": plain}, data, seeds=[0, 1], epochs=2, threshold=1.0, progress=False)
    assert study.runs["epoch_to_threshold"].isna().all()
    assert study.summary().loc["plain", "n_reached"] == 0


def test_plot_curves_draws_one_mean_line_and_band_per_config(study):
    ax = study.plot_curves(metric="val_loss")
    assert len(ax.get_lines()) == 3
    assert len(ax.collections) == 3
    mean_line = ax.get_lines()[0].get_ydata()
    np.testing.assert_allclose(mean_line, study.curves["bn"]["val_loss"].mean(axis=0))
    assert ax.get_ylabel() == "val_loss"


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
