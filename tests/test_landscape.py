"""bn_course.landscape: losses and gradients at chosen weights, the blocks of a network, training with measurements."""
import numpy as np
import pytest
import tensorflow as tf

import keras

from scipy import stats

from bn_course.data import Dataset
from bn_course.fast import epoch_order, train_fast
from bn_course.landscape import (
    _EPOCH_STRIDE,
    GradientProbe,
    NoisyBatchNormalization,
    santurkar_noise,
    train_and_measure,
    training_statistics,
)
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


# -- Santurkar et al.'s "noisy" BatchNorm ---------------------------------------------------------------------------

def noisy_network(normalization="noisy", *, seed=0, learning_rate=0.1):
    """Input(6) -> Dense(5) -> [BN | noisy BN] -> ReLU -> Dense(3, softmax), plain SGD."""
    set_seed(seed)
    middle = {"noisy": NoisyBatchNormalization, "bn": keras.layers.BatchNormalization}[normalization]
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(5), middle(), keras.layers.Activation("relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_the_noise_is_on_in_training_only():
    noisy, plain = NoisyBatchNormalization(seed=1), keras.layers.BatchNormalization()
    x = np.random.default_rng(0).normal(2.0, 3.0, size=(256, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(noisy(x, training=False)), np.asarray(plain(x, training=False)), rtol=1e-6)
    trained, normalised = np.asarray(noisy(x, training=True)), np.asarray(plain(x, training=True))
    np.testing.assert_allclose(normalised.mean(axis=0), 0, atol=1e-5)  # BN alone: every unit centred
    assert np.abs(trained.mean(axis=0)).max() > 0.05, "training-mode outputs carry no shifted noise"
    np.testing.assert_allclose(np.asarray(noisy.moving_mean), np.asarray(plain.moving_mean), rtol=1e-6)


def test_the_noise_repeats_with_its_seed_and_changes_at_every_step():
    x = np.random.default_rng(1).normal(size=(64, 8)).astype(np.float32)
    first, twin, other = NoisyBatchNormalization(seed=7), NoisyBatchNormalization(seed=7), NoisyBatchNormalization(seed=8)
    step_1, step_1_twin, step_1_other = (np.asarray(layer(x, training=True)) for layer in (first, twin, other))
    np.testing.assert_array_equal(step_1, step_1_twin)
    assert not np.allclose(step_1, step_1_other), "another seed drew the same noise"
    assert not np.allclose(np.asarray(first(x, training=True)), step_1), "the second step repeated the first step's noise"


def test_the_noise_has_the_distribution_of_algorithm_1():
    """Each call: shift mu_j ~ U(-0.5, 0.5) and scale sigma_j ~ U(1, 1.25) per unit; per sample m ~ U(mu_j -+ 0.1),
    s ~ N(sigma_j, 0.1^2). Feeding zeros shows m, and ones minus zeros (same seed) shows s."""
    units, samples, steps = 16, 2000, 150
    zeros, ones = tf.zeros((samples, units)), tf.ones((samples, units))
    draw = tf.function(santurkar_noise)  # one trace, then 2 x 150 fast calls
    shifts, scales, m_spread, s_spread = [], [], [], []
    for step in range(steps):
        seed = tf.constant([12345, step], tf.int64)
        m = np.asarray(draw(zeros, seed), float)
        s = np.asarray(draw(ones, seed), float) - m
        shifts.append(m.mean(axis=0))
        scales.append(s.mean(axis=0))
        m_spread.append(m - m.mean(axis=0))
        s_spread.append(s.std(axis=0))
        assert np.all(np.abs(m - m.mean(axis=0)) <= 0.1 + 0.01), "m strays further than mean_spread from its unit's mean"
    shifts, scales = np.concatenate(shifts), np.concatenate(scales)
    assert shifts.min() >= -0.51 and shifts.max() <= 0.51
    assert stats.kstest(shifts, stats.uniform(-0.5, 1.0).cdf).pvalue > 1e-3, "the shifts are not uniform on (-0.5, 0.5)"
    assert shifts.var() == pytest.approx(1 / 12, rel=0.1)  # mean_range^2 / 3
    assert scales.min() >= 0.99 and scales.max() <= 1.26
    assert stats.kstest(scales, stats.uniform(1.0, 0.25).cdf).pvalue > 1e-3, "the scales are not uniform on (1, 1.25)"
    assert np.concatenate(m_spread).std() == pytest.approx(0.1 / np.sqrt(3), rel=0.05)  # U(-0.1, 0.1)
    assert np.mean(s_spread) == pytest.approx(0.1, rel=0.05)
    assert np.corrcoef(shifts.reshape(steps, units)[:-1].ravel(), shifts.reshape(steps, units)[1:].ravel())[0, 1] < 0.1


def test_a_noisy_network_starts_from_the_kernels_of_its_bn_twin():
    noisy, bn = noisy_network("noisy", seed=4), noisy_network("bn", seed=4)
    for a, b in zip(noisy.get_weights(), bn.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other_seed = noisy_network("noisy", seed=5).layers[1].seed_generator.state
    assert not np.array_equal(np.asarray(other_seed), np.asarray(noisy.layers[1].seed_generator.state))


def test_the_trainer_trains_a_noisy_network_as_keras_does():
    """One epoch of train_fast equals Keras's own train_on_batch over the same batches, noise draws included."""
    data = small_data(n_train=40)
    trained, replayed, without_noise = noisy_network(seed=2), noisy_network(seed=2), noisy_network("bn", seed=2)
    for target, source in zip(replayed.variables, trained.variables, strict=True):
        target.assign(source)  # seed-generator states included (set_weights would skip them)
    train_fast(trained, data, epochs=1, batch_size=8, random_state=3)
    order = epoch_order(40, random_state=3, epoch=0)
    for start in range(0, 40, 8):
        batch = order[start:start + 8]
        replayed.train_on_batch(data.X_train[batch], data.y_train[batch])
    for a, b in zip(trained.variables, replayed.variables, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)
    train_fast(without_noise, data, epochs=1, batch_size=8, random_state=3)
    assert not np.allclose(trained.layers[0].kernel, without_noise.layers[0].kernel, atol=1e-4), "no noise in training"


def test_training_statistics_sees_the_noise_and_changes_nothing():
    model = noisy_network(seed=1)
    x = small_data(n_train=200).X_train
    before = [np.asarray(variable).copy() for variable in model.variables]
    mean, variance = training_statistics(model, x, 1)
    again = training_statistics(model, x, model.layers[1].name)
    np.testing.assert_array_equal(mean, again[0])  # the seed state was not advanced
    for variable, value in zip(model.variables, before):
        np.testing.assert_array_equal(np.asarray(variable), value)
    assert mean.shape == variance.shape == (5,)
    assert np.abs(mean).max() > 0.02, "no shift: the noise was not drawn"
    bn_mean, bn_variance = training_statistics(noisy_network("bn", seed=1), x, 1)
    np.testing.assert_allclose(bn_mean, 0, atol=1e-5)
    with pytest.raises(ValueError, match="no layer named 'nowhere'"):
        training_statistics(model, x, "nowhere")


def test_bad_noise_settings_say_what_was_expected():
    with pytest.raises(ValueError, match="mean_range must be a finite number >= 0"):
        NoisyBatchNormalization(mean_range=-0.5)
    with pytest.raises(ValueError, match="scale_range must be >= 1"):
        NoisyBatchNormalization(scale_range=0.5)
    with pytest.raises(ValueError, match="use axis=-1"):
        NoisyBatchNormalization(axis=1)
