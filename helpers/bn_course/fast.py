"""A compiled trainer on Keras's public API: `model.fit`'s training, minus its per-epoch overhead, for many seeds at once.

`model.fit` spends most of a 100-epoch run on small data in Python bookkeeping between tiny batches.
`train_stacked` runs the whole training of S models of one architecture -- every epoch, every mini-batch,
every validation -- as one call into a TensorFlow graph, built from public APIs only (keras-io's "writing a
training loop from scratch", made stateless):

- the forward pass is `model.stateless_call(trainable, non_trainable, x, training=True)`, vectorised over
  the S runs with `tf.vectorized_map`: every variable is stacked on a leading run axis of size S, and each
  run sees its own slice, so S runs cost about as many graph operations as one;
- the loss is the model's compiled loss, binary or sparse categorical cross-entropy, averaged over the batch
  as `fit` does; its gradients come from one `tf.GradientTape`;
- the update is the model's optimizer rule (SGD with optional momentum or Nesterov momentum, or Adam) as a
  pure function of the stacked variables, with the formulas of `keras.optimizers.SGD` / `Adam.update_step`;
  its slots start from zero, as for a freshly compiled model. The learning rate is a per-run value, so a
  learning-rate sweep trains in one graph;
- BatchNormalization's moving statistics and Dropout's seed-generator state are the non-trainable
  variables that `stateless_call` returns updated: the runs draw their dropout masks exactly as the model would;
- a new permutation of the training set every epoch (`epoch_order`), batches of `batch_size`, the last one
  partial; training 'loss' and 'accuracy' are running means over the epoch weighted by batch size, as `fit`
  reports them; 'val_loss' and 'val_accuracy' are the test set in inference mode at every epoch end.

Supported: keras.Sequential models built with a known input shape, of the layers in `SUPPORTED_LAYERS` or
their subclasses (the forward pass is the model's own `stateless_call`, so a subclass whose only extra state
is non-trainable variables that it returns updated, such as a SeedGenerator's, trains as Keras would train it:
`bn_course.landscape.NoisyBatchNormalization`, tested in tests/test_landscape.py), without regularizers or
constraints, compiled (or not yet: `compile_model`'s defaults) with binary
cross-entropy (sigmoid output) or sparse categorical cross-entropy (softmax output). Anything else raises an
error naming what is not supported instead of training something different.

Graphs are kept: a later call with models of the same architecture (layers and their settings except
initializers, optimizer settings except the learning rate, loss, data shapes, epochs, batch size, number of
runs and probes) runs the kept graph without tracing again. `clear_cache()` forgets them.
"""
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import keras

from bn_course.training import BATCH_SIZE, EPOCHS, HISTORY_KEYS, compile_model

L = keras.layers
SUPPORTED_LAYERS = (L.Dense, L.Conv1D, L.Conv2D, L.BatchNormalization, L.LayerNormalization, L.GroupNormalization,
                    L.Dropout, L.Activation, L.ReLU, L.Flatten, L.Reshape, L.MaxPooling1D, L.MaxPooling2D,
                    L.GlobalAveragePooling1D, L.GlobalAveragePooling2D)
_LOSSES = ("binary_crossentropy", "sparse_categorical_crossentropy")
_SHUFFLE_STREAM = 0


def train_fast(model, data, *, epochs=EPOCHS, batch_size=BATCH_SIZE, random_state=0, validate=True):
    """Train `model` on `data` like `bn_course.training.fit_model`, in one compiled graph call.

    - model: a supported keras.Sequential (module docstring), compiled or not (then `compile_model`'s defaults).
    - data: a `bn_course.data.Dataset`; trains on X_train, y_train and validates on X_test, y_test.
    - epochs, batch_size: as in `model.fit`. random_state: seeds the per-epoch permutations; weight
      initialisation is the model's own (seed it before building, e.g. with `set_seed`).
    - validate: whether to evaluate the test set at every epoch end.

    Returns `model.fit`'s history as a dict of float arrays (epochs,): 'loss', 'accuracy' and, if `validate`,
    'val_loss', 'val_accuracy'. Afterwards `model` holds the trained weights and moving statistics;
    `model.optimizer` is left untouched.
    """
    result = train_stacked([model], data, epochs=epochs, batch_size=batch_size, random_states=[random_state],
                           validate=validate)
    return {name: curves[0] for name, curves in result.history.items()}


@dataclass
class StackedResult:
    """What `train_stacked` returns, for S runs.

    - history: dict metric -> float array (S, epochs), the keys of `train_fast`'s history.
    - final_train_accuracy, final_test_accuracy: float arrays (S,), each trained model in inference mode.
    - probes: dict probe (as given in `probe_layers`: a layer name or position) -> float array (S, epochs, Q, F):
      at every epoch end, the quantiles
      (`probe_quantiles`, Q of them) of the layer's output units (F = last axis) over the test inputs;
      empty without probes.
    """

    history: dict
    final_train_accuracy: np.ndarray
    final_test_accuracy: np.ndarray
    probes: dict


def train_stacked(models, data, *, epochs=EPOCHS, batch_size=BATCH_SIZE, random_states, validate=True,
                  probe_layers=(), probe_quantiles=(0.15, 0.5, 0.85), probe_training=False):
    """Train S models of one architecture side by side in one graph; models[s] is shuffled by random_states[s].

    Each model trains exactly as `train_fast(models[s], data, random_state=random_states[s])` would train it
    (the runs do not interact) and holds its trained weights afterwards. The models may differ in their
    initial weights (so an initial-weight-scale sweep stacks) and in their optimizer's learning rate (so a
    learning-rate sweep stacks), nothing else.

    probe_layers: layers whose outputs are summarised at every epoch end, on the test inputs, each given by its
    name or by its position in `model.layers` (an int, negative counting from the end; a position works for
    models whose layers have Keras's automatic names, which differ from model to model), by
    `probe_quantiles` (numbers in [0, 1], linear interpolation as numpy.quantile), in inference mode or, with
    `probe_training`, in training mode (the whole test set as one batch; moving statistics not updated).

    Returns a `StackedResult`. Raises ValueError / TypeError for mismatched arguments or unsupported models.
    """
    models, random_states = list(models), [int(seed) for seed in random_states]
    if not models or len(models) != len(random_states):
        raise ValueError(f"train_stacked needs one random state per model; got {len(models)} models and "
                         f"{len(random_states)} random states.")
    for model in models:
        if not model.compiled:
            compile_model(model)
    keys = [architecture_key(model) for model in models]
    if any(key != keys[0] for key in keys[1:]):
        raise ValueError("models trained together must have the same layers, layer settings, loss and optimizer "
                         "settings (only initial weights and the learning rate may differ).")
    positions = {tuple(_layer_position(model, name) for name in probe_layers) for model in models}
    if len(positions) > 1:
        raise ValueError(f"the probe layers {list(probe_layers)} sit at different places in the models.")
    probes = tuple(probe_layers), positions.pop(), tuple(float(q) for q in probe_quantiles), bool(probe_training)
    shapes = (data.X_train.shape, data.X_test.shape)
    graph_key = (keys[0], len(models), shapes, epochs, batch_size, validate, probes)
    if graph_key not in _GRAPHS:
        _GRAPHS[graph_key] = _TrainingGraph(models[0], len(models), shapes, epochs, batch_size, validate, probes)
    return _GRAPHS[graph_key].run(models, data, random_states)


def _layer_position(model, name):
    names = [layer.name for layer in model.layers]
    if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
        if not -len(names) <= name < len(names):
            raise ValueError(f"no layer at position {name} to probe; the model has {len(names)} layers: {names}.")
        return int(name) % len(names)
    if name not in names:
        raise ValueError(f"no layer named {name!r} to probe; the model's layers are {names}.")
    return names.index(name)


def clear_cache():
    """Forget the kept training graphs (a few MB each)."""
    _GRAPHS.clear()


_GRAPHS = {}


def architecture_key(model):
    """What a traced graph depends on: layer types and settings (not initializers), loss, optimizer (not lr)."""
    def settings(config, ignored):
        return repr(sorted((k, v) for k, v in config.items() if k not in ignored and not k.endswith("initializer")))

    layers = tuple((type(layer).__name__, settings(layer.get_config(), {"name"})) for layer in _checked_layers(model))
    if not model.compiled:
        raise ValueError("compile the model first (e.g. with bn_course.training.compile_model).")
    optimizer = _checked_optimizer(model.optimizer)
    return layers, _loss_name(model), type(optimizer).__name__, settings(optimizer.get_config(), {"name", "learning_rate"})


def epoch_order(n_samples, *, random_state, epoch):
    """The order (int array (n_samples,)) in which the trainer visits the training samples in `epoch` (0-based).

    A pure function of (random_state, epoch), so a test can replay an epoch with `model.fit(shuffle=False)`.
    """
    key = tf.constant([[int(random_state), 0]], tf.int64)
    return _epoch_permutations(key, tf.constant(epoch, tf.int64), n_samples)[0].numpy()


def _epoch_permutations(keys, epoch, n_samples):
    """One permutation of range(n_samples) per run, int32 (S, n_samples), from each run's own key (S, 2)."""
    def permutation(key):
        seed = tf.random.experimental.stateless_fold_in(tf.random.experimental.stateless_fold_in(key, _SHUFFLE_STREAM), epoch)
        return tf.argsort(tf.random.stateless_uniform([n_samples], seed=seed))
    return tf.stack([permutation(keys[s]) for s in range(keys.shape[0])])


def _checked_layers(model):
    """The model's layers, after checking that the trainer computes exactly what Keras would with them."""
    if not isinstance(model, keras.Sequential):
        raise TypeError(f"the trainer trains keras.Sequential models; got {type(model).__name__}.")
    if not model.built or not model.inputs:
        raise ValueError("build the model with a known input shape: start it with keras.Input(shape=...).")
    for layer in model.layers:
        if not isinstance(layer, SUPPORTED_LAYERS):
            names = ", ".join(kind.__name__ for kind in SUPPORTED_LAYERS)
            raise TypeError(f"layer {layer.name!r} is a {type(layer).__name__}; the trainer supports {names}.")
        extras = [name for name, value in layer.get_config().items()
                  if name.endswith(("_regularizer", "_constraint")) and value is not None]
        if extras or layer.get_config().get("lora_rank"):
            raise ValueError(f"layer {layer.name!r} has {extras or 'LoRA'}; the trainer supports none.")
        if layer.get_config().get("renorm"):
            raise ValueError(f"layer {layer.name!r} uses batch renormalization, which the trainer does not support.")
    return model.layers


def _loss_name(model):
    loss = model.loss
    name = loss if isinstance(loss, str) else getattr(loss, "name", getattr(loss, "__name__", repr(loss)))
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    if name not in _LOSSES or config.get("from_logits") or config.get("label_smoothing") or config.get("ignore_class") is not None:
        raise ValueError(f"the trainer computes {' or '.join(_LOSSES)} on probabilities (no logits, no label "
                         f"smoothing); the model is compiled with {loss!r}.")
    return name


def _checked_optimizer(optimizer):
    config = optimizer.get_config()
    if type(optimizer) not in _UPDATE_RULES:
        raise ValueError(f"the trainer applies SGD or Adam; the model is compiled with {type(optimizer).__name__}.")
    extras = [key for key in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "gradient_accumulation_steps",
                              "loss_scale_factor") if config.get(key)] + (["use_ema"] if config.get("use_ema") else [])
    extras += ["amsgrad"] if config.get("amsgrad") else []
    if extras or not isinstance(config["learning_rate"], float):
        raise ValueError(f"the trainer applies plain {type(optimizer).__name__} with a constant learning rate; "
                         f"the optimizer has {extras or 'a learning-rate schedule'}.")
    return optimizer


def sgd_update(variable, gradient, slots, learning_rate, step, *, momentum, nesterov, **_):
    """One SGD step (keras.optimizers.SGD.update_step): m <- momentum m - lr g; w <- w + m, or with Nesterov
    w <- w + momentum m - lr g; without momentum w <- w - lr g. Tensors of one shape, lr broadcastable to it.
    Returns (new variable, new slots); slots is [m], or [] without momentum."""
    if momentum == 0:
        return variable - gradient * learning_rate, []
    m = slots[0] * momentum - gradient * learning_rate
    return variable + (m * momentum - gradient * learning_rate if nesterov else m), [m]


def adam_update(variable, gradient, slots, learning_rate, step, *, beta_1, beta_2, epsilon, **_):
    """One Adam step (keras.optimizers.Adam.update_step, Kingma & Ba 2015 with Keras's epsilon placement):
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t), m += (g - m)(1 - beta_1), v += (g^2 - v)(1 - beta_2),
    w -= alpha m / (sqrt(v) + epsilon), with t = step (1-based, float). Returns (new variable, [m, v])."""
    m, v = slots
    alpha = learning_rate * tf.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
    m = m + (gradient - m) * (1 - beta_1)
    v = v + (tf.square(gradient) - v) * (1 - beta_2)
    return variable - (m * alpha) / (tf.sqrt(v) + epsilon), [m, v]


_UPDATE_RULES = {keras.optimizers.SGD: sgd_update, keras.optimizers.Adam: adam_update}


def _slot_count(config):
    return 2 if "beta_1" in config else int(config.get("momentum", 0) != 0)


def _labels(name, y):
    """Labels as the loss expects them: float (N, 1) for binary cross-entropy, int32 (N,) for sparse."""
    return np.asarray(y, np.float32).reshape(-1, 1) if name == "binary_crossentropy" else np.asarray(y, np.int32).ravel()


def _loss_and_accuracy(name, y_true, y_pred):
    """Per-sample loss and correctness, each (B,), as fit's loss and 'accuracy' metric compute them."""
    if name == "binary_crossentropy":
        correct = tf.equal(tf.cast(y_pred > 0.5, y_true.dtype), y_true)[:, 0]
        return keras.losses.binary_crossentropy(y_true, y_pred), tf.cast(correct, tf.float32)
    correct = tf.equal(tf.argmax(y_pred, axis=-1, output_type=tf.int32), y_true)
    return keras.losses.sparse_categorical_crossentropy(y_true, y_pred), tf.cast(correct, tf.float32)


def _quantiles(values, quantiles):
    """Quantiles (Q, F) of values (..., F) over every axis but the last, linear interpolation as numpy.quantile."""
    flat = tf.sort(tf.reshape(values, [-1, values.shape[-1]]), axis=0)
    position = tf.constant(quantiles, tf.float32) * tf.cast(tf.shape(flat)[0] - 1, tf.float32)
    low, high = tf.floor(position), tf.math.ceil(position)
    weight = (position - low)[:, None]
    take = lambda index: tf.gather(flat, tf.cast(index, tf.int32))
    return take(low) * (1 - weight) + take(high) * weight


@contextmanager
def _quiet_tensorflow_logger():
    """Silence TensorFlow's Python logger inside: vectorized_map warns on stderr when it loops over runs for an op
    without a vectorised form (Dropout's random draws), which is correct, and nbgrader scores 0 a cell writing to stderr."""
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _without_graph_optimizer():
    """Skip TensorFlow's graph optimizer (Grappler) inside, then restore the user's setting: on these small
    graphs it costs ~0.1 s per new graph and saves nothing (measured; the results are identical)."""
    previous = tf.config.optimizer.get_experimental_options()
    tf.config.optimizer.set_experimental_options({**previous, "disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({**previous, "disable_meta_optimizer": previous.get("disable_meta_optimizer", False)})


def _map_runs(function, elems, n_runs):
    """tf.vectorized_map over the leading run axis; one run is called directly (faster to trace, same result)."""
    if n_runs > 1:
        return tf.vectorized_map(function, elems)
    outputs = function(tf.nest.map_structure(lambda tensor: tensor[0], elems))
    return tf.nest.map_structure(lambda tensor: tensor[None], outputs)


class _TrainingGraph:
    """The traced training of S runs of one architecture: a pure function of the data, the runs' keys and learning
    rates, and their initial state -- stacked trainable and non-trainable values, optimizer slots -- carried
    through the loops as tensors and returned at the end (no variable is read or assigned inside)."""

    def __init__(self, template, n_runs, shapes, epochs, batch_size, validate, probes):
        self.template, self.n_runs, self.validate = template, n_runs, validate
        self.loss = _loss_name(template)
        config = template.optimizer.get_config()
        self.rule = _UPDATE_RULES[type(template.optimizer)]
        self.rule_settings = {key: config[key] for key in ("momentum", "nesterov", "beta_1", "beta_2", "epsilon") if key in config}
        self.n_slots = _slot_count(config)
        self.probe_names, positions, self.probe_quantiles, self.probe_training = probes
        self.probe_model = keras.Model(template.inputs, [template.outputs[0]] + [template.layers[position].output
                                                                              for position in positions])
        # stateless_call of the probe model takes the template's variables: the same objects, in the same order.
        assert [id(v) for v in self.probe_model.variables] == [id(v) for v in template.variables]
        (n_train, *features), (n_test, *_) = shapes
        y_spec = tf.TensorSpec([None, 1], tf.float32) if self.loss == "binary_crossentropy" else tf.TensorSpec([None], tf.int32)
        stacked = lambda variables: [tf.TensorSpec((n_runs, *v.shape), v.dtype) for v in variables]
        state_specs = [stacked(template.trainable_variables), stacked(template.non_trainable_variables)]
        # A function of its own, traced once, so that the graph holds one copy of the inference pass for the
        # validations and the final evaluations (tracing costs about as much as running).
        self.evaluate = tf.function(self._evaluate, autograph=False, input_signature=[
            *state_specs, tf.TensorSpec([None, *features]), tf.TensorSpec([None, *y_spec.shape[1:]], y_spec.dtype)])
        with _quiet_tensorflow_logger():
            self.function = tf.function(self._make_train(n_train, epochs, batch_size), autograph=False).get_concrete_function(
                tf.TensorSpec([n_train, *features]), y_spec, tf.TensorSpec([n_test, *features]), y_spec,
                tf.TensorSpec([n_runs, 2], tf.int64), tf.TensorSpec([n_runs]), *state_specs)

    def run(self, models, data, random_states):
        def stack(variables_of):
            return [np.stack([np.asarray(variables_of(model)[i]) for model in models]) for i in range(len(variables_of(models[0])))]

        learning_rates = [float(model.optimizer.get_config()["learning_rate"]) for model in models]
        with _without_graph_optimizer():
            outputs = self.function(tf.constant(data.X_train, tf.float32), _labels(self.loss, data.y_train),
                                    tf.constant(data.X_test, tf.float32), _labels(self.loss, data.y_test),
                                    tf.constant([[seed, 0] for seed in random_states], tf.int64),
                                    tf.constant(learning_rates, tf.float32),
                                    stack(lambda m: m.trainable_variables), stack(lambda m: m.non_trainable_variables))
        for key, variables_of in (("trainable", lambda m: m.trainable_variables), ("non_trainable", lambda m: m.non_trainable_variables)):
            values = [tensor.numpy() for tensor in outputs[key]]
            for s, model in enumerate(models):
                for value, variable in zip(values, variables_of(model)):
                    variable.assign(value[s])
        history_keys = HISTORY_KEYS if self.validate else HISTORY_KEYS[:2]
        as_float = lambda tensor: tensor.numpy().astype(float)
        return StackedResult({key: as_float(outputs[key]) for key in history_keys}, as_float(outputs["final_train_accuracy"]),
                             as_float(outputs["final_test_accuracy"]),
                             {name: as_float(outputs[f"probe/{index}"]) for index, name in enumerate(self.probe_names)})

    def _per_run_pass(self, trainable, non_trainable, x, y):
        """One run's training-mode pass: mean loss, mean accuracy, updated non-trainable values."""
        y_pred, non_trainable = self.template.stateless_call(trainable, non_trainable, x, training=True)
        loss, correct = _loss_and_accuracy(self.loss, y, y_pred)
        return tf.reduce_mean(loss), tf.reduce_mean(correct), non_trainable

    def _evaluate(self, trainable, non_trainable, X, y, training=False):
        """Mean loss and accuracy (S,) of every run on (X, y), and each probe's quantiles (S, Q, F)."""
        def per_run(variables):
            outputs, _ = self.probe_model.stateless_call(*variables, X, training=training)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            # Inside the per-run function the loss still sees the logits behind the output activation, as in fit.
            loss, correct = _loss_and_accuracy(self.loss, y, outputs[0])
            return [tf.reduce_mean(loss), tf.reduce_mean(correct)] + [_quantiles(o, self.probe_quantiles) for o in outputs[1:]]
        return _map_runs(per_run, (trainable, non_trainable), self.n_runs)

    def _train_step(self, state, x, y, learning_rates, step):
        """One optimizer step of every run on its batch x (S, B, ...), y (S, B, ...): (new state, loss (S,), accuracy (S,))."""
        trainable, non_trainable, slots = state
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            loss, accuracy, non_trainable = _map_runs(lambda args: self._per_run_pass(*args),
                                                      (trainable, non_trainable, x, y), self.n_runs)
            # Each run's variables reach only its own loss: the gradient of the sum is every run's gradient.
            total = tf.reduce_sum(loss)
        updated = [self.rule(value, gradient, value_slots, tf.reshape(learning_rates, [-1] + [1] * (len(value.shape) - 1)),
                             step, **self.rule_settings)
                   for value, gradient, value_slots in zip(trainable, tape.gradient(total, trainable), slots)]
        return ([value for value, _ in updated], non_trainable, [value_slots for _, value_slots in updated]), loss, accuracy

    def _make_train(self, n_train, epochs, batch_size):
        steps_per_epoch = -(-n_train // batch_size)
        history_keys = HISTORY_KEYS if self.validate else HISTORY_KEYS[:2]

        def train(X_train, y_train, X_test, y_test, keys, learning_rates, trainable, non_trainable):
            zeros = tf.zeros([self.n_runs])

            def run_epoch(epoch, state, history, probes):
                order = _epoch_permutations(keys, epoch, n_train)

                def run_batch(batch, state, loss_sum, accuracy_sum):
                    indices = order[:, batch * batch_size:tf.minimum((batch + 1) * batch_size, n_train)]
                    step = tf.cast(epoch * steps_per_epoch + batch + 1, tf.float32)
                    state, loss, accuracy = self._train_step(state, tf.gather(X_train, indices), tf.gather(y_train, indices),
                                                             learning_rates, step)
                    size = tf.cast(tf.shape(indices)[1], tf.float32)
                    return batch + 1, state, loss_sum + loss * size, accuracy_sum + accuracy * size

                _, state, loss_sum, accuracy_sum = tf.while_loop(lambda batch, *_: batch < steps_per_epoch, run_batch,
                                                                 (tf.constant(0, tf.int64), state, zeros, zeros))
                metrics = [loss_sum / n_train, accuracy_sum / n_train]
                if self.validate:
                    metrics.extend(self.evaluate(*state[:2], X_test, y_test)[:2])
                index = tf.cast(epoch, tf.int32)
                if self.probe_names:
                    quantiles = self._evaluate(*state[:2], X_test, y_test, training=self.probe_training)[2:]
                    probes = [array.write(index, value) for array, value in zip(probes, quantiles)]
                return epoch + 1, state, [array.write(index, metric) for array, metric in zip(history, metrics)], probes

            slots = [[tf.zeros_like(value) for _ in range(self.n_slots)] for value in trainable]
            history = [tf.TensorArray(tf.float32, size=epochs) for _ in history_keys]
            probes = [tf.TensorArray(tf.float32, size=epochs) for _ in self.probe_names]
            _, (trainable, non_trainable, _), history, probes = tf.while_loop(
                lambda epoch, *_: epoch < epochs, run_epoch,
                (tf.constant(0, tf.int64), (trainable, non_trainable, slots), history, probes))
            outputs = {key: tf.transpose(array.stack()) for key, array in zip(history_keys, history)}
            # Keyed by position in probe_names: a probe may be a layer name or an int, and nest cannot sort mixed keys.
            outputs.update({f"probe/{index}": tf.transpose(array.stack(), [1, 0, 2, 3]) for index, array in enumerate(probes)})
            outputs["final_train_accuracy"] = self.evaluate(trainable, non_trainable, X_train, y_train)[1]
            outputs["final_test_accuracy"] = self.evaluate(trainable, non_trainable, X_test, y_test)[1]
            outputs.update(trainable=trainable, non_trainable=non_trainable)
            return outputs

        return train
