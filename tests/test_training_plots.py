"""Unit tests for bn_course.training and bn_course.plots."""
import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bn_course.data import load_circles  # noqa: E402
from bn_course.plots import plot_circles, plot_learning_curves  # noqa: E402
from bn_course.training import compile_model, evaluate_accuracy, fit_model, set_seed  # noqa: E402


def small_model():
    return keras.Sequential(
        [keras.Input(shape=(2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
    )


@pytest.fixture(scope="module")
def data():
    return load_circles(n_samples=200, n_train=100)


def test_compile_model_uses_the_course_optimizer_and_loss():
    model = compile_model(small_model(), learning_rate=0.05, momentum=0.5)
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.05)
    assert model.optimizer.momentum == pytest.approx(0.5)
    assert model.loss == "binary_crossentropy"


def test_fit_model_returns_arrays_per_epoch_and_repeats_with_the_seed(data):
    histories = []
    for _ in range(2):
        set_seed(3)
        histories.append(fit_model(small_model(), data, epochs=3, random_state=3))
    first, second = histories
    assert set(first) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(isinstance(values, np.ndarray) and values.shape == (3,) for values in first.values())
    for name in first:
        np.testing.assert_allclose(first[name], second[name], rtol=1e-6)


def test_evaluate_accuracy_matches_keras_evaluate(data):
    set_seed(0)
    model = compile_model(small_model())
    fit_model(model, data, epochs=2)
    _, keras_accuracy = model.evaluate(data.X_test, data.y_test, verbose=0)
    assert evaluate_accuracy(model, data.X_test, data.y_test) == pytest.approx(keras_accuracy, abs=1e-6)


def test_plot_learning_curves_draws_train_and_test_for_loss_and_accuracy():
    history = {name: np.linspace(0, 1, 5) for name in ("loss", "val_loss", "accuracy", "val_accuracy")}
    figure = plot_learning_curves(history, title="t")
    assert len(figure.axes) == 2
    assert [len(ax.lines) for ax in figure.axes] == [2, 2]
    np.testing.assert_allclose(figure.axes[1].lines[1].get_ydata(), history["val_accuracy"])
    plt.close(figure)


def test_plot_circles_draws_one_group_per_class(data):
    ax = plot_circles(data.X_train, data.y_train)
    sizes = sorted(len(collection.get_offsets()) for collection in ax.collections)
    assert sizes == sorted([int((data.y_train == 0).sum()), int((data.y_train == 1).sum())])
    plt.close(ax.figure)


def test_training_batches_reshuffle_every_epoch_and_repeat_with_the_seed(data):
    """What fit trains on: a new permutation each epoch (fit on seeded arrays would repeat the first one)."""
    from bn_course.training import training_batches

    def epochs(random_state, n_epochs=3):
        dataset = training_batches(data, random_state=random_state)
        return [np.concatenate([X.numpy()[:, 0] for X, _ in dataset]) for _ in range(n_epochs)]

    set_seed(0)
    first = epochs(1)
    set_seed(0)
    again = epochs(1)
    n = len(data.X_train)
    assert [len(e) for e in first] == [n] * 3 and sorted(first[0]) == sorted(data.X_train[:, 0])
    assert not np.array_equal(first[0], first[1]) and not np.array_equal(first[1], first[2])
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert [len(batch[0]) for batch in training_batches(data)][-1] == (n % 32 or 32)
