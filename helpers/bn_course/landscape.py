"""The plumbing behind Santurkar et al.'s measurements: losses and gradients of a network at chosen weights.

S. Santurkar, D. Tsipras, A. Ilyas, A. Madry, "How does batch normalization help optimization?", NeurIPS 2018
(arXiv:1805.11604) measure two things during training, with and without BN:

- internal covariate shift, their Definition 2.1 (section 2.2): how much the gradient of the loss with respect to
  layer i's weights changes when the layers *below* i take their training step, on the same mini-batch;
- the smoothness of the loss landscape (section 3.1, Figure 4): how the loss, and its gradient, change as one
  moves from the current weights along the gradient by a range of step sizes.

Both need the loss and the gradient of one network at weights that training never visits (half-updated weights,
points along the gradient). This module evaluates them; what to evaluate, and how to summarise it, is left to
the notebook. Everything works in *flat parameter space*: the trainable weights of a model, in the order of
`model.trainable_variables`, each flattened (C order) and concatenated into one float32 vector of P numbers.

- `GradientProbe(model)`: `flat_weights()`, `loss_and_gradients(thetas, x, y)` (a batch of weight vectors at
  once, in one compiled call), `blocks` (which layer each number belongs to), `kernel(block)`, `sgd_step`.
- `train_and_measure(models, data, ...)`: trains S models side by side with the course's trainer
  (`bn_course.fast.train_stacked`), one epoch at a time, and calls a measurement function on every model at
  every epoch boundary, on the mini-batch the next training step uses.
"""
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import keras

from bn_course.fast import architecture_key, epoch_order, sgd_update, train_stacked
from bn_course.training import BATCH_SIZE

# Random state of epoch e of the run of seed s: every epoch gets a new permutation of its own (train_stacked
# draws the permutation of "epoch 0" of its random state; one call trains one epoch).
_EPOCH_STRIDE = 100_000
_FUNCTIONS = {}  # architecture -> the compiled evaluation of the first model of that architecture seen


class GradientProbe:
    """Loss and gradients of `model` at any weights, on one mini-batch, in training mode.

    - model: a built keras.Sequential (or functional model) compiled with plain SGD (momentum 0, the update
      rule of Definition 2.1: W(t+1) = W(t) - learning_rate * gradient) and a loss given by name or as a Keras
      loss, e.g. "sparse_categorical_crossentropy".

    Attributes:
    - n_parameters: P, the number of trainable numbers.
    - blocks: int array (P,), the block of every number. Block i is the i-th Dense (or convolution) layer,
      counted from 0 at the input, together with every layer after it up to the next one (its BN's gamma and
      beta): "layer i" of Santurkar et al. Raises ValueError if a trainable weight comes before the first Dense.
    - learning_rate: the SGD learning rate (float).

    The training-mode forward pass normalises with the batch's own statistics, as a training step does; the
    moving statistics are read from the model and never changed.
    """

    def __init__(self, model):
        if not isinstance(model, keras.Model) or not model.built:
            raise TypeError(f"GradientProbe needs a built Keras model; got {type(model).__name__}.")
        if not model.compiled or not isinstance(model.optimizer, keras.optimizers.SGD):
            raise ValueError("compile the model with keras.optimizers.SGD (plain SGD, momentum 0) first.")
        config = model.optimizer.get_config()
        if config.get("momentum") or not isinstance(config["learning_rate"], float):
            raise ValueError("Definition 2.1 compares the gradient before and after one SGD step: use plain SGD with a "
                             f"constant learning rate and momentum 0; got momentum={config.get('momentum')!r}, "
                             f"learning_rate={config['learning_rate']!r}.")
        self.model = model
        self.learning_rate = float(config["learning_rate"])
        self._loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
        self._shapes = [tuple(variable.shape) for variable in model.trainable_variables]
        self._sizes = [int(np.prod(shape)) for shape in self._shapes]
        self.n_parameters = int(sum(self._sizes))
        self.blocks, self._kernels = self._layout(model)
        key = (architecture_key(model), self.n_parameters)
        if key not in _FUNCTIONS:  # one compiled function per architecture: tracing costs more than a call
            _FUNCTIONS[key] = tf.function(self._losses_and_gradients, reduce_retracing=True)
        self._function = _FUNCTIONS[key]

    # -- flat parameter space ----------------------------------------------------------------------------------

    def flat_weights(self):
        """The model's current trainable weights as one float32 vector (P,), in `trainable_variables` order."""
        return np.concatenate([np.asarray(variable).ravel() for variable in self.model.trainable_variables]).astype(np.float32)

    def kernel(self, block):
        """A slice of the flat vector: the kernel (weight matrix) of block `block`'s Dense layer, W_i in the paper."""
        if not 0 <= block < len(self._kernels):
            raise ValueError(f"block must be between 0 and {len(self._kernels) - 1}; got {block!r}.")
        return self._kernels[block]

    def sgd_step(self, theta, gradient):
        """The weights after one plain SGD step, theta - learning_rate * gradient (keras.optimizers.SGD without
        momentum, via `bn_course.fast.sgd_update`): float32 (P,)."""
        updated, _ = sgd_update(np.asarray(theta, np.float32), np.asarray(gradient, np.float32), [], self.learning_rate,
                                1, momentum=0.0, nesterov=False)
        return np.asarray(updated, np.float32)

    # -- evaluation --------------------------------------------------------------------------------------------

    def loss_and_gradients(self, thetas, x, y):
        """Mean loss on the batch (x, y) and its gradient, at each of M weight vectors.

        - thetas: float array (M, P) (or (P,) for one vector): flat weights, as `flat_weights` lays them out.
        - x: inputs of one mini-batch, (B, ...) as the model takes them; y: its labels, (B,) or (B, 1).
        Returns (losses, gradients): float64 arrays (M,) and (M, P) -- or a float and (P,) for a single vector.
        The loss is the model's loss averaged over the batch (the quantity SGD descends), in nats for the
        cross-entropies; the gradient is with respect to every trainable number. Raises ValueError for a
        vector of the wrong length.
        """
        thetas = np.asarray(thetas, np.float32)
        single = thetas.ndim == 1
        thetas = np.atleast_2d(thetas)
        if thetas.ndim != 2 or thetas.shape[1] != self.n_parameters:
            raise ValueError(f"thetas must have shape (M, {self.n_parameters}) (or ({self.n_parameters},)), flat "
                             f"weights in the order of model.trainable_variables; got shape {np.shape(thetas)}.")
        non_trainable = [tf.constant(variable) for variable in self.model.non_trainable_variables]
        losses, gradients = self._function(tf.constant(thetas), tf.constant(np.asarray(x, np.float32)),
                                           tf.constant(y), non_trainable)
        losses, gradients = losses.numpy().astype(float), gradients.numpy().astype(float)
        return (losses[0], gradients[0]) if single else (losses, gradients)

    def _losses_and_gradients(self, thetas, x, y, non_trainable):
        def one(theta):
            with tf.GradientTape() as tape:
                tape.watch(theta)
                pieces = tf.split(theta, self._sizes)
                trainable = [tf.reshape(piece, shape) for piece, shape in zip(pieces, self._shapes)]
                predictions, _ = self.model.stateless_call(trainable, non_trainable, x, training=True)
                loss = tf.reduce_mean(self._loss(y, predictions))
            return loss, tape.gradient(loss, theta)

        return tf.map_fn(one, thetas, fn_output_signature=(tf.float32, tf.float32))

    def _layout(self, model):
        """blocks (P,) and the kernel slice of every block, from the order of the trainable variables."""
        owner = {id(variable): layer for layer in model.layers for variable in layer.trainable_variables}
        blocks, kernels, block, start = [], [], -1, 0
        for variable, size in zip(model.trainable_variables, self._sizes):
            layer = owner[id(variable)]
            if hasattr(layer, "kernel") and variable is layer.kernel:
                block += 1
                kernels.append(slice(start, start + size))
            if block < 0:
                raise ValueError(f"the trainable weight {variable.path!r} comes before the first Dense layer; "
                                 "blocks start at a layer with a kernel.")
            blocks.append(np.full(size, block))
            start += size
        return np.concatenate(blocks), kernels


@dataclass
class MeasuredTraining:
    """What `train_and_measure` returns, for S runs trained E epochs.

    - measurements: dict name -> float array (S, E + 1): what the measurement function returned for run s at
      the start of epoch e (column 0: before any training; column E: after the last epoch).
    - steps: int array (E + 1,), the number of SGD steps taken before each measurement (epoch x steps per epoch).
    - history: dict metric -> float array (S, E): the trainer's 'loss', 'accuracy', 'val_loss', 'val_accuracy'.
    """

    measurements: dict
    steps: np.ndarray
    history: dict


def train_and_measure(models, data, *, epochs, seeds, measure, batch_size=BATCH_SIZE):
    """Train S models side by side, one epoch at a time, and measure each of them at every epoch boundary.

    - models: S compiled models of one architecture (`bn_course.fast.train_stacked`'s conditions), e.g. one per
      seed, built after `set_seed(seed)`.
    - data: a `bn_course.data.Dataset`; epochs: E, a positive integer; seeds: S integers, one per model, that set
      each run's data order (a new permutation every epoch).
    - measure: a function measure(model, x, y) -> dict name -> number, called on each model at the start of
      every epoch and after the last one, with (x, y) the mini-batch of `batch_size` training samples that the
      run's next SGD step uses (after the last epoch: the first batch the next epoch would use). It may read the
      model's weights but must not change them.

    Returns a `MeasuredTraining`. Training is `train_stacked`'s, plain mini-batch SGD as the models are
    compiled: measuring does not change it. Raises ValueError for mismatched arguments.
    """
    models, seeds = list(models), [int(seed) for seed in seeds]
    if not models or len(models) != len(seeds):
        raise ValueError(f"train_and_measure needs one seed per model; got {len(models)} models and {len(seeds)} seeds.")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer; got {epochs!r}.")
    n_train = len(data.X_train)
    rows, history = [], []
    for epoch in range(epochs + 1):
        states = [seed * _EPOCH_STRIDE + epoch for seed in seeds]
        row = []
        for model, state in zip(models, states):
            first_batch = epoch_order(n_train, random_state=state, epoch=0)[:batch_size]
            row.append(measure(model, data.X_train[first_batch], data.y_train[first_batch]))
        rows.append(row)
        if epoch < epochs:
            history.append(train_stacked(models, data, epochs=1, batch_size=batch_size, random_states=states).history)
    names = list(rows[0][0])
    measurements = {name: np.array([[rows[e][s][name] for e in range(epochs + 1)] for s in range(len(models))], float)
                    for name in names}
    steps = np.arange(epochs + 1) * -(-n_train // batch_size)
    curves = {key: np.concatenate([epoch_history[key] for epoch_history in history], axis=1) for key in history[0]}
    return MeasuredTraining(measurements, steps, curves)
