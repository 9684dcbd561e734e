"""Helpers refuse wrong input early and say what they expected: the cases learners hit (issue 13)."""
import keras
import numpy as np
import pytest

from bn_course.data import load_circles
from bn_course.metrics import epochs_to_threshold, first_epoch_reaching, first_epoch_staying
from bn_course.plots import plot_circles, plot_learning_curves
from bn_course.study import run_study

CURVE = [0.5, 0.7, 0.82, 0.85]


def build_small():
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])


@pytest.mark.parametrize("metric", [first_epoch_reaching, first_epoch_staying])
def test_a_percentage_threshold_on_a_fraction_curve_is_refused(metric):
    with pytest.raises(ValueError, match=r"give a fraction, e.g. 0.8 for 80 %"):
        metric(CURVE, 80)
    assert metric(CURVE, 0.8) == 3


def test_a_percentage_threshold_on_several_curves_is_refused():
    with pytest.raises(ValueError, match="fraction"):
        epochs_to_threshold([CURVE, CURVE], 80)


def test_a_threshold_above_one_is_fine_on_a_curve_that_is_not_a_fraction():
    assert first_epoch_reaching([0.5, 1.5, 2.5], 2) == 3  # e.g. a loss, in its own units


def test_a_threshold_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="finite number"):
        first_epoch_reaching(CURVE, "0.8")


def test_a_model_instead_of_its_builder_is_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"a model already built; give the function that builds it"):
        run_study({"small": build_small()}, load_circles(), seeds=[0], epochs=1, progress=False)


def test_something_else_than_a_builder_is_refused():
    with pytest.raises(TypeError, match="must be a function that builds a new model"):
        run_study({"small": "build_small"}, load_circles(), seeds=[0], epochs=1, progress=False)


def test_plot_learning_curves_takes_the_history_fit_returns():
    model = build_small()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    data = load_circles()
    history = model.fit(data.X_train, data.y_train, validation_data=(data.X_test, data.y_test), epochs=2, verbose=0)
    figure = plot_learning_curves(history)
    assert len(figure.axes[0].lines[0].get_xdata()) == 2


def test_plot_learning_curves_names_the_missing_keys():
    with pytest.raises(ValueError, match=r"lacks \['val_loss', 'val_accuracy'\]"):
        plot_learning_curves({"loss": [1.0], "accuracy": [0.5]})
    with pytest.raises(TypeError, match="History"):
        plot_learning_curves([0.5, 0.6])


def test_plot_circles_says_which_shapes_it_expects():
    data = load_circles()
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot_circles(data.X_train[:, :1], data.y_train)
    with pytest.raises(ValueError, match="one label per row"):
        plot_circles(data.X_train, data.y_train[:-1])
    assert plot_circles(data.X_train, np.asarray(data.y_train).reshape(-1, 1)) is not None
