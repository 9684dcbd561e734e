"""Notebook 05's autograded exercises: the solution passes every test cell, and each wrong answer named in a hidden
test's comment loses points, failing exactly the cells named there."""
import pytest

from exercise_cells import failing_tests

ASSIGNMENT = "05-extensions"


def graded_cells_of(exercise):
    return (f"test_{exercise}_public", f"test_{exercise}_hidden")


def bn_after_source(name, normalization, first=""):
    return (f"def {name}():\n"
            "    return keras.Sequential([keras.Input(shape=(2,)),\n"
            f"        {first}\n"
            "        keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform'),\n"
            f"        {normalization},\n"
            "        keras.layers.Dense(1, activation='sigmoid')])\n")


def shared_model_source(name, normalization, first=""):
    return bn_after_source("_build_once", normalization, first) + "_the_model = _build_once()\n" \
        f"def {name}():\n    return _the_model\n"


def compiled_model_source(name, normalization, first=""):
    return bn_after_source("_build", normalization, first) + f"def {name}():\n    model = _build()\n" \
        "    model.compile(optimizer='sgd', loss='binary_crossentropy')\n    return model\n"


PUBLIC_AND_HIDDEN = "public and hidden"
STATISTICS = "moving_statistics_after_epoch"


def statistics_source(mean_update, variance_update, *, stop="len(order)", start="mean = np.array(moving_mean, dtype=float)\n"
                      "    variance = np.array(moving_variance, dtype=float)"):
    return (f"def {STATISTICS}(layer_inputs, order, *, batch_size, momentum, moving_mean, moving_variance):\n"
            "    inputs = np.asarray(layer_inputs, dtype=float)\n"
            f"    {start}\n"
            f"    for first in range(0, {stop}, batch_size):\n"
            "        batch = inputs[np.asarray(order)[first:first + batch_size]]\n"
            f"        {mean_update}\n"
            f"        {variance_update}\n"
            "    return mean, variance\n")


KERAS_MEAN = "mean = momentum * mean + (1 - momentum) * batch.mean(axis=0)"
KERAS_VARIANCE = "variance = momentum * variance + (1 - momentum) * batch.var(axis=0)"

WRONG_ANSWERS = {
    "build_bn_no_affine_model": {
        "center=False only (gamma kept)": (
            bn_after_source("build_bn_no_affine_model", "keras.layers.BatchNormalization(center=False)"),
            PUBLIC_AND_HIDDEN),
        "scale=False only (beta kept)": (
            bn_after_source("build_bn_no_affine_model", "keras.layers.BatchNormalization(scale=False)"),
            PUBLIC_AND_HIDDEN),
        "one model returned by every call": (
            shared_model_source("build_bn_no_affine_model",
                                "keras.layers.BatchNormalization(center=False, scale=False)"), PUBLIC_AND_HIDDEN),
        "a compiled model": (
            compiled_model_source("build_bn_no_affine_model",
                                  "keras.layers.BatchNormalization(center=False, scale=False)"), PUBLIC_AND_HIDDEN),
    },
    "build_bn_no_momentum_model": {
        "momentum=1.0 (PyTorch's convention)": (
            bn_after_source("build_bn_no_momentum_model", "keras.layers.BatchNormalization(momentum=1.0)"),
            PUBLIC_AND_HIDDEN),
        "momentum=0.01 (almost 0)": (
            bn_after_source("build_bn_no_momentum_model", "keras.layers.BatchNormalization(momentum=0.01)"),
            PUBLIC_AND_HIDDEN),
        "one model returned by every call": (
            shared_model_source("build_bn_no_momentum_model", "keras.layers.BatchNormalization(momentum=0.0)"),
            PUBLIC_AND_HIDDEN),
        "a compiled model": (
            compiled_model_source("build_bn_no_momentum_model", "keras.layers.BatchNormalization(momentum=0.0)"),
            PUBLIC_AND_HIDDEN),
    },
    STATISTICS: {
        "PyTorch's convention (momentum weighs the new value)": (
            statistics_source("mean = (1 - momentum) * mean + momentum * batch.mean(axis=0)",
                              "variance = (1 - momentum) * variance + momentum * batch.var(axis=0)"),
            PUBLIC_AND_HIDDEN),
        "the unbiased variance (ddof=1)": (
            statistics_source(KERAS_MEAN, "variance = momentum * variance + (1 - momentum) * batch.var(axis=0, ddof=1)"),
            PUBLIC_AND_HIDDEN),
        "the short last batch dropped": (
            statistics_source(KERAS_MEAN, KERAS_VARIANCE, stop="len(order) - len(order) % batch_size"),
            PUBLIC_AND_HIDDEN),
        "the given arrays updated in place": (
            statistics_source("mean *= momentum; mean += (1 - momentum) * batch.mean(axis=0)",
                              "variance *= momentum; variance += (1 - momentum) * batch.var(axis=0)",
                              start="mean, variance = moving_mean, moving_variance"),
            PUBLIC_AND_HIDDEN),
        "the points reordered in place into the visiting order": (
            statistics_source(KERAS_MEAN, KERAS_VARIANCE).replace(
                "    inputs = np.asarray(layer_inputs, dtype=float)\n",
                "    layer_inputs[:] = layer_inputs[np.asarray(order)]\n    inputs = np.asarray(layer_inputs, dtype=float)\n"
                "    order = np.arange(len(order))\n"),
            PUBLIC_AND_HIDDEN),
    },
    "build_bn_input_model": {
        "input BN alone, without the hidden BN": (
            "def build_bn_input_model():\n"
            "    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.BatchNormalization(),\n"
            "        keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform'),\n"
            "        keras.layers.Dense(1, activation='sigmoid')])\n", PUBLIC_AND_HIDDEN),
        "the input BN after the hidden Dense layer": (
            bn_after_source("build_bn_input_model",
                            "keras.layers.BatchNormalization(), keras.layers.BatchNormalization()"),
            PUBLIC_AND_HIDDEN),
        "one model returned by every call": (
            shared_model_source("build_bn_input_model", "keras.layers.BatchNormalization()",
                                first="keras.layers.BatchNormalization(),"), PUBLIC_AND_HIDDEN),
        "a compiled model": (
            compiled_model_source("build_bn_input_model", "keras.layers.BatchNormalization()",
                                  first="keras.layers.BatchNormalization(),"), PUBLIC_AND_HIDDEN),
    },
}
CASES = [(exercise, name) for exercise, answers in WRONG_ANSWERS.items() for name in answers]


def test_the_solution_passes_every_test_cell():
    every_test = [test for exercise in WRONG_ANSWERS for test in graded_cells_of(exercise)]
    assert failing_tests(ASSIGNMENT, every_test) == set()


@pytest.mark.parametrize("exercise, name", CASES)
def test_a_wrong_answer_loses_points(exercise, name):
    source, expected = WRONG_ANSWERS[exercise][name]
    public, hidden = graded_cells_of(exercise)
    failed = failing_tests(ASSIGNMENT, (public, hidden), {exercise: source})
    assert expected == PUBLIC_AND_HIDDEN
    assert failed == {public, hidden}
