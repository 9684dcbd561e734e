"""Unit tests for bn_course.training, bn_course.plots and the population statistics of bn_course.metrics."""
import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bn_course.data import load_circles  # noqa: E402
from bn_course.metrics import accuracy_with_population_statistics, population_statistics  # noqa: E402
from bn_course.plots import plot_circles, plot_decision_boundary, plot_learning_curves  # noqa: E402
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


def bn_model():
    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])


def test_population_statistics_are_the_mean_and_unbiased_variance_of_the_bn_inputs(data):
    set_seed(0)
    model = bn_model()
    before = model.layers[1].get_weights()
    [(mean, variance)] = population_statistics(model, data.X_train)
    hidden = np.asarray(model.layers[0](data.X_train))
    np.testing.assert_allclose(mean, hidden.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, hidden.var(axis=0, ddof=1), rtol=1e-5, atol=1e-6)
    for restored, original in zip(model.layers[1].get_weights(), before):
        np.testing.assert_array_equal(restored, original)  # the moving statistics are left as they were


def test_accuracy_with_population_statistics_ignores_the_moving_averages(data):
    set_seed(0)
    model = bn_model()
    gamma, beta, _, _ = model.layers[1].get_weights()
    [(mean, variance)] = population_statistics(model, data.X_train)
    expected_model = bn_model()
    expected_model.set_weights(model.get_weights())
    expected_model.layers[1].set_weights([gamma, beta, mean, variance])
    expected = evaluate_accuracy(expected_model, data.X_test, data.y_test)
    # Moving statistics far from the truth change the ordinary accuracy, not this one.
    model.layers[1].set_weights([gamma, beta, mean + 50.0, variance * 100.0])
    assert accuracy_with_population_statistics(model, data.X_train, data.X_test, data.y_test) == expected
    np.testing.assert_allclose(model.layers[1].get_weights()[2], mean + 50.0)


def test_population_statistics_bad_input(data):
    with pytest.raises(ValueError, match="no BatchNormalization layer"):
        population_statistics(small_model(), data.X_train)
    with pytest.raises(ValueError, match="at least 2 points"):
        population_statistics(bn_model(), data.X_train[:1])
    with pytest.raises(ValueError, match="one label per point"):
        accuracy_with_population_statistics(bn_model(), data.X_train, data.X_test, data.y_test[:5])


def test_plot_decision_boundary_draws_the_model_boundary_and_the_bayes_circle(data):
    # A model whose probability of class 1 is sigmoid(10 x1): its boundary is the line x1 = 0.
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[10.0], [0.0]], dtype="float32"), np.zeros(1, dtype="float32")])
    ax = plot_decision_boundary(model, data.X_test, data.y_test, bayes_radius=0.9, resolution=51)
    [boundary] = [c for c in ax.collections if list(getattr(c, "levels", [])) == [0.5]]
    vertices = np.concatenate([path.vertices for path in boundary.get_paths()])
    np.testing.assert_allclose(vertices[:, 0], 0.0, atol=1e-6)
    [circle] = ax.patches
    assert circle.radius == 0.9
    assert any("Bayes-optimal" in text.get_text() for text in ax.get_legend().get_texts())
    plt.close(ax.figure)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_decision_boundary(model, np.zeros((3, 3)), np.zeros(3))
