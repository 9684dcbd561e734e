"""bn_course.after_training: shifted data sets, re-estimated moving statistics, operation counts, timing, and the
side-by-side trainer of notebook 09."""
import numpy as np
import pytest

import keras

from bn_course.after_training import (accuracy, batch_norm_layers, inference_operations, median_seconds,
                                      reestimate_moving_statistics, shifted_dataset, standard_normal_inputs,
                                      train_side_by_side)
from bn_course.data import load_circles

L = keras.layers


def bn_network(dropout=False):
    keras.utils.set_random_seed(0)
    layers = [keras.Input(shape=(2,)), L.Dense(8, activation="relu"), L.BatchNormalization()]
    layers += [L.Dropout(0.5)] if dropout else []
    return keras.Sequential(layers + [L.Dense(1, activation="sigmoid")])


def test_shifted_dataset_moves_the_inputs_of_both_splits_and_keeps_the_labels():
    data = load_circles()
    shifted = shifted_dataset(data, scale=[2.0, 0.5], offset=1.0)
    np.testing.assert_allclose(shifted.X_train, data.X_train * [2.0, 0.5] + 1.0, rtol=1e-6)
    np.testing.assert_allclose(shifted.X_test, data.X_test * [2.0, 0.5] + 1.0, rtol=1e-6)
    np.testing.assert_array_equal(shifted.y_test, data.y_test)
    assert shifted.X_train.dtype == np.float32


@pytest.mark.parametrize("scale, offset, message", [(0.0, 0.0, "positive"), (1.0, [1.0, 2.0, 3.0], "2 finite"),
                                                    (float("nan"), 0.0, "finite")])
def test_shifted_dataset_refuses_a_bad_scale_or_offset(scale, offset, message):
    with pytest.raises(ValueError, match=message):
        shifted_dataset(load_circles(), scale=scale, offset=offset)


def test_reestimating_with_weights_one_over_k_averages_the_batch_statistics_exactly():
    model = bn_network()
    X = np.random.default_rng(1).normal(size=(64, 2)).astype("float32")
    batches = reestimate_moving_statistics(model, X, batch_size=16, cumulative=True, random_state=3)
    assert batches == 4
    layer = batch_norm_layers(model)[0]
    order = np.random.default_rng(3).permutation(64).reshape(4, 16)
    hidden = np.asarray(model.layers[0](X))
    np.testing.assert_allclose(layer.moving_mean, np.mean([hidden[i].mean(axis=0) for i in order], axis=0), atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance, np.mean([hidden[i].var(axis=0) for i in order], axis=0), atol=1e-5)
    assert layer.momentum == 0.99  # restored


def test_reestimating_changes_no_weight_but_the_moving_statistics():
    model = bn_network()
    before = [w.copy() for w in model.get_weights()]
    reestimate_moving_statistics(model, np.ones((40, 2), "float32") * 3, passes=2, batch_size=8)
    after = model.get_weights()
    for position, (a, b) in enumerate(zip(before, after)):
        if position in (4, 5):  # moving mean and variance of the BN layer (after Dense's kernel, bias, gamma, beta)
            assert not np.array_equal(a, b)
        else:
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("options, message", [({"passes": 0}, "passes"), ({"batch_size": 100}, "must not exceed"),
                                              ({"batch_size": 2.5}, "batch_size")])
def test_reestimating_refuses_bad_counts(options, message):
    with pytest.raises(ValueError, match=message):
        reestimate_moving_statistics(bn_network(), np.zeros((50, 2), "float32"), **options)


def test_reestimating_needs_a_bn_layer():
    model = keras.Sequential([keras.Input(shape=(2,)), L.Dense(1)])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        reestimate_moving_statistics(model, np.zeros((50, 2), "float32"))


def test_inference_operations_counts_dense_bn_and_activations():
    counts = inference_operations(bn_network(dropout=True))
    assert counts == {"Dense": 2 * 2 * 8 + 2 * 8 * 1, "BatchNormalization": 16, "activation": 8 + 1, "total": 73}


def test_inference_operations_refuses_a_layer_it_cannot_count():
    model = keras.Sequential([keras.Input(shape=(4, 1)), L.Conv1D(2, 3)])
    with pytest.raises(TypeError, match="Conv1D"):
        inference_operations(model)


def test_median_seconds_is_a_positive_time_and_refuses_bad_repeats():
    calls = []
    assert median_seconds(lambda: calls.append(1), repeats=3) >= 0
    assert len(calls) == 4  # one warm-up call
    with pytest.raises(ValueError, match="repeats"):
        median_seconds(lambda: None, repeats=0)


def test_standard_normal_inputs_are_reproducible_with_the_asked_shape_and_dtype():
    a = standard_normal_inputs(1000, 3, random_state=5, dtype="float64")
    assert a.shape == (1000, 3) and a.dtype == np.float64
    np.testing.assert_array_equal(a, standard_normal_inputs(1000, 3, random_state=5, dtype="float64"))
    assert abs(a.mean()) < 0.1 and abs(a.std() - 1) < 0.1
    with pytest.raises(ValueError, match="features"):
        standard_normal_inputs(10, 0)


def test_accuracy_thresholds_probabilities_at_one_half():
    assert accuracy(np.array([[0.9], [0.2], [0.6]]), [1, 0, 0]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="one label per prediction"):
        accuracy(np.array([0.9, 0.1]), [1])


def test_side_by_side_training_trains_a_branch_as_if_alone():
    """The first branch (its seed also fixes the shared data order) ends where the same network trained alone ends:
    the learning rate times S undoes the mean over the S losses. Up to rounding: one test point of 40 may flip."""
    data = load_circles(n_samples=120, n_train=80)

    def network():
        return [L.Dense(4, activation="relu"), L.BatchNormalization(), L.Dense(1, activation="sigmoid")]

    together = train_side_by_side(network, data, seeds=[0, 1], epochs=2, batch_size=16, learning_rate=0.05)
    alone = train_side_by_side(network, data, seeds=[0], epochs=2, batch_size=16, learning_rate=0.05)
    assert together.shape == (2,) and alone.shape == (1,)
    assert abs(together[0] - alone[0]) <= 1 / 40 + 1e-9


def test_side_by_side_training_refuses_no_seeds():
    with pytest.raises(ValueError, match="seed"):
        train_side_by_side(lambda: [L.Dense(1, activation="sigmoid")], load_circles(), seeds=[], epochs=1,
                           batch_size=8, learning_rate=0.1)


def test_side_by_side_training_shows_each_seeds_network_after_every_epoch():
    """epoch_end sees, after epochs 1, 2, 3, one network per seed in seed order; each is its branch as trained so far:
    after the last epoch, its test accuracy is the one returned, and its weights and moving statistics changed from
    one epoch to the next (they are the branch's, not a copy)."""
    data = load_circles(n_samples=120, n_train=80)
    seen = []

    def network():
        return [L.Dense(4, activation="relu"), L.BatchNormalization(), L.Dense(1, activation="sigmoid")]

    def record(epoch, networks):
        accuracies = [accuracy(net(data.X_test, training=False), data.y_test) for net in networks]
        seen.append((epoch, len(networks), accuracies, [[w.copy() for w in net.get_weights()] for net in networks]))

    final = train_side_by_side(network, data, seeds=[0, 1], epochs=3, batch_size=16, learning_rate=0.05,
                               epoch_end=record)
    assert [(epoch, count) for epoch, count, *_ in seen] == [(1, 2), (2, 2), (3, 2)]
    np.testing.assert_allclose(seen[-1][2], final)
    for before, after in zip(seen[0][3], seen[1][3]):  # per seed: every weight array moved in epoch 2
        assert all(not np.array_equal(a, b) for a, b in zip(before, after))
    assert not all(np.array_equal(a, b) for a, b in zip(seen[-1][3][0], seen[-1][3][1]))  # two different seeds


def test_side_by_side_training_refuses_an_epoch_end_that_is_not_callable():
    with pytest.raises(TypeError, match="epoch_end"):
        train_side_by_side(lambda: [L.Dense(1, activation="sigmoid")], load_circles(), seeds=[0], epochs=1,
                           batch_size=8, learning_rate=0.1, epoch_end="print")
