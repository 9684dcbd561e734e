"""Colab's GPU runtime, checked without a GPU: what TF32 and XLA would do to the course's checks.

On an Ampere or newer NVIDIA GPU TensorFlow computes float32 matrix products in TF32 (inputs rounded to 10
mantissa bits) unless told not to, and Keras compiles with XLA. Neither exists on these CPU-only machines, so:
- TF32 is emulated exactly as the hardware rounds the inputs (round to nearest, 13 low mantissa bits cleared)
  to show it fails the course's default check_close tolerances, while float32 passes them: the setup cell's
  `use_exact_float32()` is needed, and these tests check that it really turns TF32 off;
- XLA runs for real, on the CPU (the same compiler, another back end): its results stay within a few float32
  ulps of the uncompiled ones, far inside the tolerances.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from bn_course.checks import CheckFailed, check_close
from bn_course.data import load_circles
from bn_course.runtime import use_exact_float32

TF32_DROPPED_BITS = 23 - 10


def tf32(array):
    """`array` (float32) rounded to TF32's 10 mantissa bits, round to nearest, as a GPU's tensor cores read it."""
    bits = np.asarray(array, dtype=np.float32).view(np.uint32).astype(np.uint64)
    half = 1 << (TF32_DROPPED_BITS - 1)
    rounded = ((bits + half) >> TF32_DROPPED_BITS) << TF32_DROPPED_BITS
    return rounded.astype(np.uint32).view(np.float32)


@pytest.fixture
def tf32_setting():
    before = tf.config.experimental.tensor_float_32_execution_enabled()
    yield
    tf.config.experimental.enable_tensor_float_32_execution(before)


@pytest.fixture(scope="module")
def hidden_layer():
    """The course's hidden layer (Dense 2 -> 50 after a Dense 50 -> 50 to get 50 inputs) and circles inputs."""
    keras.utils.set_random_seed(0)
    data = load_circles()
    first = keras.layers.Dense(50, activation="relu")
    layer = keras.layers.Dense(50)
    inputs = first(data.X_train.astype("float32")).numpy()
    layer.build(inputs.shape)
    return layer, inputs


def test_tf32_rounding_keeps_ten_mantissa_bits():
    assert tf32(np.float32(1 + 2**-10)) == np.float32(1 + 2**-10)
    assert tf32(np.float32(1 + 2**-12)) == np.float32(1)
    assert tf32(np.float32(1 + 3 * 2**-12)) == np.float32(1 + 2**-10)


def test_use_exact_float32_turns_tf32_off(tf32_setting):
    tf.config.experimental.enable_tensor_float_32_execution(True)
    assert use_exact_float32() is None  # the setup cell's last line: no output
    assert tf.config.experimental.tensor_float_32_execution_enabled() is False


def test_tf32_would_fail_a_correct_answer_and_float32_passes(hidden_layer):
    layer, inputs = hidden_layer
    kernel, bias = (weight.numpy() for weight in layer.weights)
    exact = inputs.astype(np.float64) @ kernel.astype(np.float64) + bias
    with_tf32 = tf32(inputs).astype(np.float64) @ tf32(kernel).astype(np.float64) + bias
    keras_float32 = layer(inputs).numpy()
    check_close(keras_float32, exact, "the float32 layer output")  # passes: float32 is what the checks assume
    with pytest.raises(CheckFailed):
        check_close(with_tf32, exact, "the TF32 layer output")
    relative = np.abs(with_tf32 - exact) / np.abs(exact).max()
    assert 1e-5 < relative.max() < 1e-2, f"TF32 emulation error {relative.max():.2e} is not TF32-sized"


def test_xla_stays_within_float32_rounding_of_the_uncompiled_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(50, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(1, activation="sigmoid")])
    inputs = tf.constant(load_circles().X_train, dtype=tf.float32)
    for training in (True, False):
        def forward(x):
            return model(x, training=training)

        plain = tf.function(forward)(inputs).numpy()
        compiled = tf.function(forward, jit_compile=True)(inputs).numpy()
        check_close(compiled, plain, f"the XLA output (training={training})")
        assert np.max(np.abs(compiled - plain)) <= 16 * np.finfo(np.float32).eps, "XLA moved results by > 16 ulp"
