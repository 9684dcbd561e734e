"""Benchmark: inference time of a network with BN against the same network with BN folded away (notebook 09).

Run by hand: `PYTHONPATH=tests .venv/bin/python benchmarks/bench_folding.py` (`-h` for the options); it is not
a test and asserts no time. Both placements of notebook 09's Exercise 2, on the notebook's network (2 inputs,
`--units` hidden units, one sigmoid output) with random non-trivial BN parameters and moving statistics:
- BN before the ReLU: Dense -> BN -> ReLU -> Dense(1, sigmoid), BN folded into the preceding Dense;
- BN after the ReLU (the course's main configuration): Dense(relu) -> BN -> Dense(1, sigmoid), BN folded into the
  following Dense.
The folded weights come from the notebook's own answer (the solution of its cell `fold_bn`, read from the source
notebook: the benchmark is not shipped to students, tools/publish.py copies notebooks/ and helpers/ only), and
the folded network's outputs are checked against the original's before anything is timed.

Each network runs one inference pass on `--size` standard-normal inputs two ways: Keras (`predict_on_batch`,
inference mode) and plain NumPy (matrix products; BN at inference as `x * s + t` per unit, the 2 operations per
unit that `bn_course.after_training.inference_operations` counts). After a warm-up call of each, the original and
the folded version are called alternately, `--pairs` times (the order flips from one pair to the next), and each
pair gives a ratio folded / original: two calls a few milliseconds apart share the machine's load, so their
ratio is what a shared machine disturbs least. The table gives the median ratio and its interquartile range, in
how many pairs the folded call was the faster, and the ratio of the two fastest calls (the least disturbed ones),
with the load average before and after.
"""
import argparse
import os
import time

import numpy as np

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras

from bn_course.after_training import inference_operations, standard_normal_inputs
from bench_training import machine_description  # noqa: E402  (this script's folder is on sys.path)
from exercise_cells import source_cells  # noqa: E402  (PYTHONPATH=tests)

ASSIGNMENT, FOLDING_CELL = "09-after-training", "fold_bn"
L = keras.layers


def notebook_folding():
    """fold_bn_before_activation and fold_bn_after_activation as notebook 09's solution defines them."""
    namespace = {"np": np}
    exec(source_cells(ASSIGNMENT)[FOLDING_CELL], namespace)
    return namespace["fold_bn_before_activation"], namespace["fold_bn_after_activation"]


def randomized_bn(units, rng):
    """An inference-mode BN layer on `units` units whose gamma, beta, moving mean and variance are not the
    initial ones (folding the initial ones would fold an identity)."""
    bn = L.BatchNormalization()
    bn.build((None, units))
    bn.set_weights([rng.uniform(0.5, 2, units), rng.normal(size=units), rng.normal(size=units),
                    rng.uniform(0.5, 3, units)])
    return bn


def networks(placement, units, fold_before, fold_after, rng):
    """(original, folded) keras.Sequential of `placement` ("BN before the ReLU" or "BN after the ReLU")."""
    inputs = keras.Input(shape=(2,))
    if placement == "BN before the ReLU":
        dense, bn, head = L.Dense(units), randomized_bn(units, rng), L.Dense(1, activation="sigmoid")
        original = keras.Sequential([inputs, dense, bn, L.Activation("relu"), head])
        folded = keras.Sequential([keras.Input(shape=(2,)), L.Dense(units, activation="relu"),
                                   L.Dense(1, activation="sigmoid")])
        folded.set_weights([*fold_before(dense, bn), *head.get_weights()])
    else:
        dense, bn, head = (L.Dense(units, activation="relu"), randomized_bn(units, rng),
                           L.Dense(1, activation="sigmoid"))
        original = keras.Sequential([inputs, dense, bn, head])
        folded = keras.Sequential([keras.Input(shape=(2,)), L.Dense(units, activation="relu"),
                                   L.Dense(1, activation="sigmoid")])
        (kernel_1, bias_1), (kernel_2, bias_2) = fold_after(dense, bn, head)
        folded.set_weights([kernel_1, bias_1, kernel_2, bias_2])
    return original, folded


def numpy_pass(model):
    """The inference pass of a Sequential of Dense, BatchNormalization and Activation layers in plain NumPy
    (float32), as a function of the inputs; BN as the per-unit affine map x * s + t, s and t computed once."""
    steps = []
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            scale = gamma / np.sqrt(variance + layer.epsilon)
            steps.append(lambda x, s=scale, t=beta - scale * mean: x * s + t)
        elif isinstance(layer, L.Dense):
            kernel, bias = layer.get_weights()
            steps.append(lambda x, w=kernel, b=bias: x @ w + b)
            steps += activation_steps(layer.activation)
        else:
            steps += activation_steps(layer.activation)

    def run(x):
        for step in steps:
            x = step(x)
        return x
    return run


def activation_steps(activation):
    if activation is keras.activations.relu:
        return [lambda x: np.maximum(x, 0)]
    if activation is keras.activations.sigmoid:
        return [lambda x: 1 / (1 + np.exp(-x))]
    if activation is keras.activations.linear:
        return []
    raise TypeError(f"no NumPy version of the activation {activation!r} in this benchmark")


def paired_times(original, folded, batch, pairs):
    """Seconds of `pairs` alternating calls of original(batch) and folded(batch), after one warm-up call of each
    (which traces a graph or fills caches): two arrays (pairs,), entry i of both from the same pair."""
    original(batch)
    folded(batch)
    times = np.empty((pairs, 2))
    for index in range(pairs):
        order = (0, 1) if index % 2 == 0 else (1, 0)
        for column in order:
            start = time.perf_counter()
            (original, folded)[column](batch)
            times[index, column] = time.perf_counter() - start
    return times[:, 0], times[:, 1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="inputs per inference pass (default 100,000)")
    parser.add_argument("--units", type=int, default=50, help="hidden units, as in notebook 09 (default 50)")
    parser.add_argument("--pairs", type=int, default=60, help="alternating pairs of calls per row (default 60)")
    args = parser.parse_args()
    for line in machine_description():
        print(line)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    batch = standard_normal_inputs(args.size, 2, random_state=1)
    fold_before, fold_after = notebook_folding()
    print(f"\n{args.size:,} inputs per pass, {args.units} hidden units, {args.pairs} alternating pairs of calls per "
          "row; ratio folded / original (< 1: the folded network is faster)")
    print("| placement | through | original (ms, median) | folded (ms, median) | ratio per pair: median [IQR] | "
          "pairs with the folded call faster | ratio of the fastest calls | operations folded / original | "
          "largest output difference |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|")
    for placement in ("BN before the ReLU", "BN after the ReLU"):
        original, folded = networks(placement, args.units, fold_before, fold_after, rng)
        difference = float(np.abs(original.predict_on_batch(batch) - folded.predict_on_batch(batch)).max())
        if not difference < 1e-4:
            raise SystemExit(f"{placement}: the folded network's outputs differ from the original's by "
                             f"{difference:.1e}; nothing timed.")
        operations = inference_operations(folded)["total"] / inference_operations(original)["total"]
        for through, candidates in (("Keras predict_on_batch", (original.predict_on_batch, folded.predict_on_batch)),
                                    ("NumPy", (numpy_pass(original), numpy_pass(folded)))):
            original_times, folded_times = paired_times(*candidates, batch, args.pairs)
            ratios = folded_times / original_times
            low, median, high = np.percentile(ratios, [25, 50, 75])
            print(f"| {placement} | {through} | {np.median(original_times) * 1e3:.2f} | "
                  f"{np.median(folded_times) * 1e3:.2f} | {median:.2f} [{low:.2f}, {high:.2f}] | "
                  f"{np.sum(ratios < 1)}/{len(ratios)} | "
                  f"{folded_times.min() / original_times.min():.2f} | {operations:.3f} | {difference:.1e} |",
                  flush=True)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"\nload average at end (1, 5, 15 min): {load}")


if __name__ == "__main__":
    main()
