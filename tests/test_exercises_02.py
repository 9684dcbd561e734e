"""Notebook 02's autograded exercises: each wrong answer named in its hidden tests loses points.

The test cells of the source notebook run here, in-process, after a wrong answer in place of the solution
(`exercise_cells.failing_tests`; nbgrader scores a test cell 0 when it raises). Each case lists the test cells that
must fail; the solution must
pass them all, so every test can fail and can pass.
"""
import pytest

from exercise_cells import failing_tests, source_cells

ASSIGNMENT = "02-baseline"
CELLS = source_cells(ASSIGNMENT)

MODEL = "build_baseline_model"
MODEL_TESTS = ("test_build_baseline_model_public", "test_build_baseline_model_hidden")
LABELS = "predict_labels"
LABELS_TESTS = ("test_predict_labels_public", "test_predict_labels_hidden")


def baseline(hidden="keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform')",
             output="keras.layers.Dense(1, activation='sigmoid')"):
    return f"def build_baseline_model():\n    return keras.Sequential([keras.Input(shape=(2,)), {hidden}, {output}])\n"


def labels(body):
    return f"def predict_labels(model, X):\n    probabilities = np.asarray(model(X, training=False))\n    {body}\n"


WRONG = {
    "tanh": (MODEL, baseline(hidden="keras.layers.Dense(50, activation='tanh', kernel_initializer='he_uniform')"),
             set(MODEL_TESTS)),
    "glorot_uniform": (MODEL, baseline(hidden="keras.layers.Dense(50, activation='relu')"), set(MODEL_TESTS)),
    "10 hidden units": (MODEL, baseline(hidden="keras.layers.Dense(10, activation='relu', kernel_initializer='he_uniform')"),
                        set(MODEL_TESTS)),
    "no sigmoid": (MODEL, baseline(output="keras.layers.Dense(1)"), set(MODEL_TESTS)),
    "one shared model": (MODEL, baseline().replace("def build_baseline_model():\n    return ", "_MODEL = ")
                         + "def build_baseline_model():\n    return _MODEL\n", set(MODEL_TESTS)),
    "compiled": (MODEL, baseline().replace("    return keras.Sequential", "    model = keras.Sequential")
                 + "    model.compile(optimizer='sgd', loss='binary_crossentropy')\n    return model\n", set(MODEL_TESTS)),
    ">= 0.5": (LABELS, labels("return (probabilities.reshape(-1) >= 0.5).astype(int)"), set(LABELS_TESTS)),
    "shape (n, 1)": (LABELS, labels("return (probabilities > 0.5).astype(int)"), set(LABELS_TESTS)),
    "boolean labels": (LABELS, labels("return probabilities.reshape(-1) > 0.5"), {LABELS_TESTS[0]}),
    "float labels": (LABELS, labels("return (probabilities.reshape(-1) > 0.5).astype(float)"), {LABELS_TESTS[0]}),
    "a tensor of labels": (LABELS, "def predict_labels(model, X):\n"
                                   "    return keras.ops.cast(keras.ops.reshape(model(X, training=False), (-1,)) > 0.5, 'int32')\n",
                           {LABELS_TESTS[0]}),
    "probabilities": (LABELS, labels("return probabilities.reshape(-1)"), set(LABELS_TESTS)),
    "training mode": (LABELS, "def predict_labels(model, X):\n"
                              "    return (np.asarray(model(X, training=True)).reshape(-1) > 0.5).astype(int)\n",
                      {LABELS_TESTS[0]}),
}
TESTS = {MODEL: MODEL_TESTS, LABELS: LABELS_TESTS}


@pytest.mark.parametrize("answer_id", TESTS)
def test_the_solution_passes_every_test(answer_id):
    assert failing_tests(ASSIGNMENT, TESTS[answer_id]) == set()


@pytest.mark.parametrize("case", WRONG)
def test_each_named_wrong_answer_loses_points(case):
    answer_id, answer, expected = WRONG[case]
    assert failing_tests(ASSIGNMENT, TESTS[answer_id], {answer_id: answer}) == expected


def test_the_hidden_tests_name_the_wrong_answers_they_catch():
    assert "Wrong answers the two tests of this exercise must catch" in CELLS["test_build_baseline_model_hidden"]
    assert "Wrong answers the two tests of this exercise must catch" in CELLS["test_predict_labels_hidden"]
