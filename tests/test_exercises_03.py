"""Notebook 03's autograded exercises: each wrong answer named in its hidden tests loses points.

The test cells of the source notebook run in-process after a wrong answer in place of the solution
(`exercise_cells.failing_tests`). Each case lists the test cells that must fail; the solution passes them all.
"""
import pytest

from exercise_cells import failing_tests, source_cells

ASSIGNMENT = "03-bn-after"
CELLS = source_cells(ASSIGNMENT)

MODEL = "build_bn_after_model"
MODEL_TESTS = ("test_build_bn_after_model_public", "test_build_bn_after_model_hidden")
CALLBACK = "InferenceModeTrainAccuracy"
CALLBACK_TESTS = ("test_InferenceModeTrainAccuracy_public", "test_InferenceModeTrainAccuracy_hidden")
TESTS = {MODEL: MODEL_TESTS, CALLBACK: CALLBACK_TESTS}
HIDDEN = "keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform')"


def bn_after(*layers):
    return ("def build_bn_after_model():\n    return keras.Sequential([keras.Input(shape=(2,)), "
            + ", ".join(layers) + ", keras.layers.Dense(1, activation='sigmoid')])\n")


def frozen_bn():
    return ("def build_bn_after_model():\n    normalization = keras.layers.BatchNormalization()\n"
            "    normalization.trainable = False\n    return keras.Sequential([keras.Input(shape=(2,)), "
            f"{HIDDEN}, normalization, keras.layers.Dense(1, activation='sigmoid')])\n")


def callback(body, method="on_epoch_end(self, epoch, logs=None)"):
    return ("class InferenceModeTrainAccuracy(keras.callbacks.Callback):\n"
            "    def __init__(self, X_train, y_train):\n"
            "        super().__init__()\n"
            "        self.X_train, self.y_train, self.accuracies = X_train, y_train, []\n\n"
            f"    def {method}:\n" + "".join(f"        {line}\n" for line in body))


def inference_accuracy(training="False", reshape=".reshape(-1)", wrap="float", rule="> 0.5"):
    return [f"probabilities = np.asarray(self.model(self.X_train, training={training})){reshape}",
            f"self.accuracies.append({wrap}(np.mean((probabilities {rule}) == (np.asarray(self.y_train) > 0.5))))"]


BOTH_MODEL, BOTH_CALLBACK = set(MODEL_TESTS), set(CALLBACK_TESTS)
WRONG = {
    "BN before the ReLU": (MODEL, bn_after("keras.layers.Dense(50, kernel_initializer='he_uniform')",
                                           "keras.layers.BatchNormalization()", "keras.layers.Activation('relu')"),
                           BOTH_MODEL),
    "momentum 0.9": (MODEL, bn_after(HIDDEN, "keras.layers.BatchNormalization(momentum=0.9)"), BOTH_MODEL),
    "scale=False": (MODEL, bn_after(HIDDEN, "keras.layers.BatchNormalization(scale=False)"), BOTH_MODEL),
    "glorot_uniform": (MODEL, bn_after("keras.layers.Dense(50, activation='relu')", "keras.layers.BatchNormalization()"),
                       BOTH_MODEL),
    "no BN": (MODEL, bn_after(HIDDEN), BOTH_MODEL),
    "frozen BN": (MODEL, frozen_bn(), BOTH_MODEL),
    "shape (n, 1) broadcast": (CALLBACK, callback(inference_accuracy(reshape="")), BOTH_CALLBACK),
    "fit's logs['accuracy']": (CALLBACK, callback(["self.accuracies.append(float(logs['accuracy']))"]), BOTH_CALLBACK),
    "logs['val_accuracy']": (CALLBACK, callback(["self.accuracies.append(float(logs['val_accuracy']))"]),
                             BOTH_CALLBACK),
    "training mode": (CALLBACK, callback(inference_accuracy(training="True")), BOTH_CALLBACK),
    "per batch": (CALLBACK, callback(inference_accuracy(), method="on_train_batch_end(self, batch, logs=None)"),
                  BOTH_CALLBACK),
    "a tensor, not a float": (CALLBACK, callback(inference_accuracy(wrap="keras.ops.convert_to_tensor")),
                              BOTH_CALLBACK),
    ">= 0.5": (CALLBACK, callback(inference_accuracy(rule=">= 0.5")), {CALLBACK_TESTS[0]}),
}


@pytest.mark.parametrize("answer_id", TESTS)
def test_the_solution_passes_every_test(answer_id):
    assert failing_tests(ASSIGNMENT, TESTS[answer_id]) == set()


@pytest.mark.parametrize("case", WRONG)
def test_each_named_wrong_answer_loses_points(case):
    answer_id, answer, expected = WRONG[case]
    assert failing_tests(ASSIGNMENT, TESTS[answer_id], {answer_id: answer}) == expected


def test_the_hidden_tests_name_the_wrong_answers_they_catch():
    for test_id in (MODEL_TESTS[1], CALLBACK_TESTS[1]):
        assert "Wrong answers the two tests of this exercise must catch" in CELLS[test_id]
