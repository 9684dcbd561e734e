"""Unit tests for bn_course.data, bn_course.metrics and bn_course.runtime."""
import random
import socket

import numpy as np
import pytest
from sklearn.datasets import make_circles

from bn_course import data as data_module
from bn_course.data import load_circles, load_mnist1d
from bn_course.metrics import first_epoch_reaching
from bn_course.runtime import demo_seeds, is_autograding


def test_circles_split_reproduces_the_tutorial():
    data = load_circles()
    X, y = make_circles(n_samples=1000, noise=0.1, random_state=1)
    assert data.X_train.shape == (500, 2) and data.X_test.shape == (500, 2)
    assert data.y_train.shape == (500,) and data.y_test.shape == (500,)
    np.testing.assert_allclose(data.X_train, X[:500], rtol=1e-6)
    np.testing.assert_allclose(data.X_test, X[500:], rtol=1e-6)
    np.testing.assert_array_equal(data.y_test, y[500:])
    assert data.X_train.dtype == np.float32 and set(np.unique(data.y_train)) == {0.0, 1.0}


def test_circles_are_deterministic_and_follow_the_arguments():
    first, second = load_circles(random_state=3), load_circles(random_state=3)
    np.testing.assert_array_equal(first.X_train, second.X_train)
    other = load_circles(n_samples=200, n_train=150, random_state=4)
    assert other.X_train.shape == (150, 2) and other.X_test.shape == (50, 2)
    assert not np.array_equal(other.X_train[:10], first.X_train[:10])


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"n_train": 1000}, "n_train must satisfy 0 < n_train < n_samples = 1000, so that both splits are "
                            "non-empty; got n_train=1000."),
        ({"n_train": 2000}, "n_train must satisfy 0 < n_train < n_samples = 1000, so that both splits are "
                            "non-empty; got n_train=2000."),
        ({"n_train": 0}, "n_train must satisfy 0 < n_train < n_samples = 1000, so that both splits are "
                         "non-empty; got n_train=0."),
        ({"n_train": -5}, "n_train must satisfy 0 < n_train < n_samples = 1000, so that both splits are "
                          "non-empty; got n_train=-5."),
        ({"n_samples": 1, "n_train": 1}, "n_samples must be at least 2 (one training and one test point); got 1."),
        ({"n_train": 500.0}, "n_train must be an integer; got 500.0."),
        ({"n_train": True}, "n_train must be an integer; got True."),
        ({"n_samples": "1000"}, "n_samples must be an integer; got '1000'."),
        ({"random_state": 1.5}, "random_state must be an integer; got 1.5."),
        ({"random_state": None}, "random_state must be an integer; got None."),
        ({"noise": -0.1}, "noise must be a finite number >= 0 (a standard deviation); got -0.1."),
        ({"noise": float("nan")}, "noise must be a finite number >= 0 (a standard deviation); got nan."),
        ({"noise": float("inf")}, "noise must be a finite number >= 0 (a standard deviation); got inf."),
        ({"noise": "0.1"}, "noise must be a finite number >= 0 (a standard deviation); got '0.1'."),
    ],
)
def test_circles_reject_invalid_arguments_saying_what_was_expected(arguments, message):
    with pytest.raises(ValueError) as raised:
        load_circles(**arguments)
    assert str(raised.value) == message


def test_circles_accept_numpy_integers_and_zero_noise():
    data = load_circles(n_samples=np.int64(10), n_train=np.int32(7), random_state=np.int64(2), noise=0)
    assert data.X_train.shape == (7, 2) and data.X_test.shape == (3, 2)


def test_mnist1d_shapes_dtypes_and_labels():
    data = load_mnist1d()
    assert data.X_train.shape == (4000, 40) and data.X_test.shape == (1000, 40)
    assert data.y_train.shape == (4000,) and data.y_test.shape == (1000,)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.y_train.dtype == np.int32 and data.y_test.dtype == np.int32
    assert set(np.unique(data.y_train)) == set(range(10)) and set(np.unique(data.y_test)) == set(range(10))
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()


def test_mnist1d_is_standardised_with_training_statistics_per_feature():
    raw, data = load_mnist1d(standardize=False), load_mnist1d()
    X_raw = raw.X_train.astype(np.float64)
    mean, std = X_raw.mean(axis=0), X_raw.std(axis=0)  # ddof=0
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, rtol=1e-5)
    # The test split uses the training statistics, not its own.
    np.testing.assert_allclose(data.X_test, (raw.X_test - mean) / std, rtol=1e-4, atol=1e-5)
    assert not np.allclose(data.X_test.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_array_equal(data.y_train, raw.y_train)
    np.testing.assert_array_equal(data.y_test, raw.y_test)


def test_mnist1d_is_the_generator_output_and_deterministic():
    from mnist1d.data import get_dataset_args, make_dataset

    state = random.getstate(), np.random.get_state()
    try:
        generated = make_dataset(get_dataset_args())
    finally:
        random.setstate(state[0])
        np.random.set_state(state[1])
    raw = load_mnist1d(standardize=False)
    np.testing.assert_allclose(raw.X_train, generated["x"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(raw.X_test, generated["x_test"], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(raw.y_train, generated["y"])
    np.testing.assert_array_equal(raw.y_test, generated["y_test"])


def test_mnist1d_callers_cannot_corrupt_the_cache():
    first = load_mnist1d()
    expected = load_mnist1d()
    for array in (first.X_train, first.y_train, first.X_test, first.y_test):
        array[...] = 7  # the returned arrays are the caller's to change
    again = load_mnist1d()
    np.testing.assert_array_equal(again.X_train, expected.X_train)
    np.testing.assert_array_equal(again.y_train, expected.y_train)
    np.testing.assert_array_equal(again.X_test, expected.X_test)
    np.testing.assert_array_equal(again.y_test, expected.y_test)
    cached = data_module._generated_mnist1d()
    assert cached is data_module._generated_mnist1d()  # generated once, then served from memory
    for array in (cached.X_train, cached.y_train, cached.X_test, cached.y_test):
        assert not array.flags.writeable
        with pytest.raises(ValueError):
            array[0] = 0


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a network connection fail loudly."""
    def refuse(*args, **kwargs):
        raise AssertionError("load_mnist1d tried to use the network")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_mnist1d_generation_is_offline_and_leaves_the_global_generators_as_they_were(no_network):
    data_module._generated_mnist1d.cache_clear()  # force a real generation, which reseeds both generators
    random.seed(2024)
    np.random.seed(2024)
    saved = random.getstate(), np.random.get_state()
    load_mnist1d()
    draws_after_call = [random.random() for _ in range(5)], np.random.rand(5)
    random.setstate(saved[0])
    np.random.set_state(saved[1])
    draws_from_saved = [random.random() for _ in range(5)], np.random.rand(5)
    assert draws_after_call[0] == draws_from_saved[0]
    np.testing.assert_array_equal(draws_after_call[1], draws_from_saved[1])


def test_mnist1d_restores_the_global_generators_even_if_generation_fails(monkeypatch):
    import mnist1d.data

    def reseed_then_fail(args):
        random.seed(0)
        np.random.seed(0)
        raise RuntimeError("generation failed")

    monkeypatch.setattr(mnist1d.data, "make_dataset", reseed_then_fail)
    data_module._generated_mnist1d.cache_clear()
    random.seed(5)
    np.random.seed(5)
    expected = random.random(), np.random.rand()
    random.seed(5)
    np.random.seed(5)
    with pytest.raises(RuntimeError, match="generation failed"):
        load_mnist1d()
    assert (random.random(), np.random.rand()) == expected
    data_module._generated_mnist1d.cache_clear()  # the failure is not cached, but leave no doubt


@pytest.mark.parametrize(
    "curve, threshold, expected",
    [
        ([0.5, 0.7, 0.8, 0.9], 0.8, 3),
        ([0.85, 0.7], 0.8, 1),
        ([0.1, 0.2], 0.8, None),
        (np.array([[0.5], [0.81]]), 0.8, 2),
        ([], 0.8, None),
    ],
)
def test_first_epoch_reaching(curve, threshold, expected):
    assert first_epoch_reaching(curve, threshold) == expected


def test_demo_seeds_are_lighter_under_autograde(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not is_autograding()
    assert demo_seeds(10) == list(range(10))
    assert demo_seeds(4, first_seed=5) == [5, 6, 7, 8]
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert is_autograding()
    assert demo_seeds(10, n_seeds_when_grading=3) == [0, 1, 2]
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert demo_seeds(10) == list(range(10))


def test_accuracy_with_population_statistics_of_a_softmax_classifier_takes_the_argmax():
    """Multi-class outputs: the predicted class is the argmax, scored with the whole set's mean and unbiased
    variance in place of the moving averages, which are restored afterwards."""
    import keras

    from bn_course.metrics import accuracy_with_population_statistics

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6), keras.layers.BatchNormalization(),
                              keras.layers.Dense(3, activation="softmax")])
    rng = np.random.default_rng(0)
    X_statistics, X = rng.normal(2.0, 3.0, size=(50, 4)), rng.normal(2.0, 3.0, size=(30, 4))
    bn = model.layers[1]
    moving = [weights.copy() for weights in bn.get_weights()]
    hidden = np.asarray(model.layers[0](X_statistics.astype("float32")))
    gamma, beta = moving[:2]
    normalised = (np.asarray(model.layers[0](X.astype("float32"))) - hidden.mean(axis=0)) / np.sqrt(
        hidden.var(axis=0, ddof=1) + bn.epsilon) * gamma + beta
    predicted = np.argmax(np.asarray(model.layers[2](normalised)), axis=1)
    labels = predicted.copy()
    labels[:10] = (labels[:10] + 1) % 3  # ten of the thirty labels wrong: accuracy 2/3
    assert accuracy_with_population_statistics(model, X_statistics, X, labels) == pytest.approx(20 / 30)
    for restored, original in zip(bn.get_weights(), moving):
        np.testing.assert_array_equal(restored, original)
    with pytest.raises(ValueError, match="one label per point"):
        accuracy_with_population_statistics(model, X_statistics, X, labels[:5])
