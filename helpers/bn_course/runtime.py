"""Where the notebook runs: a learner's session, or nbgrader grading it unattended."""
import os


def is_autograding():
    """True while nbgrader autogrades the notebook (it sets NBGRADER_EXECUTION=autograde)."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def demo_seeds(n_seeds=10, *, n_seeds_when_grading=3, first_seed=0):
    """The seeds a demonstration study uses: `n_seeds` for a learner, fewer while autograding.

    Grading checks the exercises, not the demonstrations, so a multi-seed study only needs to run, not to
    be precise, when nbgrader executes the notebook. Graded tests never depend on this.
    """
    count = n_seeds_when_grading if is_autograding() else n_seeds
    return list(range(first_seed, first_seed + count))


def use_exact_float32():
    """Make TensorFlow multiply float32 matrices in full float32 on every device (returns None: no cell output).

    On NVIDIA GPUs from Ampere on (Colab's A100 and L4), TensorFlow by default computes float32 matrix products
    and convolutions in TF32, with 10 mantissa bits instead of 23: a relative error near 1e-3 in a Dense layer's
    output, where the course's checks compare a learner's NumPy with Keras at rtol 1e-5 (atol 1e-6 to 1e-4).
    A correct answer could fail on such a GPU; with TF32 off it cannot. On a CPU this changes nothing.

    XLA, which Keras 3 compiles with on a GPU (jit_compile="auto"), is left on: it fuses and reorders float32
    operations, which moves results by a few units in the last place (about 1e-7 relative), two orders of
    magnitude inside the tolerances (tests/test_gpu_numerics.py measures both effects on a CPU).
    """
    import tensorflow as tf  # here, not at the top: the module is imported by notebooks that never need TF

    tf.config.experimental.enable_tensor_float_32_execution(False)
