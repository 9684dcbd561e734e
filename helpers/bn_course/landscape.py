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

Their first experiment (section 2.1, Figure 2; Algorithm 1 of their appendix A.2.1) *creates* internal covariate
shift: noise with a non-zero mean and a non-unit variance, whose distribution changes at every step, is added
after each BN layer. `NoisyBatchNormalization` is that "noisy" BN layer, `santurkar_noise` its noise, and
`training_statistics` measures what it does to the distribution of a layer's outputs.
"""
import math
import weakref
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

import keras

from bn_course.arguments import is_real
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
      the start of epoch e (column 0: before any training; column E: after the last epoch); (S, E + 1, ...) for a
      measurement that is an array.
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
    - measure: a function measure(model, x, y) -> dict name -> number (or -> NumPy array, of one shape per
      name), called on each model at the start of every epoch and after the last one, with (x, y) the mini-batch of `batch_size` training samples that the
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


# -- Santurkar et al.'s "noisy" BatchNorm (section 2.1, appendix A.2.1) ---------------------------------------------

NOISE_SETTINGS = {"mean_range": 0.5, "scale_range": 1.25, "mean_spread": 0.1, "scale_spread": 0.1}
_HASH_MULTIPLIERS = (0x7FEB352D, 0x846CA68B)  # "lowbias32", C. Wellons (2018), a 32-bit integer hash of low bias


def santurkar_noise(activations, seed, *, mean_range=0.5, scale_range=1.25, mean_spread=0.1, scale_spread=0.1):
    """One draw of Santurkar et al.'s time-varying noise, applied to a batch of activations: s * a + m.

    Algorithm 1 of Santurkar et al. (2018, appendix A.2.1), for activation a_ij of unit j (last axis) and sample i
    (every other axis: for a convolution, the positions count as samples, as in BN):
    - for each unit j, once per call: a mean mu_j ~ U(-mean_range, mean_range) and a scale sigma_j ~ U(1, scale_range)
      (the parameters of this step's distribution D_j^t, themselves random);
    - for each sample i and unit j: m_ij ~ U(mu_j - mean_spread, mu_j + mean_spread) and s_ij ~ N(sigma_j, scale_spread^2)
      (we read the paper's N(sigma, r_sigma) as a standard deviation r_sigma);
    - output s_ij a_ij + m_ij.
    So within one call unit j is shifted by mu_j on average and scaled by sigma_j: over calls, the shift has mean 0
    and variance mean_range^2 / 3, the scale mean (1 + scale_range) / 2. The defaults are the paper's constants
    (n_mu = 0.5, n_sigma = 1.25, r_mu = r_sigma = 0.1).

    - activations: float tensor (..., F), F known.
    - seed: int tensor (2,), e.g. `keras.random.SeedGenerator.next()`; every value of the seed gives another draw,
      the same seed the same draw.
    Returns a float32 tensor of the shape of `activations`.

    The random numbers come from a counter-based generator (a 32-bit hash of the seed and of each number's position,
    16 bits for each of the two uniforms m and s need), built from `keras.ops` only. Why not `keras.random`: the
    course's trainer runs the seeds of a study through `tf.vectorized_map`, which has no vectorised form for
    TensorFlow's stateless random ops and loops over the runs one by one instead, several times slower; integer
    arithmetic vectorises. With 16-bit uniforms the normal s is cut at 4.3 standard deviations.
    """
    ops = keras.ops
    units = activations.shape[-1]
    flat = ops.reshape(activations, (-1, units))
    rows = ops.shape(flat)[0]
    first, second = _uniform_pairs(seed, rows + 1, units)  # row 0: the unit's parameters; rows 1..: the samples'
    shift = (2 * first[0] - 1) * mean_range
    scale = 1 + second[0] * (scale_range - 1)
    m = shift + (2 * first[1:] - 1) * mean_spread
    s = scale + scale_spread * math.sqrt(2.0) * ops.erfinv(2 * second[1:] - 1)
    return ops.reshape(s * ops.cast(flat, "float32") + m, ops.shape(activations))


def _uniform_pairs(seed, rows, columns):
    """Two float32 arrays (rows, columns) of uniforms in (0, 1), 16 bits each, from one 32-bit hash per position."""
    ops = keras.ops

    def u32(value):
        return ops.cast(value, "uint32")

    def mix(x):  # lowbias32: xor-shift, multiply, xor-shift, multiply, xor-shift (bijective on 32-bit integers)
        for multiplier, shift in zip(_HASH_MULTIPLIERS, (16, 15)):
            x = ops.multiply(ops.bitwise_xor(x, ops.right_shift(x, u32(shift))), u32(multiplier))
        return ops.bitwise_xor(x, ops.right_shift(x, u32(16)))

    seed = u32(seed)
    key = mix(ops.bitwise_xor(mix(seed[0]), seed[1]))
    bits = mix(ops.bitwise_xor(u32(ops.arange(rows * columns)), key))

    def unit(half):  # the 16-bit integer k as (k + 1/2) / 2^16: strictly inside (0, 1), so erfinv stays finite
        return ops.reshape((ops.cast(half, "float32") + 0.5) / 65536.0, (rows, columns))

    return unit(ops.right_shift(bits, u32(16))), unit(ops.bitwise_and(bits, u32(0xFFFF)))


def check_noise_settings(mean_range, scale_range, mean_spread, scale_spread):
    """Raise ValueError unless the noise's constants are finite, the ranges and spreads >= 0, scale_range >= 1."""
    settings = {"mean_range": mean_range, "scale_range": scale_range, "mean_spread": mean_spread,
                "scale_spread": scale_spread}
    for name, value in settings.items():
        if not is_real(value) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0; got {value!r}.")
    if scale_range < 1:
        raise ValueError(f"scale_range must be >= 1: each step's scale is drawn from U(1, scale_range); got {scale_range!r}.")


@keras.saving.register_keras_serializable(package="bn_course")
class NoisyBatchNormalization(keras.layers.BatchNormalization):
    """BatchNormalization followed, in training only, by Santurkar et al.'s time-varying noise (`santurkar_noise`).

    The "noisy" BN layer of Santurkar et al. (2018), section 2.1 and Figure 2: every training call (one per SGD
    step) normalises as `keras.layers.BatchNormalization` does (statistics of the batch, moving statistics
    updated from it), then perturbs each output with a new draw of the noise, so that every unit's output
    distribution changes from step to step. In inference (`training=False`, `predict`, `evaluate`) the layer is
    exactly BatchNormalization: no noise.

    - mean_range, scale_range, mean_spread, scale_spread: the noise's constants (n_mu, n_sigma, r_mu, r_sigma of the
      paper; defaults theirs); ValueError unless finite, >= 0, and scale_range >= 1.
    - seed: int or None. The layer's `keras.random.SeedGenerator` gives every call a new seed for the noise; its
      state is a non-trainable variable (saved with the model, and returned updated by `stateless_call`, so the
      course's trainer draws the noise exactly as Keras does). With seed None the starting state is drawn from
      NumPy's global generator, which `bn_course.training.set_seed` seeds: building this layer then leaves the
      stream Keras draws initial weights from untouched, so a network with it starts from the same kernels as the
      same network with BatchNormalization, seed for seed.
    - every other argument as `keras.layers.BatchNormalization`'s; the units must be on the last axis (axis=-1).
    Input and output: float tensors (..., F).
    """

    def __init__(self, *, mean_range=0.5, scale_range=1.25, mean_spread=0.1, scale_spread=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        check_noise_settings(mean_range, scale_range, mean_spread, scale_spread)
        if self.axis not in (-1, [-1]):
            raise ValueError(f"NoisyBatchNormalization draws its noise per unit of the last axis: use axis=-1; got axis={self.axis!r}.")
        if seed is not None and not isinstance(seed, int):
            raise ValueError(f"seed must be an int or None; got {seed!r}.")
        self.noise_settings = {"mean_range": float(mean_range), "scale_range": float(scale_range),
                               "mean_spread": float(mean_spread), "scale_spread": float(scale_spread)}
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(int(np.random.randint(1, 10**9)) if seed is None else seed)

    def call(self, inputs, training=None, mask=None):
        outputs = super().call(inputs, training=training, mask=mask)
        if not training:
            return outputs
        return santurkar_noise(outputs, self.seed_generator.next(), **self.noise_settings)

    def get_config(self):
        return {**super().get_config(), **self.noise_settings, "seed": self.seed}


def training_statistics(model, x, layer):
    """Mean and variance over the batch of each output unit of `layer`, in a training-mode pass of `model` on `x`.

    - model: a built Keras model; layer: one of its layers, given by name or position in `model.layers`.
    - x: a batch of inputs (B, ...), as the model takes them.
    Returns (mean, variance): float arrays (F,), the layer's outputs (B, F) averaged over the batch (variance with
    divisor B). The pass is `model.stateless_call(..., training=True)`: BN normalises with this batch's statistics
    and a `NoisyBatchNormalization` draws noise from its current seed state, as the next training step would; the
    model's variables (moving statistics, seed states) are not changed. Raises ValueError for an unknown layer.
    """
    names = [each.name for each in model.layers]
    if isinstance(layer, str):
        if layer not in names:
            raise ValueError(f"no layer named {layer!r}; the model's layers are {names}.")
        layer = names.index(layer)
    if not isinstance(layer, (int, np.integer)) or not -len(names) <= layer < len(names):
        raise ValueError(f"layer must be a name or a position between {-len(names)} and {len(names) - 1}; got {layer!r}.")
    position = int(layer) % len(names)
    probes = _LAYER_OUTPUTS.setdefault(model, {})
    if position not in probes:  # building the functional model costs more than a pass: once per model and layer
        probes[position] = keras.Model(model.inputs, model.layers[position].output)
    probe = probes[position]
    outputs, _ = probe.stateless_call([v.value for v in probe.trainable_variables],
                                      [v.value for v in probe.non_trainable_variables],
                                      tf.constant(np.asarray(x, np.float32)), training=True)
    outputs = np.asarray(outputs, float).reshape(-1, outputs.shape[-1])
    return outputs.mean(axis=0), outputs.var(axis=0)


_LAYER_OUTPUTS = weakref.WeakKeyDictionary()  # model -> {position: a functional model from its inputs to that layer}
