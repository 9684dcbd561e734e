"""Compiling and training Keras models the way the course does, with seeds set."""
import numpy as np

import keras

from bn_course.metrics import accuracy

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


def training_batches(data, *, batch_size=BATCH_SIZE, random_state=0):
    """The training split as a tf.data.Dataset of (X, y) mini-batches, reshuffled at every iteration (epoch).

    `model.fit(X, y, shuffle=True)` on arrays does not reshuffle between epochs once a global seed is set
    (Keras 3 on TensorFlow, measured with 3.15.1: every epoch repeats the first permutation), although fit is
    documented to shuffle before each epoch. A dataset shuffled with its own seed and
    `reshuffle_each_iteration=True` draws a new permutation every epoch, the same ones on every run.
    Batches of `batch_size`, the last one partial (500 samples -> 15 of 32 and one of 20).
    """
    import tensorflow as tf

    n_samples = len(data.X_train)
    return (tf.data.Dataset.from_tensor_slices((data.X_train, data.y_train))
            .shuffle(n_samples, seed=int(random_state), reshuffle_each_iteration=True)
            .batch(batch_size))


def fit_model(model, data, *, epochs=EPOCHS, batch_size=BATCH_SIZE, random_state=0):
    """Train `model` with `model.fit` on `data`, validating on the test split after every epoch.

    The model is compiled with `compile_model` if it is not compiled yet. The training set is reshuffled
    before every epoch (`training_batches`), reproducibly for a given `random_state`. Returns the history as
    a dict of float arrays of length `epochs`: 'loss', 'accuracy' (running means over the epoch, in training
    mode) and 'val_loss', 'val_accuracy' (the test set at the epoch's end, in inference mode).
    """
    if not model.compiled:
        compile_model(model)
    set_seed(random_state)
    history = model.fit(
        training_batches(data, batch_size=batch_size, random_state=random_state),
        validation_data=(data.X_test, data.y_test),
        epochs=epochs,
        shuffle=False,  # the dataset reshuffles itself; fit would warn that it ignores shuffle=True
        verbose=0,
    )
    return {name: np.asarray(values, dtype=float) for name, values in history.history.items()}


def evaluate_accuracy(model, X, y):
    """Accuracy of `model` on (X, y) in inference mode (BN uses its moving statistics)."""
    return accuracy(model.predict(X, verbose=0), y)
