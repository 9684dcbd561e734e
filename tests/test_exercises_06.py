"""06-deep-networks: every wrong answer named in a hidden test's comment loses points; the solution loses none.

`exercise_cells.exercise_failures` runs the exercise's public and hidden test cells in-process after the wrong answer
replaces the solution: a graded cell that raises scores 0 in nbgrader. `tests/test_nbgrader_roundtrip.py` grades
one of these wrong answers (BN after the activation) through nbgrader itself.
"""
import pytest

from exercise_cells import exercise_failures, source_cells

ASSIGNMENT = "06-deep-networks"
CELLS = source_cells(ASSIGNMENT)

EXERCISES = {
    "build_mlp": ("test_build_mlp_public", "test_build_mlp_hidden"),
    "sigmoid_input_percentiles": ("test_sigmoid_input_percentiles_public", "test_sigmoid_input_percentiles_hidden"),
    "largest_learning_rate_that_trains": ("test_largest_learning_rate_that_trains_public",
                                          "test_largest_learning_rate_that_trains_hidden"),
}


def replaced(grade_id, old, new):
    """The solution of `grade_id` with `old` (which must occur) replaced by `new`."""
    source = CELLS[grade_id]
    assert old in source, f"{old!r} is not in the solution of {grade_id}"
    return source.replace(old, new)


CACHED_MODEL = '''
_built = {}


def build_mlp(depth, activation="sigmoid", batch_norm=False, *, width=100, weight_scale=None):
    key = (depth, activation, batch_norm, width, weight_scale)
    if key not in _built:
        _built[key] = _build(depth, activation, batch_norm, width=width, weight_scale=weight_scale)
    return _built[key]
'''

# name -> (answer cell, source, the test cells it must fail). Named in the hidden tests' comments.
WRONG_ANSWERS = {
    "BN after the activation": ("build_mlp", lambda: replaced(
        "build_mlp",
        "        if batch_norm:\n            layers.append(keras.layers.BatchNormalization())\n"
        "        layers.append(keras.layers.Activation(activation))",
        "        layers.append(keras.layers.Activation(activation))\n"
        "        if batch_norm:\n            layers.append(keras.layers.BatchNormalization())"), "both"),
    "depth counts the output layer": ("build_mlp", lambda: replaced(
        "build_mlp", "for _ in range(depth):", "for _ in range(depth - 1):"), "both"),
    "weight scale as a variance": ("build_mlp", lambda: replaced(
        "build_mlp", "stddev=weight_scale)", "stddev=weight_scale ** 2)"), "both"),
    "weight scale as sqrt(scale)": ("build_mlp", lambda: replaced(
        "build_mlp", "stddev=weight_scale)", "stddev=weight_scale ** 0.5)"), "both"),
    "weight scale on the hidden layers only": ("build_mlp", lambda: replaced(
        "build_mlp", 'activation="softmax", kernel_initializer=kernel_initializer())', 'activation="softmax")'),
        "both"),
    "uniform draw of the same standard deviation": ("build_mlp", lambda: replaced(
        "build_mlp", "keras.initializers.RandomNormal(mean=0.0, stddev=weight_scale)",
        "keras.initializers.RandomUniform(-weight_scale * 3 ** 0.5, weight_scale * 3 ** 0.5)"), "both"),
    "the same model returned twice": ("build_mlp", lambda: replaced(
        "build_mlp", "def build_mlp(", "def _build(") + CACHED_MODEL, "hidden"),
    "the sigmoid's output instead of its input": ("sigmoid_input_percentiles", lambda: replaced(
        "sigmoid_input_percentiles", "model.layers[sigmoid_positions[-1] - 1]", "model.layers[sigmoid_positions[-1]]"),
        "both"),
    "the first hidden layer instead of the last": ("sigmoid_input_percentiles", lambda: replaced(
        "sigmoid_input_percentiles", "sigmoid_positions[-1] - 1", "sigmoid_positions[0] - 1"), "both"),
    "training mode": ("sigmoid_input_percentiles", lambda: replaced(
        "sigmoid_input_percentiles", "training=False", "training=True"), "both"),
    "percentiles over the units": ("sigmoid_input_percentiles", lambda: replaced(
        "sigmoid_input_percentiles", "percentiles, axis=0)", "percentiles, axis=1)"), "both"),
    "fractions where percentiles are meant": ("sigmoid_input_percentiles", lambda: replaced(
        "sigmoid_input_percentiles", "np.percentile(np.asarray(inputs), percentiles, axis=0)",
        "np.percentile(np.asarray(inputs), np.asarray(percentiles) / 100, axis=0)"), "both"),
    "a diverged run counted by its accuracy": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "return np.isfinite(loss) & (accuracy >= threshold)",
        "return accuracy >= threshold"), "both"),
    "NaN accuracy counted as training": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "return np.isfinite(loss) & (accuracy >= threshold)",
        "return np.isfinite(loss) & ~(accuracy < threshold)"), "hidden"),
    "the threshold argument ignored": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "(accuracy >= threshold)", "(accuracy >= 0.3)"), "hidden"),
    "a strict threshold": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "(accuracy >= threshold)", "(accuracy > threshold)"), "both"),
    "most seeds instead of every seed": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", ".all(axis=1)", ".mean(axis=1) >= 0.5"), "both"),
    "a sorted grid assumed": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "float(rates[every_seed].max())", "float(rates[np.flatnonzero(every_seed)[-1]])"),
        "both"),
    "the index instead of the rate": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", "float(rates[every_seed].max())", "int(np.argmax(np.where(every_seed, rates, -np.inf)))"),
        "both"),
    "no None when nothing trains": ("largest_learning_rate_that_trains", lambda: replaced(
        "largest_learning_rate_that_trains", " if every_seed.any() else None", " if every_seed.any() else 0.0"),
        "hidden"),
}


def failing_cells(exercise, answer=None):
    """The test cells of `exercise` that raise when its answer cell holds `answer` (default: the solution)."""
    return exercise_failures(ASSIGNMENT, exercise, answer)


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_the_solution_passes_every_test_cell(exercise):
    assert failing_cells(exercise) == set()


def test_every_test_cell_is_an_exercise_s_and_every_answer_cell_is_tested():
    test_ids = {grade_id for grade_id in CELLS if grade_id.startswith("test_")}
    assert test_ids == {grade_id for cells in EXERCISES.values() for grade_id in cells}
    answers = {grade_id for grade_id, source in CELLS.items() if "### BEGIN SOLUTION" in source}
    assert answers == set(EXERCISES) | {"written_depth_prediction"}


@pytest.mark.parametrize("name", list(WRONG_ANSWERS))
def test_each_named_wrong_answer_loses_points(name):
    exercise, answer, which = WRONG_ANSWERS[name]
    public, hidden = EXERCISES[exercise]
    expected = {public, hidden} if which == "both" else {hidden}
    assert failing_cells(exercise, answer()) == expected
