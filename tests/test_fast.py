"""The compiled trainer trains like model.fit: step for step like train_on_batch, and statistically like fit."""
import numpy as np
import pytest

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras
import tensorflow as tf

from bn_course.data import load_circles
from bn_course.fast import _has_layer_gradients, clear_cache, epoch_order, train_fast, train_stacked
from bn_course.metrics import first_epoch_reaching
from bn_course.training import compile_model, set_seed

L = keras.layers


@pytest.fixture(scope="module")
def data():
    return load_circles()


def seed_model():
    """The course's seed model: 2-50(relu)-BN-1(sigmoid)."""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        L.Dense(50, activation="relu", kernel_initializer="he_uniform"),
        L.BatchNormalization(),
        L.Dense(1, activation="sigmoid"),
    ])


def bn_everywhere_model():
    """BN on the input without affine parameters, BN before the activation with momentum 0, a plain tail."""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        L.BatchNormalization(center=False, scale=False),
        L.Dense(50, kernel_initializer="he_uniform"),
        L.BatchNormalization(momentum=0.0),
        L.Activation("relu"),
        L.Dense(20, activation="relu", kernel_initializer="he_uniform"),
        L.Dense(1, activation="sigmoid"),
    ])


def dropout_model():
    return keras.Sequential([
        keras.Input(shape=(2,)),
        L.Dense(50, activation="relu", kernel_initializer="he_uniform"),
        L.BatchNormalization(),
        L.Dropout(0.3),
        L.Dense(1, activation="sigmoid"),
    ])


def activations_model():
    """Every activation with a backward step of its own (tanh, sigmoid, linear), and a separate output sigmoid."""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        L.Dense(16, activation="tanh"),
        L.BatchNormalization(center=False),
        L.Dense(16, activation="sigmoid"),
        L.Dropout(0.0),
        L.Dense(8),
        L.BatchNormalization(scale=False, momentum=0.5),
        L.ReLU(),
        L.Dense(1),
        L.Activation("sigmoid"),
    ])


def tape_model():
    """Layers without a backward step of their own (elu, leaky ReLU, a frozen BN): trained through a GradientTape."""
    frozen = L.BatchNormalization()
    frozen.trainable = False
    return keras.Sequential([
        keras.Input(shape=(2,)),
        L.Dense(16, activation="elu"),
        frozen,
        L.Dense(8),
        L.ReLU(negative_slope=0.2),
        L.BatchNormalization(),
        L.Dense(1, activation="sigmoid"),
    ])


def twin_models(build, random_state):
    """Two compiled models with identical initial weights."""
    set_seed(random_state)
    first = compile_model(build())
    second = compile_model(keras.models.clone_model(first))
    second.set_weights(first.get_weights())
    return first, second


@pytest.mark.parametrize("build, by_layer", [(seed_model, True), (bn_everywhere_model, True),
                                             (activations_model, True), (tape_model, False)])
def test_one_epoch_matches_train_on_batch(data, build, by_layer):
    fast_model, keras_model = twin_models(build, random_state=3)
    assert _has_layer_gradients(fast_model.layers) == by_layer
    history = train_fast(fast_model, data, epochs=1, random_state=11, validate=False)

    order = epoch_order(len(data.X_train), random_state=11, epoch=0)
    batch_losses, batch_accuracies, batch_sizes = [], [], []
    for start in range(0, len(order), 32):
        indices = order[start:start + 32]
        loss, accuracy = keras_model.train_on_batch(data.X_train[indices], data.y_train[indices])
        batch_losses.append(loss)
        batch_accuracies.append(accuracy)
        batch_sizes.append(len(indices))

    assert batch_sizes[-1] == 500 % 32, "the last, partial batch must be trained on too"
    # get_weights() includes BatchNormalization's moving mean and variance.
    for fast_weight, keras_weight in zip(fast_model.get_weights(), keras_model.get_weights(), strict=True):
        np.testing.assert_allclose(fast_weight, keras_weight, atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(history["loss"][0], np.average(batch_losses, weights=batch_sizes), rtol=1e-5)
    np.testing.assert_allclose(history["accuracy"][0], np.average(batch_accuracies, weights=batch_sizes), atol=1e-6)


def test_history_and_trained_model(data):
    set_seed(0)
    model = seed_model()
    history = train_fast(model, data, epochs=5, random_state=0)

    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for values in history.values():
        assert values.shape == (5,) and values.dtype == float and np.all(np.isfinite(values))
    # The model keeps the trained weights and moving statistics: evaluate gives the last validation.
    val_loss, val_accuracy = model.evaluate(data.X_test, data.y_test, verbose=0)
    assert history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert history["val_accuracy"][-1] == pytest.approx(val_accuracy, abs=1e-6)
    assert history["loss"][-1] < history["loss"][0]


def test_without_validation_omits_val_keys(data):
    set_seed(0)
    history = train_fast(seed_model(), data, epochs=2, validate=False)
    assert set(history) == {"loss", "accuracy"}


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
    def bn_with_momentum(momentum):
        return lambda: keras.Sequential([keras.Input(shape=(2,)), L.Dense(8, activation="relu"),
                                         L.BatchNormalization(momentum=momentum), L.Dense(1, activation="sigmoid")])

    def run(build):
        set_seed(0)
        model = build()
        history = train_fast(model, data, epochs=3, random_state=0)
        return history, model.get_weights()

    clear_cache()
    fresh_history, fresh_weights = run(bn_with_momentum(0.5))
    run(bn_with_momentum(0.9))  # same shapes, other momentum: must not reuse the 0.5 graph
    kept_history, kept_weights = run(bn_with_momentum(0.5))
    other_history, _ = run(bn_with_momentum(0.9))
    for key in fresh_history:
        np.testing.assert_array_equal(fresh_history[key], kept_history[key])
    for fresh, kept in zip(fresh_weights, kept_weights, strict=True):
        np.testing.assert_array_equal(fresh, kept)
    assert not np.array_equal(fresh_history["val_loss"], other_history["val_loss"])


def test_epoch_order_is_a_new_permutation_every_epoch():
    first = epoch_order(500, random_state=0, epoch=0)
    second = epoch_order(500, random_state=0, epoch=1)
    np.testing.assert_array_equal(np.sort(first), np.arange(500))
    np.testing.assert_array_equal(np.sort(second), np.arange(500))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, epoch_order(500, random_state=1, epoch=0))


def test_stacked_runs_train_as_if_alone(data):
    """Training seeds together changes nothing for each seed: same weights as train_fast on its own."""
    seeds = [0, 1, 2]
    stacked_models, alone_models = [], []
    for seed in seeds:
        together, alone = twin_models(dropout_model, random_state=seed)
        stacked_models.append(together)
        alone_models.append(alone)
    result = train_stacked(stacked_models, data, epochs=2, random_states=seeds)
    for index, seed in enumerate(seeds):
        history = train_fast(alone_models[index], data, epochs=2, random_state=seed)
        np.testing.assert_allclose(result.history["val_loss"][index], history["val_loss"], rtol=1e-5)
        for together, alone in zip(stacked_models[index].get_weights(), alone_models[index].get_weights(), strict=True):
            np.testing.assert_allclose(together, alone, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_dropout_drops_in_training_mode_only(data, rate):
    """With a learning rate of 0 the weights stay put, so the training-mode loss over the train set equals the
    inference-mode loss on it -- unless dropout is active in training mode, which changes the outputs."""
    set_seed(0)
    model = keras.Sequential([keras.Input(shape=(2,)), L.Dense(50, activation="relu"), L.Dropout(rate),
                              L.Dense(1, activation="sigmoid")])
    compile_model(model, learning_rate=0.0)
    train_as_test = type(data)(data.X_train, data.y_train, data.X_train, data.y_train)
    history = train_fast(model, train_as_test, epochs=2, random_state=0)
    gap = np.abs(history["loss"] - history["val_loss"])
    if rate == 0.0:
        np.testing.assert_allclose(history["loss"], history["val_loss"], rtol=1e-5)
    else:
        assert np.all(gap > 1e-3)
        assert history["loss"][0] != history["loss"][1], "each epoch draws new dropout masks"


def test_unsupported_models_are_refused(data):
    with pytest.raises(TypeError):
        train_fast(keras.Sequential([keras.Input(shape=(2,)), L.Dense(4), L.LayerNormalization(), L.Dense(1, activation="sigmoid")]), data, epochs=1)
    model = compile_model(seed_model())
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError):
        train_fast(model, data, epochs=1)


class _EpochEndAccuracy(keras.callbacks.Callback):
    """Accuracy on (X, y) in inference mode at every epoch end: what validation_data would report, minus
    evaluate's per-epoch set-up cost, which is most of fit's validation time."""

    def __init__(self, X, y):
        super().__init__()
        self.X, self.y = tf.constant(X), y
        self.curve = []

    def on_train_begin(self, logs=None):
        self.predict = tf.function(lambda x: self.model(x, training=False))

    def on_epoch_end(self, epoch, logs=None):
        probabilities = self.predict(self.X).numpy().ravel()
        self.curve.append(np.mean((probabilities > 0.5) == (self.y > 0.5)))


def test_statistically_equivalent_to_fit_over_ten_seeds(data):
    """Over 10 seeds (same initial weights per seed), final test accuracy and epoch to 80 % agree with fit."""
    seeds = range(10)
    fit_final, fit_epochs = [], []
    for seed in seeds:
        set_seed(seed)
        model = compile_model(seed_model())
        validation = _EpochEndAccuracy(data.X_test, data.y_test)
        model.fit(data.X_train, data.y_train, epochs=100, batch_size=32, shuffle=True, verbose=0, callbacks=[validation])
        fit_final.append(validation.curve[-1])
        fit_epochs.append(first_epoch_reaching(validation.curve, 0.8))

    models = []
    for seed in seeds:
        set_seed(seed)
        models.append(seed_model())
    result = train_stacked(models, data, epochs=100, random_states=list(seeds))
    fast_final = result.history["val_accuracy"][:, -1]
    fast_epochs = [first_epoch_reaching(curve, 0.8) for curve in result.history["val_accuracy"]]

    assert None not in fit_epochs and None not in fast_epochs, "the seed model reaches 80 % within 100 epochs"
    assert abs(np.mean(fast_final) - np.mean(fit_final)) <= 0.015, f"final test accuracy: fit {fit_final}, fast {fast_final}"
    assert abs(np.mean(fast_epochs) - np.mean(fit_epochs)) <= 3, f"epoch to 80 %: fit {fit_epochs}, fast {fast_epochs}"


def test_training_leaves_the_graph_optimizer_setting_as_it_was():
    before = tf.config.optimizer.get_experimental_options()
    set_seed(0)
    train_fast(keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")]),
               load_circles(n_samples=100, n_train=50), epochs=1)
    assert tf.config.optimizer.get_experimental_options() == before


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
