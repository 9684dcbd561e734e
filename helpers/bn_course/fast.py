"""A compiled trainer: the course's `model.fit`, minus the per-epoch overhead, for one model or many seeds.

`model.fit` spends nearly all of a 100-epoch run on the circles problem in Python bookkeeping between tiny
batches. `train_fast` runs the whole training -- every epoch, every mini-batch, every validation -- as ONE
call into a TensorFlow graph, with the same semantics as `model.fit` in this course:

- a new permutation of the training set every epoch, seeded by `random_state`;
- mini-batches of `batch_size`, the last one partial (500 samples -> 15 batches of 32 and one of 20);
- the forward pass in training mode: BatchNormalization normalises with the batch statistics and updates its
  moving averages, Dropout drops (masks drawn from `random_state`, not from the layer's own seed generator:
  the same distribution, other draws);
- the gradient of the mean binary cross-entropy of the batch, applied with the update rule and settings of
  the model's optimizer (SGD with momentum, as `compile_model` sets it), its momentum starting from zero;
- training 'loss' and 'accuracy' are running means over the epoch's batches, weighted by batch size, as
  `fit` reports them; 'val_loss' and 'val_accuracy' are the test set in inference mode at every epoch end.

The same graph trains S copies of one architecture at once (one per seed): every weight is stacked on a
leading "seed" axis of size S, so S runs cost about as many graph operations as one. `bn_course.study`
uses that; `train_fast` is the case S = 1.

The step's gradients come layer by layer, backwards, from each layer's own backward step: a Dense layer's
are two matrix products and a sum, an activation's is TensorFlow's gradient op for it, BatchNormalization's
is TensorFlow's automatic differentiation of the very operations Keras runs. That builds ~40 % fewer graph
operations than one GradientTape over the whole model, which makes the graph faster to trace and to run.
Models with layers outside that set (other activations, a frozen BatchNormalization) go through a tape.

Tracing the graph costs about as much as running it, so graphs are kept: a later call with
a model of the same architecture (same layers and layer settings, same optimizer settings, same data shapes,
epochs, batch size and number of seeds) loads the model's weights into the kept graph and runs it without
tracing again. `clear_cache()` forgets them.

Conventions: inputs X have shape (N, D), labels y shape (N,) in {0, 1}; stacked tensors have shape
(S, ...) with the seed axis first. Supported models are the ones the course builds: a keras.Sequential of
Dense, BatchNormalization, Activation, ReLU and Dropout layers ending in one sigmoid unit, compiled (or not yet)
with binary cross-entropy. Anything else raises an error instead of training something different.
"""
from contextlib import contextmanager

import numpy as np
import tensorflow as tf

import keras

from bn_course.training import compile_model

# The permutation and the dropout masks draw from separate streams of each run's key.
_SHUFFLE_STREAM = 0
_DROPOUT_STREAM = 1


def train_fast(model, data, *, epochs=100, batch_size=32, random_state=0, validate=True):
    """Train `model` on `data` like `bn_course.training.fit_model`, in one compiled graph call.

    Inputs:
    - model: a keras.Sequential the course builds (see the module docstring), compiled or not; if not, it
      is compiled with `compile_model`'s defaults (SGD, learning rate 0.01, momentum 0.9).
    - data: a `bn_course.data.Dataset`; trains on X_train, y_train and validates on X_test, y_test.
    - epochs, batch_size: as in `model.fit`.
    - random_state: seeds the per-epoch permutations (and dropout masks). Weight initialisation is the
      model's own: seed it before building the model, e.g. with `set_seed`.
    - validate: whether to evaluate the test set at every epoch end.

    Returns a dict of float arrays of shape (epochs,): 'loss', 'accuracy' and, if `validate`, 'val_loss',
    'val_accuracy' -- the keys and meaning of `model.fit`'s history. Afterwards `model` holds the trained
    weights and BatchNormalization moving statistics. The optimizer's slots (momentum) start from zero,
    as for a freshly compiled model; `model.optimizer` itself is left untouched.
    """
    result = train_stacked([model], data, epochs=epochs, batch_size=batch_size,
                           random_states=[random_state], validate=validate)
    return {name: curves[0] for name, curves in result.history.items()}


class StackedResult:
    """What `train_stacked` returns.

    - history: dict metric -> float array (S, epochs), the keys of `train_fast`'s history.
    - final_train_accuracy, final_test_accuracy: float arrays (S,), accuracy of each trained model in
      inference mode on the whole train / test split.
    """

    def __init__(self, history, final_train_accuracy, final_test_accuracy):
        self.history = history
        self.final_train_accuracy = final_train_accuracy
        self.final_test_accuracy = final_test_accuracy


def train_stacked(models, data, *, epochs=100, batch_size=32, random_states, validate=True):
    """Train S models of one architecture side by side in one graph; model s is shuffled by random_states[s].

    Every model is trained exactly as `train_fast(models[s], data, random_state=random_states[s])` would
    train it (the runs do not interact), and holds its trained weights afterwards. The models must have
    the same layers and optimizer configuration (e.g. S calls of one builder). Returns a `StackedResult`.
    """
    if len(models) != len(random_states):
        raise ValueError(f"got {len(models)} models but {len(random_states)} random states.")
    for model in models:
        if not model.compiled:
            compile_model(model)
    key = _architecture_key(models[0])
    if any(_architecture_key(model) != key for model in models[1:]):
        raise ValueError("all models trained together must have the same layers and optimizer settings.")
    shapes = (data.X_train.shape, data.X_test.shape)
    graph_key = (key, len(models), shapes, epochs, batch_size, validate)
    graph = _GRAPHS.get(graph_key)
    if graph is None:
        graph = _TrainingGraph(models[0], n_runs=len(models), shapes=shapes, epochs=epochs,
                               batch_size=batch_size, validate=validate)
        if graph.reusable:
            _GRAPHS[graph_key] = graph
    outputs = graph.run(models, data, random_states)
    history = {name: outputs[name].numpy().astype(float) for name in _history_keys(validate)}
    return StackedResult(history, outputs["final_train_accuracy"].numpy().astype(float),
                         outputs["final_test_accuracy"].numpy().astype(float))


def clear_cache():
    """Forget the kept training graphs (they hold a few MB each)."""
    _GRAPHS.clear()


# Training graphs kept for reuse, by (architecture, number of runs, data shapes, epochs, batch size, validate).
_GRAPHS = {}


class _TrainingGraph:
    """Stacked weights for S runs of one architecture, an optimizer for them, and the traced training function."""

    def __init__(self, template, *, n_runs, shapes, epochs, batch_size, validate):
        self.network = _StackedNetwork(template, n_runs)
        self.optimizer = _StackedOptimizer(template.optimizer, self.network.trainable_variables)
        # A graph with a Keras optimizer copy cannot be reset for another run, so it is not kept.
        self.reusable = self.optimizer.resettable
        (n_train, n_features), (n_test, _) = shapes
        train = _make_training_function(self.network, self.optimizer.apply, n_train=n_train, n_features=n_features,
                                        epochs=epochs, batch_size=batch_size, validate=validate)
        specs = (tf.TensorSpec([n_train, n_features]), tf.TensorSpec([n_train, 1]),
                 tf.TensorSpec([n_test, n_features]), tf.TensorSpec([n_test, 1]), tf.TensorSpec([n_runs, 2], tf.int64))
        # Calling the concrete function, not the tf.function, also keeps TensorFlow from warning about
        # "retracing" when a study traces one new function per configuration.
        self.function = train.get_concrete_function(*specs)

    def run(self, models, data, random_states):
        """Train `models` (compiled, of this architecture) from their current weights; returns the graph's outputs."""
        self.network.load(models)
        self.optimizer.reset()
        with _without_graph_optimizer():
            outputs = self.function(
                tf.constant(data.X_train, tf.float32), tf.constant(data.y_train[:, None], tf.float32),
                tf.constant(data.X_test, tf.float32), tf.constant(data.y_test[:, None], tf.float32),
                tf.constant([[int(seed), 0] for seed in random_states], tf.int64),
            )
        self.network.write_back(models)
        return outputs


@contextmanager
def _without_graph_optimizer():
    """Skip TensorFlow's graph optimizer (Grappler) for the calls inside, then restore the user's setting.

    Grappler rewrites a function when it first runs: on these tiny graphs that costs ~0.1 s per new
    architecture and the rewritten graph even runs slower (measured: 0.40 s vs 0.48 s per 100 epochs).
    The results are identical. The setting is process-wide, hence the restore.
    """
    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({**previous, "disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({**previous, "disable_meta_optimizer": previous.get("disable_meta_optimizer", False)})


def _architecture_key(model):
    """Everything about `model` that the traced graph depends on: layer types and settings, and the optimizer's."""
    _check_loss(model)
    layers = tuple((type(layer).__name__, _config_text({k: v for k, v in layer.get_config().items() if k != "name"}))
                   for layer in _supported_layers(model))
    optimizer = model.optimizer
    optimizer_config = {k: v for k, v in optimizer.get_config().items() if k != "name"}
    return layers, type(optimizer).__name__, _config_text(optimizer_config)


def _config_text(config):
    return repr(sorted(config.items()))


def epoch_order(n_samples, *, random_state, epoch):
    """The order (int array (n_samples,)) in which the trainer visits the training samples in `epoch` (0-based).

    Exposed so that a test can replay an epoch of `train_fast` batch by batch with `train_on_batch`.
    """
    key = tf.constant([[int(random_state), 0]], tf.int64)
    return _epoch_permutations(key, tf.constant(epoch, tf.int64), n_samples)[0].numpy()


def _history_keys(validate):
    return ("loss", "accuracy", "val_loss", "val_accuracy") if validate else ("loss", "accuracy")


def _epoch_permutations(keys, epoch, n_samples):
    """One permutation of range(n_samples) per run: int32 (S, n_samples), a pure function of (key, epoch).

    Each run draws from its own key, so a run's shuffling does not depend on which other runs share the graph.
    """
    permutations = []
    for s in range(keys.shape[0]):
        stream = tf.random.experimental.stateless_fold_in(keys[s], _SHUFFLE_STREAM)
        seed = tf.random.experimental.stateless_fold_in(stream, epoch)
        permutations.append(tf.argsort(tf.random.stateless_uniform([n_samples], seed=seed)))
    return tf.stack(permutations)


class _StackedOptimizer:
    """Applies one update of a model's optimizer rule to the stacked variables, given their gradients.

    Keras's plain SGD is applied with TensorFlow's fused op for exactly its rule (m <- momentum * m - lr * g,
    then w <- w + m), one op per variable where Keras's generic update builds a dozen: the graph traces and
    runs several times faster, and its slots can be reset to train another model. Any other optimizer is a
    fresh copy of the Keras optimizer; element-wise rules (Adam, RMSprop, ...) act on each seed's slice as on
    the model alone. Clipping by norm would couple the seeds' slices, so it is refused. Either way the slots
    (momentum) start from zero, as for a freshly compiled model.
    """

    def __init__(self, optimizer, variables):
        config = optimizer.get_config()
        if config.get("clipnorm") or config.get("global_clipnorm"):
            raise ValueError("train_fast does not support optimizers that clip by norm (clipnorm, global_clipnorm).")
        self.variables = variables
        self.resettable = _is_plain_sgd(optimizer, config)
        self.slots = []
        if self.resettable:
            self.learning_rate = tf.constant(config["learning_rate"], tf.float32)
            self.momentum = tf.constant(config["momentum"], tf.float32)
            self.slots = [tf.Variable(tf.zeros(variable.shape), trainable=False) for variable in variables]
        else:
            self.keras_optimizer = type(optimizer).from_config(config)
            self.keras_optimizer.build(variables)

    def apply(self, gradients):
        if not self.resettable:
            self.keras_optimizer.apply_gradients(zip(gradients, self.variables))
            return
        for variable, slot, gradient in zip(self.variables, self.slots, gradients):
            tf.raw_ops.ResourceApplyKerasMomentum(var=variable.value.handle, accum=slot.handle, lr=self.learning_rate,
                                                  grad=gradient, momentum=self.momentum, use_nesterov=False)

    def reset(self):
        """Zero the slots before training new models (the Keras copy is fresh, used once)."""
        for slot in self.slots:
            slot.assign(tf.zeros(slot.shape))


def _is_plain_sgd(optimizer, config):
    """SGD with a constant learning rate, optional classical momentum and none of Keras's extras."""
    extras = ("weight_decay", "clipvalue", "gradient_accumulation_steps", "loss_scale_factor")
    return (type(optimizer) is keras.optimizers.SGD and isinstance(config["learning_rate"], float)
            and not config["nesterov"] and not config.get("use_ema") and all(config.get(key) is None for key in extras))


def _check_loss(model):
    """Refuse a model compiled with anything but plain binary cross-entropy, the loss the trainer computes."""
    loss = model.loss
    name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", repr(loss)))
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    if name != "binary_crossentropy" or config.get("from_logits") or config.get("label_smoothing"):
        raise ValueError(f"train_fast trains with binary cross-entropy on probabilities; the model is compiled with {loss!r}.")


class _StackedNetwork:
    """The layers of S models of one Sequential architecture, with every weight stacked on a seed axis.

    For each layer, `weights[i]` maps the Keras weight name ('kernel', 'bias', 'gamma', 'beta',
    'moving_mean', 'moving_variance') to a keras.Variable: kernels (S, D, F); vectors (S, 1, F), so that
    they broadcast over the batch axis of activations (S, B, F) without slicing in the graph.
    """

    def __init__(self, template, n_runs):
        self.n_runs = n_runs
        self.layers = _supported_layers(template)
        self.weights = [
            {weight.name: keras.Variable(np.zeros(_stacked_shape(n_runs, weight), np.float32),
                                         trainable=weight.trainable, name=f"stacked_{position}_{weight.name}")
             for weight in layer.weights}
            for position, layer in enumerate(self.layers)
        ]
        self.trainable_keys = [(position, name) for position, stacked in enumerate(self.weights)
                               for name, variable in stacked.items() if variable.trainable]
        self.trainable_variables = [self.weights[position][name] for position, name in self.trainable_keys]
        self.first_trained = self.trainable_keys[0][0] if self.trainable_keys else len(self.layers)
        self.has_dropout = any(isinstance(layer, keras.layers.Dropout) and layer.rate > 0 for layer in self.layers)
        self.chain_rule_by_layer = _has_layer_gradients(self.layers)

    def forward(self, x, *, training, dropout_seeds=None):
        """Outputs (S, B, 1) of the S networks on inputs x (S, B, D), and what the backward pass needs.

        Returns (outputs, updates, backward_steps). In training mode `updates` lists the BatchNormalization
        moving-statistic updates as (variable, new value), to apply after the step; in inference mode it is
        empty. `backward_steps[i]` maps the gradient of layer i's output to (gradient of its input or None,
        {weight name: gradient}); the last layer's step takes the gradient of the final sigmoid's logits.
        dropout_seeds: int64 (S, 2), a fresh stateless seed per run for this batch (training mode only).
        """
        updates, backward_steps = [], []
        last = len(self.layers) - 1
        for position, (layer, weights) in enumerate(zip(self.layers, self.weights)):
            if isinstance(layer, keras.layers.Dense):
                x, backward = _dense(layer, weights, x, logits_gradient=position == last)
            elif isinstance(layer, keras.layers.BatchNormalization):
                x, backward = _batch_norm(layer, weights, x, training=training, updates=updates)
            elif isinstance(layer, (keras.layers.Activation, keras.layers.ReLU)):
                x, backward = _activation(layer, x, logits_gradient=position == last)
            elif training and layer.rate > 0:
                x, backward = _dropout(x, layer.rate, dropout_seeds, position)
            else:
                backward = _identity_backward
            backward_steps.append(backward)
        return x, updates, backward_steps

    def loss_and_gradients(self, x, y, batch_size, dropout_seeds):
        """One training-mode pass of the S networks on a batch x (S, B, D), y (S, B, 1) of B = batch_size (float).

        Returns the per-run mean loss and accuracy (S,), the gradients of the summed losses with respect to
        `trainable_variables` (each run's weights only reach its own loss, so these are every run's own
        gradients), and the moving-statistic updates.
        """
        if not self.chain_rule_by_layer:
            with tf.GradientTape() as tape:
                y_pred, updates, _ = self.forward(x, training=True, dropout_seeds=dropout_seeds)
                loss, accuracy = _mean_loss_and_accuracy(y, y_pred)
                total_loss = tf.reduce_sum(loss)
            return loss, accuracy, tape.gradient(total_loss, self.trainable_variables), updates
        y_pred, updates, backward_steps = self.forward(x, training=True, dropout_seeds=dropout_seeds)
        loss, accuracy = _mean_loss_and_accuracy(y, y_pred)
        # The gradient of a batch's mean binary cross-entropy with respect to the logits of its sigmoid.
        gradient = (y_pred - y) / batch_size
        gradients = {}
        for position in reversed(range(self.first_trained, len(self.layers))):
            gradient, layer_gradients = backward_steps[position](gradient, input_gradient=position > self.first_trained)
            gradients.update({(position, name): value for name, value in layer_gradients.items()})
        return loss, accuracy, [gradients[key] for key in self.trainable_keys], updates

    def load(self, models):
        """Stack the weights of models[0..S-1] (same architecture) into the network's variables."""
        per_model_weights = [[{weight.name: weight for weight in layer.weights} for layer in _supported_layers(model)]
                             for model in models]
        for position, stacked in enumerate(self.weights):
            for name, variable in stacked.items():
                values = np.stack([np.asarray(weights[position][name]) for weights in per_model_weights])
                variable.assign(values.reshape(variable.shape))

    def write_back(self, models):
        """Copy seed s's slice of every stacked weight into models[s]."""
        for s, model in enumerate(models):
            for layer, stacked in zip(_supported_layers(model), self.weights):
                for weight in layer.weights:
                    weight.assign(stacked[weight.name].numpy()[s].reshape(weight.shape))


def _stacked_shape(n_runs, weight):
    return (n_runs, *weight.shape) if len(weight.shape) > 1 else (n_runs, 1, *weight.shape)


def _supported_layers(model):
    """The model's layers, after checking that the stacked network computes exactly what Keras would."""
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"train_fast trains keras.Sequential models; got {type(model).__name__}.")
    if not model.built:
        raise ValueError("build the model first: start it with keras.Input(shape=(2,)).")
    layers = model.layers
    for layer in layers:
        if not isinstance(layer, (keras.layers.Dense, keras.layers.BatchNormalization,
                                  keras.layers.Activation, keras.layers.ReLU, keras.layers.Dropout)):
            raise TypeError(f"train_fast does not support {type(layer).__name__} layers.")
        if any(getattr(layer, attribute, None) is not None for attribute in (
                "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
                "bias_constraint", "beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint")):
            raise ValueError(f"train_fast does not support regularizers or constraints (layer {layer.name}).")
        if isinstance(layer, keras.layers.Dense) and (layer.lora_enabled or not layer.trainable):
            raise ValueError(f"train_fast trains every Dense layer fully (layer {layer.name}).")
        if isinstance(layer, keras.layers.BatchNormalization) and (layer.axis not in (-1, 1) or getattr(layer, "renorm", False)):
            # getattr: Keras before 3.14 (Colab's at the time of writing) has no renorm at all.
            raise ValueError(f"train_fast supports BatchNormalization over the feature axis without renorm (layer {layer.name}).")
        if isinstance(layer, keras.layers.Dropout) and layer.noise_shape is not None:
            raise ValueError(f"train_fast does not support Dropout with a noise_shape (layer {layer.name}).")
    if layers[-1].output.shape[-1] != 1:
        raise ValueError("train_fast trains binary classifiers with one sigmoid output unit.")
    return layers


def _has_layer_gradients(layers):
    """Whether every layer's gradient can be taken from its own backward step instead of a GradientTape.

    True for the course's models: Dense, Activation and ReLU layers with linear, relu, sigmoid or tanh,
    trainable BatchNormalization, Dropout, and a sigmoid output. The tape handles everything else.
    """
    def activation_of(layer):
        if isinstance(layer, keras.layers.ReLU):
            config = layer.get_config()
            plain = config["negative_slope"] == 0 and config["max_value"] is None and config["threshold"] == 0
            return keras.activations.relu if plain else None
        return getattr(layer, "activation", None)

    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization) and not layer.trainable:
            return False
        if isinstance(layer, (keras.layers.Dense, keras.layers.Activation, keras.layers.ReLU)) \
                and activation_of(layer) not in _ACTIVATION_GRADIENTS:
            return False
    return activation_of(layers[-1]) is keras.activations.sigmoid


# The gradient of an activation's input from its output and the gradient of its output: TensorFlow's own ops.
_ACTIVATION_GRADIENTS = {
    keras.activations.linear: lambda output, d_output: d_output,
    keras.activations.relu: lambda output, d_output: tf.raw_ops.ReluGrad(gradients=d_output, features=output),
    keras.activations.sigmoid: lambda output, d_output: tf.raw_ops.SigmoidGrad(y=output, dy=d_output),
    keras.activations.tanh: lambda output, d_output: tf.raw_ops.TanhGrad(y=output, dy=d_output),
}


def _identity_backward(d_output, *, input_gradient):
    return d_output, {}


def _activation_backward(activation, output, d_output, *, logits_gradient):
    """d_output is already the gradient of the logits when this is the model's final sigmoid."""
    return d_output if logits_gradient else _ACTIVATION_GRADIENTS[activation](output, d_output)


def _dense(layer, weights, x, *, logits_gradient):
    """keras.layers.Dense.call on x (S, B, D) with kernels (S, D, F), and its backward step."""
    kernel = weights["kernel"].value
    pre_activation = tf.matmul(x, kernel)
    if layer.use_bias:
        pre_activation = pre_activation + weights["bias"].value
    output = layer.activation(pre_activation)

    def backward(d_output, *, input_gradient):
        d_pre_activation = _activation_backward(layer.activation, output, d_output, logits_gradient=logits_gradient)
        gradients = {"kernel": tf.matmul(x, d_pre_activation, transpose_a=True)}
        if layer.use_bias:
            gradients["bias"] = tf.reduce_sum(d_pre_activation, axis=1, keepdims=True)
        d_input = tf.matmul(d_pre_activation, kernel, transpose_b=True) if input_gradient else None
        return d_input, gradients

    return output, backward


def _activation(layer, x, *, logits_gradient):
    """An Activation or ReLU layer (element-wise, so the stacked shape is fine), and its backward step."""
    output = layer.call(x)
    activation = keras.activations.relu if isinstance(layer, keras.layers.ReLU) else layer.activation

    def backward(d_output, *, input_gradient):
        return _activation_backward(activation, output, d_output, logits_gradient=logits_gradient), {}

    return output, backward


def _batch_norm(layer, weights, x, *, training, updates):
    """keras.layers.BatchNormalization.call on x (S, B, F), with per-seed statistics over the batch axis.

    Returns the output and its backward step: TensorFlow's automatic differentiation of these very
    operations, recorded for this layer alone, so the gradients are the ones Keras computes.
    """
    moving_mean, moving_variance = weights["moving_mean"], weights["moving_variance"]
    parameters = {name: weights[name].value for name, used in (("gamma", layer.scale), ("beta", layer.center)) if used}
    with tf.GradientTape() as tape:
        tape.watch([x, *parameters.values()])
        if training and layer.trainable:
            mean, variance = tf.nn.moments(x, axes=[1], keepdims=True)
            momentum = layer.momentum
            updates.append((moving_mean, moving_mean.value * momentum + mean * (1.0 - momentum)))
            updates.append((moving_variance, moving_variance.value * momentum + variance * (1.0 - momentum)))
        else:
            mean, variance = moving_mean.value, moving_variance.value
        output = tf.nn.batch_normalization(x, mean, variance, offset=parameters.get("beta"), scale=parameters.get("gamma"),
                                           variance_epsilon=layer.epsilon)

    def backward(d_output, *, input_gradient):
        sources = ([x] if input_gradient else []) + list(parameters.values())
        gradients = tape.gradient(output, sources, output_gradients=d_output)
        d_input = gradients.pop(0) if input_gradient else None
        return d_input, dict(zip(parameters, gradients))

    return output, backward


def _dropout(x, rate, dropout_seeds, position):
    """Inverted dropout like Keras's: keep with probability 1 - rate, scale kept units by 1 / (1 - rate)."""
    masks = []
    for s in range(x.shape[0]):
        seed = tf.random.experimental.stateless_fold_in(dropout_seeds[s], position)
        masks.append(tf.random.stateless_uniform(tf.shape(x)[1:], seed=seed) >= rate)
    keep = tf.stack(masks)

    def backward(d_output, *, input_gradient):
        return tf.where(keep, d_output / (1.0 - rate), tf.zeros_like(d_output)), {}

    return tf.where(keep, x / (1.0 - rate), tf.zeros_like(x)), backward


def _mean_loss_and_accuracy(y_true, y_pred):
    """Per-run mean binary cross-entropy and accuracy, each (S,), for y_true and y_pred (S, B, 1).

    keras.losses.binary_crossentropy takes the logits behind a Keras sigmoid, exactly as fit's loss does.
    Accuracy is Keras's binary accuracy: a prediction > 0.5 counts as class 1.
    """
    per_sample = keras.losses.binary_crossentropy(y_true, y_pred)
    correct = tf.cast(tf.equal(tf.cast(y_pred > 0.5, y_true.dtype), y_true), tf.float32)
    return tf.reduce_mean(per_sample, axis=1), tf.reduce_mean(correct, axis=[1, 2])


def _make_training_function(network, apply_gradients, *, n_train, n_features, epochs, batch_size, validate):
    """The whole training of the stacked network as one tf.function of the data and the runs' keys (S, 2).

    The function takes X_train (N, D), y_train (N, 1), X_test (M, D), y_test (M, 1) and the runs' keys
    (S, 2) and returns a dict of float32 tensors: the history metrics, each (S, epochs), and
    'final_train_accuracy', 'final_test_accuracy', each (S,). Loops are explicit tf.while_loops, so the
    graph holds one copy of the training step whatever `epochs` and the number of batches.
    """
    n_runs = network.n_runs
    steps_per_epoch = -(-n_train // batch_size)

    def train_step(X, y, indices, dropout_seeds):
        """One optimizer step of every run on its batch X[indices[s]]; returns the batch-size-weighted loss and accuracy sums (S,)."""
        size = tf.cast(tf.shape(indices)[1], tf.float32)
        loss, accuracy, gradients, updates = network.loss_and_gradients(
            tf.gather(X, indices), tf.gather(y, indices), size, dropout_seeds)
        apply_gradients(gradients)
        for variable, value in updates:
            variable.assign(value)
        return loss * size, accuracy * size

    # A function of its own, so that the graph holds one copy for the validation and the final evaluations.
    # X (1, M, D) is shared by the runs (matmul broadcasts it); y is (S, M, 1).
    @tf.function(autograph=False, input_signature=[tf.TensorSpec([1, None, n_features]), tf.TensorSpec([n_runs, None, 1])])
    def evaluate(X, y):
        y_pred, _, _ = network.forward(X, training=False)
        return _mean_loss_and_accuracy(y, y_pred)

    def per_run(X, y):
        return X[None], tf.broadcast_to(y[None], tf.concat([[n_runs], tf.shape(y)], 0))

    @tf.function(autograph=False)
    def train(X_train, y_train, X_test, y_test, keys):
        dropout_keys = [tf.random.experimental.stateless_fold_in(keys[s], _DROPOUT_STREAM) for s in range(n_runs)]
        test_set = per_run(X_test, y_test)

        def dropout_seeds(step):
            if not network.has_dropout:
                return None
            return tf.stack([tf.random.experimental.stateless_fold_in(key, step) for key in dropout_keys])

        def run_epoch(epoch, history):
            order = _epoch_permutations(keys, epoch, n_train)

            # One traced step for every batch: the last, partial one too (its indices are a shorter slice).
            def run_batch(batch, loss_sum, accuracy_sum):
                start = batch * batch_size
                indices = order[:, start:tf.minimum(start + batch_size, n_train)]
                loss, accuracy = train_step(X_train, y_train, indices, dropout_seeds(epoch * steps_per_epoch + batch))
                return batch + 1, loss_sum + loss, accuracy_sum + accuracy

            zeros = tf.zeros([n_runs])
            _, loss_sum, accuracy_sum = tf.while_loop(
                lambda batch, *_: batch < steps_per_epoch, run_batch, (tf.constant(0, tf.int64), zeros, zeros))
            metrics = [loss_sum / n_train, accuracy_sum / n_train]
            if validate:
                metrics.extend(evaluate(*test_set))
            return epoch + 1, [values.write(tf.cast(epoch, tf.int32), metric) for values, metric in zip(history, metrics)]

        history = [tf.TensorArray(tf.float32, size=epochs, element_shape=[n_runs]) for _ in _history_keys(validate)]
        _, history = tf.while_loop(lambda epoch, _: epoch < epochs, run_epoch, (tf.constant(0, tf.int64), history))
        outputs = {name: tf.transpose(values.stack()) for name, values in zip(_history_keys(validate), history)}
        outputs["final_train_accuracy"] = evaluate(*per_run(X_train, y_train))[1]
        outputs["final_test_accuracy"] = evaluate(*test_set)[1]
        return outputs

    return train
