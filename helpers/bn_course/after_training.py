"""Plumbing of notebook 09 (BN after training): shifted copies of a data set, re-estimating BN's moving statistics
by forward passes, counting the arithmetic of an inference pass, and timing one.

Nothing here computes population statistics, folds a BN layer or renormalises a batch: those are the notebook's
exercises.
"""
import time

import numpy as np

import keras

from bn_course.arguments import is_integer
from bn_course.data import Dataset
from bn_course.metrics import accuracy, batch_norm_layers  # noqa: F401 (notebook 09 imports both from here)


def shifted_dataset(data, *, scale, offset):
    """A copy of `data` whose inputs of both splits are `X * scale + offset`; the labels are unchanged.

    A stand-in for a new domain (another sensor, other units): the same task, inputs moved and stretched.
    - data: a `bn_course.data.Dataset` with inputs of shape (n, features).
    - scale: a positive number, or an array (features,) of positive numbers (one per input feature).
    - offset: a number, or an array (features,) (in the inputs' units).
    Returns a new Dataset, inputs float32. Raises ValueError for a scale that is not positive or arrays whose
    length is not the number of features.
    """
    features = data.X_train.shape[1]
    scale, offset = (np.broadcast_to(np.asarray(value, dtype=np.float64), (features,)).copy()
                     if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64) for value in (scale, offset))
    for name, value in (("scale", scale), ("offset", offset)):
        if value.shape != (features,) or not np.all(np.isfinite(value)):
            raise ValueError(f"{name} must be a finite number or an array of {features} finite numbers (one per "
                             f"input feature); got shape {value.shape}.")
    if not np.all(scale > 0):
        raise ValueError(f"scale must be positive (a stretch, not a reflection); got {scale}.")

    def moved(X):
        return (X * scale + offset).astype(np.float32)

    return Dataset(X_train=moved(data.X_train), y_train=data.y_train.copy(), X_test=moved(data.X_test),
                   y_test=data.y_test.copy())


def reestimate_moving_statistics(model, X, *, passes=1, batch_size=32, reset=True, cumulative=False, random_state=0):
    """Refresh the moving mean and variance of every BatchNormalization layer of `model` from the inputs `X`, by
    forward passes in training mode with no weight update (no gradient, no optimizer step).

    Each pass visits X once in a random order, in batches of `batch_size` (the last partial batch is dropped, as
    a batch of a few points gives noisy statistics); each batch moves the moving statistics by Keras's rule
    `moving = momentum * moving + (1 - momentum) * batch statistic`. With `reset`, they first restart from their
    initial values (mean 0, variance 1), so that only X counts after enough batches (about 1 / (1 - momentum)).
    With `cumulative`, the k-th batch is given the weight 1 / k (each layer's momentum set to 1 - 1 / k for that
    batch, then restored), so the result is the plain average of the batch means and of the batch (biased)
    variances, PyTorch's `momentum=None`: no warm-up, the starting values forgotten after the first batch.
    Used without labels on a new domain this is AdaBN (Li et al., "Revisiting batch normalization for practical
    domain adaptation", 2016), with moving averages instead of exact averages.

    - model: a built Keras model; X: array (n, ...) with n >= batch_size; passes, batch_size: positive integers.
    Returns the number of batches used (an int). Raises ValueError for bad counts or a model without BN.
    """
    layers = batch_norm_layers(model)
    if not layers:
        raise ValueError("the model has no BatchNormalization layer: there are no statistics to re-estimate.")
    inputs = np.asarray(X, dtype=np.float32)
    for name, value in (("passes", passes), ("batch_size", batch_size)):
        if not is_integer(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if batch_size > len(inputs):
        raise ValueError(f"batch_size ({batch_size}) must not exceed the number of points in X ({len(inputs)}).")
    if reset:
        for layer in layers:
            layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, np.float32))
            layer.moving_variance.assign(np.ones(layer.moving_variance.shape, np.float32))
    rng = np.random.default_rng(random_state)
    n_batches = len(inputs) // batch_size
    momenta = [layer.momentum for layer in layers]
    count = 0
    try:
        for _ in range(passes):
            order = rng.permutation(len(inputs))[:n_batches * batch_size].reshape(n_batches, batch_size)
            for indices in order:
                count += 1
                if cumulative:
                    for layer in layers:
                        layer.momentum = 1.0 - 1.0 / count
                model(inputs[indices], training=True)  # updates the moving statistics; no tape, no optimizer step
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return count


def inference_operations(model):
    """Arithmetic operations one example costs in an inference pass of `model`, by layer type (a dict of ints).

    The convention, per example:
    - Dense(u) on v inputs: v * u multiplications and v * u additions (v - 1 per unit to sum, one for the bias);
    - BatchNormalization on u units, inference mode: 2 * u (one multiplication and one addition per unit: TensorFlow
      computes `x * s + (beta - mean * s)` with `s = gamma / sqrt(var + epsilon)`, per batch, not per example);
    - an activation (a Dense's own or an Activation layer) on u units: u (one comparison for a ReLU, one
      function evaluation otherwise).
    Layers without arithmetic (Input, Dropout in inference mode) count 0.

    - model: a built keras.Sequential of Dense, BatchNormalization, Activation and Dropout layers.
    Returns {"Dense": ..., "BatchNormalization": ..., "activation": ..., "total": ...}.
    Raises TypeError for another layer type (its cost is not defined here).
    """
    counts = {"Dense": 0, "BatchNormalization": 0, "activation": 0}
    for layer in model.layers:
        units = int(layer.output.shape[-1])
        if isinstance(layer, keras.layers.Dense):
            counts["Dense"] += 2 * int(layer.kernel.shape[0]) * units
            if layer.activation is not keras.activations.linear:
                counts["activation"] += units
        elif isinstance(layer, keras.layers.BatchNormalization):
            counts["BatchNormalization"] += 2 * units
        elif isinstance(layer, (keras.layers.Activation, keras.layers.ReLU)):
            counts["activation"] += units
        elif not isinstance(layer, keras.layers.Dropout):
            raise TypeError(f"layer {layer.name!r} is a {type(layer).__name__}; inference_operations counts Dense, "
                            "BatchNormalization, Activation, ReLU and Dropout layers.")
    counts["total"] = sum(counts.values())
    return counts


def median_seconds(function, *arguments, repeats=7):
    """The median wall-clock time of `function(*arguments)`, in seconds, over `repeats` calls after one warm-up
    call (which traces a tf.function or fills caches and is not counted).

    A median, not a mean: on a shared machine a few calls are slowed by other processes. For a comparison, time
    the candidates side by side in one cell and report their ratio, which the load affects less than either time.
    - repeats: a positive integer. Raises ValueError otherwise.
    """
    if not is_integer(repeats) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer; got {repeats!r}.")
    function(*arguments)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*arguments)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def standard_normal_inputs(n, features, *, random_state=0, dtype="float32"):
    """`n` points of `features` independent standard-normal coordinates: array (n, features) of `dtype`.

    The inputs on which a folded network is compared with the original (any point should do: folding is exact
    algebra, not a fit to the data). Raises ValueError unless n and features are positive integers.
    """
    for name, value in (("n", n), ("features", features)):
        if not is_integer(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return np.random.default_rng(random_state).standard_normal((n, features)).astype(dtype)


def train_side_by_side(make_network, data, *, seeds, epochs, batch_size, learning_rate, momentum=0.9,
                       epoch_end=None):
    """Train one network per seed, side by side in one Keras model, with `model.fit`; return each one's final test
    accuracy (inference mode), a float array (len(seeds),) in seed order.

    For layers the course's trainer (`bn_course.fast`) does not accept, such as a custom normalization layer. The
    S = len(seeds) networks are branches of one functional model that share its input: branch s is built right
    after `set_seed(seeds[s])`, so its initial weights depend on its seed only, and nothing connects two branches.
    They see the same mini-batches (the data order is not varied by the seed, unlike `run_study`). The compiled
    loss is the mean of the S binary cross-entropies, which scales each branch's gradient by 1 / S; the learning
    rate is multiplied by S to undo it, so that SGD (with momentum, whose update is linear in the gradient) moves
    each branch exactly as if it trained alone.

    - make_network: callable with no arguments returning a NEW list of Keras layers that map the data's inputs
      (n, features) to one sigmoid probability (n, 1).
    - data: a `bn_course.data.Dataset` with labels in {0, 1}; seeds: a non-empty list of ints.
    - epochs, batch_size: positive integers, as in `model.fit` (the training set is reshuffled every epoch).
    - learning_rate, momentum: of SGD for each network.
    - epoch_end: None, or a callable `epoch_end(epoch, networks)` run after every epoch (epoch 1-based, as Keras
      prints it), for measurements fit's metrics do not make (e.g. the accuracy with population statistics):
      `networks` is a list of S keras.Sequential, `networks[s]` the network of `seeds[s]` at that point of
      training (it shares the branch's layers, so its weights and moving statistics are the branch's). Its
      return value is ignored; it must not change the weights.
    Raises ValueError for an empty list of seeds or bad counts, TypeError for an epoch_end that is not callable.
    """
    from bn_course.training import set_seed

    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if not is_integer(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    if epoch_end is not None and not callable(epoch_end):
        raise TypeError(f"epoch_end must be None or a callable epoch_end(epoch, networks); got {epoch_end!r}.")
    inputs = keras.Input(shape=data.X_train.shape[1:])
    branches, networks = [], []
    for seed in seeds:
        set_seed(seed)
        layers = make_network()
        outputs = inputs
        for layer in layers:
            outputs = layer(outputs)
        branches.append(outputs)
        networks.append(keras.Sequential([keras.Input(shape=data.X_train.shape[1:]), *layers]))
    model = keras.Model(inputs, keras.layers.Concatenate()(branches) if len(branches) > 1 else branches[0])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate * len(seeds), momentum=momentum),
                  loss="binary_crossentropy", steps_per_execution=-(-len(data.X_train) // batch_size))
    set_seed(seeds[0])
    tiled = np.repeat(np.asarray(data.y_train, np.float32).reshape(-1, 1), len(seeds), axis=1)
    callbacks = [] if epoch_end is None else [
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_end(epoch + 1, networks))]
    model.fit(data.X_train, tiled, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0, callbacks=callbacks)
    predicted = np.asarray(model(data.X_test, training=False)) > 0.5
    return np.mean(predicted == (np.asarray(data.y_test).reshape(-1, 1) > 0.5), axis=0).astype(float)
