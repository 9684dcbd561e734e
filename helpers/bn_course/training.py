"""Compiling and training Keras models the way the course does, with seeds set."""
import numpy as np

import keras

LEARNING_RATE = 0.01
MOMENTUM = 0.9
EPOCHS = 100
BATCH_SIZE = 32
# The keys of model.fit's history with validation data, in the order fit reports them.
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def set_seed(random_state):
    """Seed Python, NumPy and the Keras backend, so weight initialisation and shuffling repeat."""
    keras.utils.set_random_seed(int(random_state))


def compile_model(model, *, learning_rate=LEARNING_RATE, momentum=MOMENTUM):
    """Compile `model` for the course: SGD with momentum, binary cross-entropy, accuracy. Returns `model`."""
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def fit_model(model, data, *, epochs=EPOCHS, batch_size=BATCH_SIZE, random_state=0):
    """Train `model` with `model.fit` on `data`, validating on the test split after every epoch.

    The model is compiled with `compile_model` if it is not compiled yet. Returns the history as a dict
    of float arrays of length `epochs`: 'loss', 'accuracy' (running means over the epoch, in training
    mode) and 'val_loss', 'val_accuracy' (the test set at the epoch's end, in inference mode).
    """
    if not model.compiled:
        compile_model(model)
    set_seed(random_state)
    history = model.fit(
        data.X_train,
        data.y_train,
        validation_data=(data.X_test, data.y_test),
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        verbose=0,
    )
    return {name: np.asarray(values, dtype=float) for name, values in history.history.items()}


def evaluate_accuracy(model, X, y):
    """Accuracy of `model` on (X, y) in inference mode (BN uses its moving statistics)."""
    probabilities = model.predict(X, verbose=0).ravel()
    return float(np.mean((probabilities > 0.5) == (np.asarray(y).ravel() > 0.5)))
