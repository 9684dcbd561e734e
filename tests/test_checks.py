"""Unit tests for bn_course.checks: the checks fail when they should, with a message a learner understands."""
import keras
import numpy as np
import pytest

from bn_course.checks import (
    CheckFailed,
    check_array,
    check_between,
    check_close,
    check_equal,
    check_model,
    describe_layer,
)

BASELINE = [
    {"type": "Dense", "units": 50, "activation": "relu", "kernel_initializer": "he_uniform"},
    {"type": "Dense", "units": 1, "activation": "sigmoid"},
]


def mlp(*hidden_layers):
    return keras.Sequential([keras.Input(shape=(2,)), *hidden_layers, keras.layers.Dense(1, activation="sigmoid")])


def test_check_array_accepts_matching_shapes_and_wildcards():
    array = check_array([[1, 2], [3, 4]], "x", shape=(None, 2))
    assert isinstance(array, np.ndarray) and array.shape == (2, 2)


@pytest.mark.parametrize(
    "value, shape, words",
    [
        (np.zeros((5, 1)), (5,), ["wrong shape", "(5,)", "(5, 1)"]),
        (np.zeros(5), (5, 1), ["wrong shape"]),
        (None, (1,), ["returned None", "return"]),
        ([1.0, np.nan], (2,), ["NaN"]),
        ("abc", None, ["not an array of numbers"]),
    ],
)
def test_check_array_explains_the_problem(value, shape, words):
    with pytest.raises(CheckFailed) as failure:
        check_array(value, "my_function(x)", shape=shape)
    message = str(failure.value)
    assert message.startswith("my_function(x)")
    for word in words:
        assert word in message


def test_check_close_reports_the_worst_element():
    check_close([1.0, 2.0], [1.0, 2.0 + 1e-9], "y")
    with pytest.raises(CheckFailed) as failure:
        check_close([1.0, 2.5, 3.0], [1.0, 2.0, 3.0], "y", hint="biased variance?")
    message = str(failure.value)
    assert "wrong values" in message and "index (1,)" in message and "biased variance?" in message


def test_check_close_is_an_assertion_error_for_nbgrader():
    with pytest.raises(AssertionError):
        check_close([0.0], [1.0], "y")


def test_check_equal_and_check_between():
    check_equal((3, 1), (3, 1), "shape")
    with pytest.raises(CheckFailed, match="expected: 2"):
        check_equal(1, 2, "n")
    assert check_between(0.8, 0.5, 1.0, "accuracy") == 0.8
    with pytest.raises(CheckFailed, match="between 0.5 and 1.0"):
        check_between(0.2, 0.5, 1.0, "accuracy")
    with pytest.raises(CheckFailed, match="not a number"):
        check_between("high", 0.5, 1.0, "accuracy")


def test_check_model_accepts_the_right_structure():
    model = mlp(keras.layers.Dense(50, activation="relu", kernel_initializer="he_uniform"))
    check_model(model, BASELINE, input_dim=2, n_params=201)


@pytest.mark.parametrize(
    "model, words",
    [
        (mlp(keras.layers.Dense(50, activation="tanh", kernel_initializer="he_uniform")), ["layer 1", "activation", "relu", "tanh"]),
        (mlp(keras.layers.Dense(50, activation="relu")), ["kernel_initializer", "HeUniform", "GlorotUniform"]),
        (mlp(keras.layers.Dense(40, activation="relu", kernel_initializer="he_uniform")), ["units", "50", "40"]),
        (
            mlp(keras.layers.Dense(50, activation="relu", kernel_initializer="he_uniform"), keras.layers.BatchNormalization()),
            ["sequence of layers", "Dense -> Dense", "BatchNormalization"],
        ),
        ("not a model", ["not a Keras model"]),
        (None, ["returned None"]),
    ],
)
def test_check_model_names_what_differs(model, words):
    with pytest.raises(CheckFailed) as failure:
        check_model(model, BASELINE, name="build()")
    for word in words:
        assert word in str(failure.value)


def test_check_model_checks_input_width_and_parameter_count():
    wide = keras.Sequential(
        [keras.Input(shape=(3,)), keras.layers.Dense(50, activation="relu", kernel_initializer="he_uniform"), keras.layers.Dense(1, activation="sigmoid")]
    )
    with pytest.raises(CheckFailed, match="wrong width"):
        check_model(wide, BASELINE, input_dim=2)
    with pytest.raises(CheckFailed, match="number of parameters"):
        check_model(wide, BASELINE, n_params=201)


def test_describe_layer_reports_batchnorm_settings():
    facts = describe_layer(keras.layers.BatchNormalization(momentum=0.0, center=False))
    assert facts == {"type": "BatchNormalization", "center": False, "scale": True, "momentum": 0.0, "epsilon": 0.001}


def test_a_default_relu_layer_counts_as_activation_relu():
    spec = [{"type": "Dense", "units": 50}, {"type": "Activation", "activation": "relu"}, {"type": "Dense", "units": 1}]
    check_model(mlp(keras.layers.Dense(50), keras.layers.ReLU()), spec)
    with pytest.raises(CheckFailed, match="sequence of layers"):
        check_model(mlp(keras.layers.Dense(50), keras.layers.ReLU(max_value=6.0)), spec)
