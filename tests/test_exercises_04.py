"""Notebook 04's autograded exercises: the solution passes every test cell, and each wrong answer named in a hidden
test's comment loses points, failing exactly the cells named there."""
import pytest

from exercise_cells import failing_tests

ASSIGNMENT = "04-bn-before"
BUILD_TESTS = ("test_build_bn_before_model_public", "test_build_bn_before_model_hidden")
SWITCHED_TESTS = ("test_switched_fraction_public", "test_switched_fraction_hidden")
PUBLIC_AND_HIDDEN_BUILD, PUBLIC_BUILD = set(BUILD_TESTS), {BUILD_TESTS[0]}


def model_source(hidden="keras.layers.Dense(50, kernel_initializer='he_uniform')",
                 normalization="keras.layers.BatchNormalization()", relu="keras.layers.Activation('relu'),"):
    return ("def build_bn_before_model():\n"
            "    return keras.Sequential([keras.Input(shape=(2,)),\n"
            f"        {hidden},\n        {normalization},\n        {relu}\n"
            "        keras.layers.Dense(1, activation='sigmoid')])\n")


WRONG_MODELS = {
    "a ReLU inside the hidden Dense layer too": (
        model_source(hidden="keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform')"),
        PUBLIC_AND_HIDDEN_BUILD),
    "BN after the ReLU (notebook 3's model)": (
        model_source(hidden="keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform')", relu=""),
        PUBLIC_AND_HIDDEN_BUILD),
    "the default Glorot initializer": (model_source(hidden="keras.layers.Dense(50)"), PUBLIC_BUILD),
    "use_bias=False": (
        model_source(hidden="keras.layers.Dense(50, use_bias=False, kernel_initializer='he_uniform')"),
        PUBLIC_AND_HIDDEN_BUILD),
    "BN with momentum=0.9": (model_source(normalization="keras.layers.BatchNormalization(momentum=0.9)"),
                             PUBLIC_BUILD),
    "one model returned by every call": (
        "_the_model = keras.Sequential([keras.Input(shape=(2,)),\n"
        "    keras.layers.Dense(50, kernel_initializer='he_uniform'), keras.layers.BatchNormalization(),\n"
        "    keras.layers.Activation('relu'), keras.layers.Dense(1, activation='sigmoid')])\n"
        "def build_bn_before_model():\n    return _the_model\n",
        PUBLIC_AND_HIDDEN_BUILD),
    "a compiled model": (
        model_source().replace("    return keras.Sequential", "    model = keras.Sequential")
        + "    model.compile(optimizer='sgd', loss='binary_crossentropy')\n    return model\n",
        PUBLIC_AND_HIDDEN_BUILD),
}


def switched_source(body):
    return f"def switched_fraction(inputs_a, inputs_b):\n    {body}\n"


WRONG_SWITCHES = {
    ">= 0 (an exact 0 counted as on)": switched_source(
        "return np.mean((np.asarray(inputs_a) >= 0) != (np.asarray(inputs_b) >= 0), axis=0)"),
    "the mean over the units (axis 1)": switched_source(
        "return np.mean((np.asarray(inputs_a) > 0) != (np.asarray(inputs_b) > 0), axis=1)"),
    "the count instead of the fraction": switched_source(
        "return np.sum((np.asarray(inputs_a) > 0) != (np.asarray(inputs_b) > 0), axis=0).astype(float)"),
    "a comparison of signs": switched_source(
        "return np.mean(np.sign(np.asarray(inputs_a)) != np.sign(np.asarray(inputs_b)), axis=0)"),
    "a tensor instead of a NumPy array": switched_source(
        "return keras.ops.mean(keras.ops.cast(keras.ops.not_equal(keras.ops.greater(inputs_a, 0), "
        "keras.ops.greater(inputs_b, 0)), 'float32'), axis=0)"),
}


def test_the_solution_passes_every_test_cell():
    assert failing_tests(ASSIGNMENT, BUILD_TESTS + SWITCHED_TESTS) == set()


@pytest.mark.parametrize("name", WRONG_MODELS)
def test_a_wrong_model_loses_points(name):
    source, expected = WRONG_MODELS[name]
    assert failing_tests(ASSIGNMENT, BUILD_TESTS, {"build_bn_before_model": source}) == expected


@pytest.mark.parametrize("name", WRONG_SWITCHES)
def test_a_wrong_switched_fraction_fails_public_and_hidden_tests(name):
    answers = {"switched_fraction": WRONG_SWITCHES[name]}
    assert failing_tests(ASSIGNMENT, SWITCHED_TESTS, answers) == set(SWITCHED_TESTS)
