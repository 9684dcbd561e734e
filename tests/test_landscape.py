"""bn_course.landscape: losses and gradients at chosen weights, the blocks of a network, training with measurements."""
import numpy as np
import pytest
import tensorflow as tf

import keras

from bn_course.data import Dataset
from bn_course.fast import epoch_order
from bn_course.landscape import _EPOCH_STRIDE, GradientProbe, train_and_measure
from bn_course.training import set_seed


def small_network(batch_norm=True, *, learning_rate=0.1, momentum=0.0, seed=0):
    """Input(6) -> Dense(5) [-> BN] -> ReLU -> Dense(4) [-> BN] -> ReLU -> Dense(3, softmax), plain SGD."""
    set_seed(seed)
    layers = [keras.Input(shape=(6,))]
    for units in (5, 4):
        layers.append(keras.layers.Dense(units))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation("relu"))
    layers.append(keras.layers.Dense(3, activation="softmax"))
    model = keras.Sequential(layers)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def small_data(n_train=40, n_test=10):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train + n_test, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=n_train + n_test).astype(np.int32)
    return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:])


def keras_loss_and_gradient(model, x, y):
    """The reference: the model's own training-mode call and a tape over its variables, flattened."""
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x, training=True)))
    gradients = tape.gradient(loss, model.trainable_variables)
    return float(loss), np.concatenate([np.asarray(g).ravel() for g in gradients])


@pytest.mark.parametrize("batch_norm", [False, True])
def test_loss_and_gradients_equal_keras_at_the_models_own_weights(batch_norm):
    model = small_network(batch_norm)
    data = small_data()
    x, y = data.X_train[:8], data.y_train[:8]
    probe = GradientProbe(model)
    loss, gradient = probe.loss_and_gradients(probe.flat_weights(), x, y)
    expected_loss, expected_gradient = keras_loss_and_gradient(model, x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4, atol=1e-6)


def test_the_probe_never_changes_the_models_weights_or_moving_statistics():
    model = small_network()
    before = [np.asarray(v).copy() for v in model.variables]
    probe = GradientProbe(model)
    probe.loss_and_gradients(probe.flat_weights() + 1.0, small_data().X_train[:8], small_data().y_train[:8])
    for variable, value in zip(model.variables, before):
        np.testing.assert_array_equal(np.asarray(variable), value)


def test_several_weight_vectors_at_once_equal_one_at_a_time():
    model = small_network()
    data = small_data()
    probe = GradientProbe(model)
    theta = probe.flat_weights()
    thetas = np.stack([theta, theta * 0.5, theta + 0.1])
    losses, gradients = probe.loss_and_gradients(thetas, data.X_train[:8], data.y_train[:8])
    assert losses.shape == (3,) and gradients.shape == (3, probe.n_parameters)
    for row, point in enumerate(thetas):
        loss, gradient = probe.loss_and_gradients(point, data.X_train[:8], data.y_train[:8])
        assert losses[row] == pytest.approx(loss, rel=1e-6)
        np.testing.assert_allclose(gradients[row], gradient, rtol=1e-5, atol=1e-7)
    assert losses[0] != losses[1], "different weights must give different losses"


def test_another_model_of_the_same_architecture_is_evaluated_at_its_own_weights():
    """The compiled evaluation is shared by architecture; the weights and statistics must still be each model's."""
    first, second = small_network(seed=0), small_network(seed=1)
    data = small_data()
    x, y = data.X_train[:8], data.y_train[:8]
    GradientProbe(first).loss_and_gradients(GradientProbe(first).flat_weights(), x, y)
    probe = GradientProbe(second)
    loss, gradient = probe.loss_and_gradients(probe.flat_weights(), x, y)
    expected_loss, expected_gradient = keras_loss_and_gradient(second, x, y)
    assert loss == pytest.approx(expected_loss, rel=1e-5)
    np.testing.assert_allclose(gradient, expected_gradient, rtol=1e-4, atol=1e-6)


def test_blocks_follow_the_dense_layers_and_their_bn():
    model = small_network(batch_norm=True)
    probe = GradientProbe(model)
    # block 0: kernel 6x5, bias 5, gamma 5, beta 5; block 1: kernel 5x4, bias 4, gamma 4, beta 4; block 2: 4x3 + 3
    np.testing.assert_array_equal(np.bincount(probe.blocks), [45, 32, 15])
    assert probe.n_parameters == 92 == probe.blocks.size
    theta = probe.flat_weights()
    dense_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for block, layer in enumerate(dense_layers):
        np.testing.assert_array_equal(theta[probe.kernel(block)], np.asarray(layer.kernel).ravel())
    with pytest.raises(ValueError, match="block must be between 0 and 2"):
        probe.kernel(3)


def test_sgd_step_is_one_plain_sgd_step():
    model = small_network(learning_rate=0.25)
    probe = GradientProbe(model)
    theta, gradient = np.arange(4, dtype=np.float32), np.array([1.0, -2.0, 0.0, 4.0], np.float32)
    np.testing.assert_allclose(probe.sgd_step(theta, gradient), theta - 0.25 * gradient)


def test_train_and_measure_measures_on_the_batch_the_next_step_uses_and_trains_as_plain_sgd():
    """Replaying the epoch by hand, batch by batch with the probe, gives the trained weights; the measured batch is
    the first one of that epoch."""
    data = small_data(n_train=40)
    model, replica = small_network(), small_network()
    probe = GradientProbe(replica)
    seen = []

    def measure(network, x, y):
        seen.append((x.copy(), y.copy()))
        return {"loss": GradientProbe(network).loss_and_gradients(GradientProbe(network).flat_weights(), x, y)[0]}

    record = train_and_measure([model], data, epochs=1, seeds=[3], measure=measure, batch_size=16)
    order = epoch_order(40, random_state=3 * _EPOCH_STRIDE, epoch=0)  # seed 3, epoch 0
    np.testing.assert_array_equal(seen[0][0], data.X_train[order[:16]])
    theta = probe.flat_weights()
    for start in range(0, 40, 16):
        batch = order[start:start + 16]
        _, gradient = probe.loss_and_gradients(theta, data.X_train[batch], data.y_train[batch])
        theta = probe.sgd_step(theta, gradient)
    np.testing.assert_allclose(GradientProbe(model).flat_weights(), theta, rtol=1e-4, atol=1e-5)
    assert record.measurements["loss"].shape == (1, 2)
    np.testing.assert_array_equal(record.steps, [0, 3])
    assert record.history["val_accuracy"].shape == (1, 1)


def test_each_epoch_draws_a_new_order_and_each_seed_its_own():
    data = small_data(n_train=40)
    batches = []

    def measure(network, x, y):
        batches.append(x.copy())
        return {"zero": 0.0}

    record = train_and_measure([small_network(seed=0), small_network(seed=1)], data, epochs=2, seeds=[0, 1],
                               measure=measure, batch_size=8)
    assert record.measurements["zero"].shape == (2, 3)
    assert record.history["loss"].shape == (2, 2)
    first_seed = batches[0::2]
    assert not np.array_equal(first_seed[0], first_seed[1]), "epoch 1 repeated epoch 0's order"
    assert not np.array_equal(batches[0], batches[1]), "two seeds shared an order"


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match="momentum 0"):
        GradientProbe(small_network(momentum=0.9))
    uncompiled = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compile the model"):
        GradientProbe(uncompiled)
    with pytest.raises(TypeError, match="built Keras model"):
        GradientProbe("a model")
    probe = GradientProbe(small_network())
    with pytest.raises(ValueError, match=r"thetas must have shape \(M, 92\)"):
        probe.loss_and_gradients(np.zeros(91), small_data().X_train[:4], small_data().y_train[:4])
    with pytest.raises(ValueError, match="one seed per model"):
        train_and_measure([small_network()], small_data(), epochs=1, seeds=[0, 1], measure=lambda *a: {})
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        train_and_measure([small_network()], small_data(), epochs=0, seeds=[0], measure=lambda *a: {})
