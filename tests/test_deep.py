"""bn_course.deep (notebook 6's sweeps and summaries) and the trainer's probes by layer position."""
import re

import matplotlib

matplotlib.use("Agg")

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bn_course.data import Dataset
from bn_course.checks import CheckFailed
from bn_course.deep import (check_initial_weights, compile_classifier, compiled, config_name, final_values,
                            interval_text, paired_table, per_run, plot_percentiles, plot_sweep, proportion_interval,
                            run_sweep)
from bn_course.fast import train_stacked
from bn_course.statistics import mean_confidence_interval, paired_difference
from bn_course.study import Study, run_study

L = keras.layers


@pytest.fixture(scope="module")
def tiny():
    rng = np.random.default_rng(0)
    return Dataset(rng.normal(size=(48, 40)).astype("float32"), rng.integers(0, 10, 48).astype("int32"),
                   rng.normal(size=(20, 40)).astype("float32"), rng.integers(0, 10, 20).astype("int32"))


def small_mlp(batch_norm=False, weight_scale=None, names=False):
    """Input(40) -> Dense(6) -> (BN) -> sigmoid -> Dense(10, softmax); explicit layer names if `names`."""
    initializer = "glorot_uniform" if weight_scale is None else keras.initializers.RandomNormal(stddev=weight_scale)
    name = (lambda text: text) if names else (lambda text: None)
    layers = [keras.Input(shape=(40,)), L.Dense(6, kernel_initializer=initializer, name=name("hidden"))]
    layers += [L.BatchNormalization(name=name("bn"))] if batch_norm else []
    layers += [L.Activation("sigmoid", name=name("sigmoid")), L.Dense(10, activation="softmax", name=name("output"))]
    return keras.Sequential(layers)


def fake_study():
    """A Study of two configs over seeds 2, 0, 1 (rows deliberately not in seed order), 3 epochs, threshold 0.5."""
    runs = pd.DataFrame({"config": ["a"] * 3 + ["b"] * 3, "seed": [2, 0, 1] * 2,
                         "train_accuracy": [0.5] * 6, "test_accuracy": [0.32, 0.30, 0.31, 0.40, 0.37, 0.41],
                         "epoch_to_threshold": [np.nan, 3.0, 2.0, 1.0, 1.0, 2.0],
                         "epoch_staying_above": [np.nan, 3.0, 2.0, 1.0, 1.0, 2.0]})
    curve = lambda last: np.array([[0.1, 0.2, last]] * 3)
    curves = {"a": {"val_accuracy": curve(0.3), "val_loss": curve(np.nan)}, "b": {"val_accuracy": curve(0.4),
                                                                                  "val_loss": curve(1.0)}}
    return Study(runs=runs, curves=curves, threshold=0.5)


def wide_mlp(initializers, bias="zeros"):
    """Input(40) -> Dense(200) -> ReLU -> Dense(10, softmax), one kernel initializer per Dense layer."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input(shape=(40,)), L.Dense(200, kernel_initializer=initializers[0],
                                                               bias_initializer=bias),
                             L.Activation("relu"), L.Dense(10, activation="softmax", kernel_initializer=initializers[1])])


def test_check_initial_weights_passes_a_normal_draw_of_that_deviation_on_every_kernel():
    normal = keras.initializers.RandomNormal(stddev=0.05)
    check_initial_weights(wide_mlp([normal, keras.initializers.RandomNormal(stddev=0.05)]), 0.05, "wide")


@pytest.mark.parametrize("initializers, bias, message", [
    (["glorot_uniform", "normal_005"], "zeros", "standard deviation of the kernel of Dense layer 1 of 2"),
    (["normal_005", "glorot_uniform"], "zeros", "standard deviation of the kernel of Dense layer 2 of 2"),
    (["uniform_005", "uniform_005"], "zeros", "largest |weight| / weight_scale of Dense layer 1"),
    (["normal_005", "normal_005"], "ones", "largest |bias| of Dense layer 1"),
])
def test_check_initial_weights_names_the_layer_and_what_is_wrong(initializers, bias, message):
    made = {"normal_005": lambda: keras.initializers.RandomNormal(stddev=0.05),
            "uniform_005": lambda: keras.initializers.RandomUniform(-0.05 * 3 ** 0.5, 0.05 * 3 ** 0.5),
            "glorot_uniform": lambda: "glorot_uniform"}
    with pytest.raises(CheckFailed, match=re.escape(message)):
        check_initial_weights(wide_mlp([made[name]() for name in initializers], bias), 0.05, "wide")


def test_check_initial_weights_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="weight_scale must be a positive number"):
        check_initial_weights(small_mlp(), 0, "small")
    with pytest.raises(ValueError, match="no Dense layer"):
        check_initial_weights(keras.Sequential([keras.Input(shape=(3,)), L.Activation("relu")]), 0.1, "no Dense")


def test_compile_classifier_uses_sgd_and_sparse_categorical_cross_entropy():
    model = compile_classifier(small_mlp(), learning_rate=0.3, momentum=0.5)
    config = model.optimizer.get_config()
    assert (type(model.optimizer).__name__, config["learning_rate"], config["momentum"]) == ("SGD", pytest.approx(0.3), 0.5)
    assert model.loss == "sparse_categorical_crossentropy"
    for bad in (0, -0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="learning_rate must be a positive number"):
            compile_classifier(small_mlp(), learning_rate=bad)


def test_compiled_passes_the_settings_and_compiles():
    model = compiled(small_mlp, learning_rate=0.2, batch_norm=True)()
    assert model.compiled and any(isinstance(layer, L.BatchNormalization) for layer in model.layers)


def test_per_run_is_in_seed_order_and_names_the_configs():
    study = fake_study()
    np.testing.assert_array_equal(per_run(study, "a"), [0.30, 0.31, 0.32])
    np.testing.assert_array_equal(per_run(study, "b", "epoch_staying_above"), [1.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"one of the study's configs \['a', 'b'\]"):
        per_run(study, "c")


def test_final_values_keeps_a_diverged_run_s_nan():
    values = final_values(fake_study(), "val_loss")
    assert values.shape == (2, 3) and np.isnan(values[0]).all() and (values[1] == 1.0).all()


def test_paired_table_is_study_compare_row_by_row():
    study = fake_study()
    table = paired_table(study, [("b vs a", "a", "b")], metric="test_accuracy", margin=0.02)
    expected = paired_difference(per_run(study, "a"), per_run(study, "b"), margin=0.02)
    assert list(table.index) == ["b vs a"]
    assert table.loc["b vs a", "mean_difference"] == pytest.approx(expected.mean_difference)
    assert table.loc["b vs a", "ci_low"] == pytest.approx(expected.ci_low)
    speed = paired_table(study, [("b vs a", "a", "b")], metric="speed", margin=1)
    assert (speed.loc["b vs a", "a_reached"], speed.loc["b vs a", "b_reached"]) == (2, 3)  # censored, not dropped
    assert speed.loc["b vs a", "mean_difference"] == pytest.approx(np.mean([1 - 3, 2 - 2, 1 - 3]))


def test_proportion_interval_is_clopper_pearson():
    fraction, low, high = proportion_interval(3, 5)
    interval = stats.binomtest(3, 5).proportion_ci(method="exact")
    assert (fraction, low, high) == (0.6, pytest.approx(interval.low), pytest.approx(interval.high))
    assert proportion_interval(0, 5)[1] == 0.0 and proportion_interval(5, 5)[2] == 1.0
    for successes, n in ((6, 5), (-1, 5), (0, 0)):
        with pytest.raises(ValueError, match="0 <= successes <= n"):
            proportion_interval(successes, n)


def test_interval_text_prints_the_t_interval():
    mean, low, high = mean_confidence_interval([0.1, 0.2, 0.4])
    assert interval_text([0.1, 0.2, 0.4], digits=2) == f"{mean:.2f} ({low:.2f}-{high:.2f})"


def test_run_sweep_trains_each_value_as_its_own_study(tiny):
    """A learning-rate sweep stacks its values in one graph; each value trains as a study of its own would."""
    sweep = run_sweep(small_mlp, "learning_rate", [0.05, 1.0], tiny, seeds=[0, 1], epochs=2, threshold=0.2)
    assert list(sweep.curves) == [config_name("learning_rate", 0.05), "learning_rate=1"]
    alone = run_study({"alone": compiled(small_mlp, learning_rate=1.0)}, tiny, seeds=[0, 1], epochs=2, threshold=0.2,
                      progress=False)
    np.testing.assert_allclose(sweep.curves["learning_rate=1"]["val_loss"], alone.curves["alone"]["val_loss"], rtol=1e-5)
    assert not np.allclose(sweep.curves["learning_rate=0.05"]["val_loss"], alone.curves["alone"]["val_loss"])


def test_run_sweep_of_a_builder_keyword_sets_the_initial_weights(tiny):
    sweep = run_sweep(small_mlp, "weight_scale", [0.001, 3.0], tiny, seeds=[0, 1], epochs=1, threshold=0.2,
                      learning_rate=0.1)
    alone = run_study({"alone": compiled(small_mlp, learning_rate=0.1, weight_scale=3.0)}, tiny, seeds=[0, 1], epochs=1,
                      threshold=0.2, progress=False)
    np.testing.assert_allclose(sweep.curves["weight_scale=3"]["val_loss"], alone.curves["alone"]["val_loss"], rtol=1e-5)
    assert not np.allclose(sweep.curves["weight_scale=0.001"]["val_loss"], alone.curves["alone"]["val_loss"])


def test_run_sweep_refuses_what_it_cannot_do(tiny):
    with pytest.raises(ValueError, match="at least one value"):
        run_sweep(small_mlp, "learning_rate", [], tiny, seeds=[0], epochs=1, threshold=0.2)
    with pytest.raises(ValueError, match="needs learning_rate"):
        run_sweep(small_mlp, "weight_scale", [0.1], tiny, seeds=[0], epochs=1, threshold=0.2)


def test_plot_sweep_draws_one_line_per_series_and_checks_shapes():
    ax = plot_sweep([0.1, 1.0], {"x": np.ones((2, 3)), "y": np.zeros((2, 3))}, xlabel="lr", ylabel="accuracy")
    assert len(ax.get_lines()) == 2 and ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="one row per value"):
        plot_sweep([0.1, 1.0], {"x": np.ones((3, 3))}, xlabel="lr", ylabel="accuracy")
    plt.close("all")


def test_plot_percentiles_draws_three_lines_in_steps():
    probes = np.arange(2 * 4 * 3 * 5, dtype=float).reshape(2, 4, 3, 5)
    ax = plot_percentiles(probes, steps_per_epoch=10, unit=1)
    lines = ax.get_lines()[:3]
    np.testing.assert_array_equal(lines[0].get_xdata(), [10, 20, 30, 40])
    np.testing.assert_array_equal(lines[1].get_ydata(), probes[0, :, 1, 1])
    with pytest.raises(ValueError, match=r"shape \(seeds, epochs, quantiles, units\)"):
        plot_percentiles(probes[0], steps_per_epoch=10)
    plt.close("all")


def test_probes_by_position_equal_probes_by_name(tiny):
    """Layers with automatic names (different in every model) are probed by position, negative from the end."""
    def models(names):
        built = []
        for seed in (0, 1):
            keras.utils.set_random_seed(seed)
            built.append(compile_classifier(small_mlp(batch_norm=True, names=names), learning_rate=0.1))
        return built

    by_name = train_stacked(models(True), tiny, epochs=2, random_states=[0, 1], probe_layers=["bn"]).probes["bn"]
    automatic = models(False)
    assert automatic[0].layers[1].name != automatic[1].layers[1].name
    result = train_stacked(automatic, tiny, epochs=2, random_states=[0, 1], probe_layers=[-3, 1])
    assert set(result.probes) == {-3, 1}
    np.testing.assert_allclose(result.probes[-3], by_name, rtol=1e-6)
    np.testing.assert_allclose(result.probes[1], by_name, rtol=1e-6)
    with pytest.raises(ValueError, match="no layer at position 4 to probe; the model has 4 layers"):
        train_stacked(automatic, tiny, epochs=1, random_states=[0, 1], probe_layers=[4])
