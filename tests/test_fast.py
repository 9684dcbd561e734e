"""The compiled trainer trains like model.fit: step for step on every kind of model the course uses.

Tolerances are measured, not chosen: two correct implementations of one epoch of training differ by rounding,
and how much depends on the model, the CPU and its instruction set. Each paired check therefore measures fit
against itself in the same run -- with oneDNN's kernels on and off (TF_ENABLE_ONEDNN_OPTS), and from initial
weights one float32 ulp apart -- and requires the trainer to be within twice the larger of the two.
"""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras
import tensorflow as tf

import zoo
from bn_course.data import load_circles
from bn_course.fast import adam_update, clear_cache, epoch_order, sgd_update, train_fast, train_stacked
from bn_course.training import compile_model, set_seed

L = keras.layers
REFERENCE_SCRIPT = Path(__file__).with_name("fit_reference.py")
ONE_EPOCH_SEED = 3
DRIFT_SEEDS = (0, 1, 2)


def fit_in_subprocess(out, names, *, seed, epochs=1, onednn="0", nudge=False):
    """Run tests/fit_reference.py with oneDNN on or off; returns its arrays."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn,
           "PYTHONPATH": os.pathsep.join([str(REFERENCE_SCRIPT.parent), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, str(REFERENCE_SCRIPT), str(out), *names, "--seed", str(seed), "--epochs", str(epochs)]
    subprocess.run(command + (["--nudge"] if nudge else []), env=env, check=True, capture_output=True)
    return dict(np.load(out))


def in_parallel(*calls):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def largest_difference(arrays, other, name):
    finals = sorted(key for key in arrays if key.startswith(f"{name}/final/"))
    return max(float(np.max(np.abs(arrays[key].astype(float) - other[key]))) for key in finals)


def train_from(arrays, name, seed, *, epochs, stacked_with=None):
    """The trainer's result, as fit_reference.py's arrays, from the initial variables fit started from; with
    `stacked_with` (a seed), trained in one graph beside a model of that seed, shuffled by that seed."""
    model = zoo.build(name, seed)
    for index, variable in enumerate(model.variables):
        variable.assign(arrays[f"{name}/initial/{index}"])
    others = [] if stacked_with is None else [zoo.build(name, stacked_with)]
    result = train_stacked([model, *others], zoo.dataset(name), epochs=epochs, random_states=[seed, *([stacked_with] * len(others))],
                           validate=False)
    history = {key: curves[0] for key, curves in result.history.items()}
    return {f"{name}/final/{index}": np.asarray(variable) for index, variable in enumerate(model.variables)}, history


@pytest.fixture(scope="module")
def one_epoch_references(tmp_path_factory):
    """fit's one-epoch results for every zoo model: oneDNN off (the reference), oneDNN on, and nudged."""
    folder, names = tmp_path_factory.mktemp("fit"), list(zoo.MODELS)
    off, on, nudged = in_parallel(
        lambda: fit_in_subprocess(folder / "off.npz", names, seed=ONE_EPOCH_SEED),
        lambda: fit_in_subprocess(folder / "on.npz", names, seed=ONE_EPOCH_SEED, onednn="1"),
        lambda: fit_in_subprocess(folder / "nudged.npz", names, seed=ONE_EPOCH_SEED, nudge=True))
    return off, on, nudged


@pytest.mark.parametrize("name", list(zoo.MODELS))
def test_one_epoch_matches_fit(one_epoch_references, name):
    """Alone (train_fast's path) and stacked beside another seed (vectorized_map's path), the trainer ends one
    epoch within twice fit's own variation of fit's weights and moving statistics."""
    off, on, nudged = one_epoch_references
    onednn, rounding = largest_difference(off, on, name), largest_difference(off, nudged, name)
    tolerance = 2 * max(onednn, rounding)
    for stacked_with in (None, ONE_EPOCH_SEED + 1):
        trained, history = train_from(off, name, ONE_EPOCH_SEED, epochs=1, stacked_with=stacked_with)
        difference = largest_difference(off, trained, name)
        how = "alone" if stacked_with is None else "stacked"
        print(f"{name} ({how}): trainer - fit {difference:.2e}; fit oneDNN on - off {onednn:.2e}; "
              f"fit nudged - fit {rounding:.2e}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')}")
        assert difference <= tolerance, (
            f"{name} ({how}): the trainer's weights after one epoch differ from fit's by {difference:.2e}, more than "
            f"twice fit's own variation ({onednn:.2e} oneDNN on/off, {rounding:.2e} from one ulp)")
        # fit's epoch loss: the batch losses' mean, insensitive to the last bits of the weights.
        np.testing.assert_allclose(history["loss"][0], off[f"{name}/loss"][0], rtol=1e-5)


def test_weight_drift_over_100_epochs_stays_at_fit_s_own(tmp_path):
    """Three seeds of the seed model, 100 epochs: the trainer drifts from fit no more than fit drifts from itself."""
    name = "bn_after"
    references = in_parallel(*[lambda seed=seed, nudge=nudge: fit_in_subprocess(
        tmp_path / f"{seed}-{nudge}.npz", [name], seed=seed, epochs=100, nudge=nudge)
        for seed in DRIFT_SEEDS for nudge in (False, True)])
    fits, nudged_fits = references[::2], references[1::2]
    # fit's own drift, pooled over the seeds: one nudge is one draw of a rounding process.
    own_drift = max(largest_difference(fit, nudged, name) for fit, nudged in zip(fits, nudged_fits))
    for seed, fit in zip(DRIFT_SEEDS, fits):
        trained, history = train_from(fit, name, seed, epochs=100)
        drift = largest_difference(fit, trained, name)
        print(f"seed {seed}: trainer - fit {drift:.2e}; fit nudged - fit, largest over the seeds, {own_drift:.2e}")
        assert drift <= 2 * own_drift, f"seed {seed}: drift {drift:.2e} against fit's own {own_drift:.2e}"
        # Per-epoch losses: means over an epoch's batches, as insensitive to the last bits as the one-epoch loss.
        np.testing.assert_allclose(history["loss"], fit[f"{name}/loss"], rtol=1e-5)


@pytest.mark.parametrize("optimizer, update", [
    (lambda: keras.optimizers.SGD(learning_rate=0.1), sgd_update),
    (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9), sgd_update),
    (lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True), sgd_update),
    (lambda: keras.optimizers.Adam(learning_rate=0.01), adam_update),
    (lambda: keras.optimizers.Adam(learning_rate=0.001, beta_1=0.8, beta_2=0.99, epsilon=1e-4), adam_update),
])
def test_update_rules_equal_the_keras_optimizer_over_100_steps(optimizer, update):
    keras_optimizer = optimizer()
    rng = np.random.default_rng(0)
    variables = [keras.Variable(rng.normal(size=shape).astype(np.float32)) for shape in [(3, 4), (4,)]]
    keras_optimizer.build(variables)
    config = keras_optimizer.get_config()
    settings = {key: config[key] for key in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon") if key in config}
    values = [tf.constant(np.asarray(v)) for v in variables]
    slots = [[tf.zeros_like(value)] * (2 if update is adam_update else int(config.get("momentum", 0) != 0)) for value in values]
    for step in range(1, 101):
        gradients = [tf.constant(rng.normal(size=v.shape).astype(np.float32)) for v in variables]
        keras_optimizer.apply(gradients, variables)
        for i, gradient in enumerate(gradients):
            values[i], slots[i] = update(values[i], gradient, slots[i], tf.constant(config["learning_rate"], tf.float32),
                                         tf.constant(step, tf.float32), **settings)
    for value, variable in zip(values, variables):
        np.testing.assert_allclose(value.numpy(), np.asarray(variable), rtol=1e-6, atol=1e-7)


def twin_models(build, seed):
    """Two models with identical variables, seed-generator states included (set_weights skips those)."""
    set_seed(seed)
    first, second = build(), build()
    for target, source in zip(second.variables, first.variables, strict=True):
        target.assign(source)
    return first, second


def dropout_model(learning_rate=0.01):
    model = keras.Sequential([keras.Input(shape=(2,)), L.Dense(50, activation="relu", kernel_initializer="he_uniform"),
                              L.BatchNormalization(), L.Dropout(0.3), L.Dense(1, activation="sigmoid")])
    return compile_model(model, learning_rate=learning_rate)


@pytest.fixture(scope="module")
def data():
    return load_circles()


def test_stacked_runs_train_as_if_alone(data):
    """Seeds, learning rates and initial weight scales stack: each run ends as train_fast alone would end it."""
    def scaled_model(scale, learning_rate):
        def build():
            model = dropout_model(learning_rate)
            model.layers[0].kernel.assign(model.layers[0].kernel * scale)
            return model
        return build

    runs = [(0, 0.3, 0.01), (1, 1.0, 0.1), (2, 3.0, 0.001)]
    pairs = [twin_models(scaled_model(scale, lr), seed) for seed, scale, lr in runs]
    result = train_stacked([together for together, _ in pairs], data, epochs=2, random_states=[r[0] for r in runs])
    for index, ((seed, _, _), (together, alone)) in enumerate(zip(runs, pairs)):
        history = train_fast(alone, data, epochs=2, random_state=seed)
        np.testing.assert_allclose(result.history["val_loss"][index], history["val_loss"], rtol=1e-5)
        for a, b in zip(together.variables, alone.variables, strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5, rtol=1e-5)
    assert len({tuple(curve) for curve in result.history["loss"]}) == 3, "the runs must differ"


def test_history_and_trained_model(data):
    set_seed(0)
    model = zoo.MODELS["bn_after"][1]()
    history = train_fast(model, data, epochs=5, random_state=0)
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for values in history.values():
        assert values.shape == (5,) and values.dtype == float and np.all(np.isfinite(values))
    val_loss, val_accuracy = model.evaluate(data.X_test, data.y_test, verbose=0)
    assert history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(val_accuracy, abs=1e-6)
    assert history["loss"][-1] < history["loss"][0]
    assert set(train_fast(model, data, epochs=2, validate=False)) == {"loss", "accuracy"}


def test_softmax_history_matches_evaluate():
    model, data = zoo.build("conv1d_bn", 0), zoo.dataset("conv1d_bn")
    history = train_fast(model, data, epochs=2, random_state=0)
    val_loss, val_accuracy = model.evaluate(data.X_test, data.y_test, verbose=0)
    assert history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(val_accuracy, abs=1e-6)


def test_probes_are_quantiles_of_the_layer_output_on_the_test_set(data):
    set_seed(0)
    model = compile_model(keras.Sequential([keras.Input(shape=(2,)), L.Dense(8, name="pre"), L.BatchNormalization(),
                                            L.Activation("sigmoid"), L.Dense(1, activation="sigmoid")]))
    result = train_stacked([model], data, epochs=3, random_states=[0], probe_layers=["pre"], probe_quantiles=(0.15, 0.5, 0.85))
    assert result.probes["pre"].shape == (1, 3, 3, 8)
    outputs = keras.Model(model.inputs, model.get_layer("pre").output).predict(data.X_test, verbose=0)
    np.testing.assert_allclose(result.probes["pre"][0, -1], np.quantile(outputs, [0.15, 0.5, 0.85], axis=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(result.probes["pre"][0, 0], result.probes["pre"][0, -1]), "the layer moves during training"


def test_same_call_same_numbers_other_seed_other_numbers(data):
    runs = []
    for random_state in (5, 5, 6):
        set_seed(0)
        runs.append(train_fast(dropout_model(), data, epochs=3, random_state=random_state))
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])
    assert not np.array_equal(runs[0]["loss"], runs[2]["loss"])


def test_kept_graphs_are_reused_only_for_the_same_architecture(data):
    """A kept graph gives the numbers of a fresh one, and a layer setting that differs is never served a kept graph."""
    def run(momentum):
        set_seed(0)
        model = compile_model(keras.Sequential([keras.Input(shape=(2,)), L.Dense(8, activation="relu"),
                                                L.BatchNormalization(momentum=momentum), L.Dense(1, activation="sigmoid")]))
        return train_fast(model, data, epochs=3, random_state=0), model.get_weights()

    clear_cache()
    fresh_history, fresh_weights = run(0.5)
    run(0.9)
    kept_history, kept_weights = run(0.5)
    other_history, _ = run(0.9)
    for key in fresh_history:
        np.testing.assert_array_equal(fresh_history[key], kept_history[key])
    for fresh, kept in zip(fresh_weights, kept_weights, strict=True):
        np.testing.assert_array_equal(fresh, kept)
    assert not np.array_equal(fresh_history["val_loss"], other_history["val_loss"])


def test_epoch_order_is_a_new_permutation_every_epoch():
    first, second = epoch_order(500, random_state=0, epoch=0), epoch_order(500, random_state=0, epoch=1)
    np.testing.assert_array_equal(np.sort(first), np.arange(500))
    np.testing.assert_array_equal(np.sort(second), np.arange(500))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, epoch_order(500, random_state=1, epoch=0))


def test_a_relu_layer_trains_like_activation_relu():
    data = load_circles(n_samples=200, n_train=100)
    histories = []
    for relu in (lambda: L.Activation("relu"), lambda: L.ReLU()):
        set_seed(5)
        model = keras.Sequential([keras.Input(shape=(2,)), L.Dense(8), L.BatchNormalization(), relu(),
                                  L.Dense(1, activation="sigmoid")])
        histories.append(train_fast(model, data, epochs=3, random_state=5))
    for name in histories[0]:
        np.testing.assert_allclose(histories[0][name], histories[1][name], rtol=1e-6)


@pytest.mark.parametrize("build, compile_arguments, message", [
    (lambda: [L.Dense(4), L.UnitNormalization()], {}, "'unit_normalization' is a UnitNormalization"),
    (lambda: [L.Dense(4, kernel_regularizer="l2")], {}, "kernel_regularizer"),
    (lambda: [L.Dense(4)], {"loss": "mse"}, "the model is compiled with 'mse'"),
    (lambda: [L.Dense(4)], {"loss": keras.losses.BinaryCrossentropy(from_logits=True)}, "no logits"),
    (lambda: [L.Dense(4)], {"optimizer": keras.optimizers.RMSprop()}, "compiled with RMSprop"),
    (lambda: [L.Dense(4)], {"optimizer": keras.optimizers.SGD(clipnorm=1.0)}, "['clipnorm']"),
    (lambda: [L.Dense(4)], {"optimizer": keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))},
     "a learning-rate schedule"),
])
def test_unsupported_models_are_refused_with_the_reason(data, build, compile_arguments, message):
    model = keras.Sequential([keras.Input(shape=(2,)), *build(), L.Dense(1, activation="sigmoid")])
    model.compile(**{"optimizer": "sgd", "loss": "binary_crossentropy", **compile_arguments})
    with pytest.raises((TypeError, ValueError), match=None) as error:
        train_fast(model, data, epochs=1)
    assert message in str(error.value)


def test_mismatched_arguments_are_refused(data):
    set_seed(0)
    with pytest.raises(ValueError, match="one random state per model"):
        train_stacked([dropout_model()], data, random_states=[0, 1])
    with pytest.raises(ValueError, match="same layers"):
        train_stacked([dropout_model(), zoo.MODELS["bn_after"][1]()], data, random_states=[0, 1])


def test_training_leaves_the_graph_optimizer_setting_as_it_was():
    before = tf.config.optimizer.get_experimental_options()
    set_seed(0)
    train_fast(keras.Sequential([keras.Input(shape=(2,)), L.Dense(1, activation="sigmoid")]),
               load_circles(n_samples=100, n_train=50), epochs=1)
    assert tf.config.optimizer.get_experimental_options() == before


def test_probing_a_missing_layer_names_the_layers(data):
    set_seed(0)
    with pytest.raises(ValueError, match="no layer named 'nowhere' to probe"):
        train_stacked([dropout_model()], data, epochs=1, random_states=[0], probe_layers=["nowhere"])
