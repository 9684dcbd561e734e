"""Benchmark: model.fit vs the compiled trainer vs a NumPy reference, and a 10-seed x 5-configuration study.

Run by hand (`python benchmarks/bench_training.py`, or `make bench`); it is not a test. Everything is timed
in this one process, side by side, in interleaved rounds (fit, trainer, NumPy, fit, trainer, ...), so that
the ratios hold even when the machine's speed drifts; the table reports the median of the rounds.

The seed run: the 2-50(relu)-BN-1(sigmoid) model on the circles data, 100 epochs, batch 32, SGD lr 0.01
momentum 0.9, validation on the test split at every epoch end. Every round builds a new model. The
trainer is timed twice: for an architecture it has not seen (tracing and optimising the graph included:
what a learner waits for the first time), and for one it has (the kept graph is reused: every later run
of the same architecture in a notebook).
"""
import argparse
import datetime
import os
import platform
import statistics
import time

import numpy as np

import bn_course  # noqa: F401  (quiets TensorFlow before it loads)
import keras
import tensorflow as tf

from bn_course.data import load_circles
from bn_course.fast import clear_cache, train_fast, train_stacked
from bn_course.study import run_study
from bn_course.training import fit_model, set_seed

# Run with PYTHONPATH=tests (as `make bench` does): the models are the test zoo's, so the benchmark times
# exactly the models whose equivalence with fit the tests check.
import zoo  # noqa: E402
from numpy_reference import train_numpy  # noqa: E402  (this script's folder is on sys.path)

STUDY_CONFIGS = ("baseline", "bn_after", "bn_before", "bn_after_no_affine", "bn_input_and_after")
DEEP_MODEL, DEEP_EPOCHS, DEEP_SEEDS = "sigmoid_3x100", 20, 10


def seed_model():
    return zoo.MODELS["bn_after"][1]()


def study_configs():
    """Five configurations the course compares; each value builds a new compiled model."""
    return {name: zoo.MODELS[name][1] for name in STUDY_CONFIGS}


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def fit_run(data, validate):
    set_seed(0)
    model = seed_model()
    if validate:
        return fit_model(model, data, random_state=0)
    history = model.fit(data.X_train, data.y_train, epochs=100, batch_size=32, shuffle=True, verbose=0)
    return {name: np.asarray(values) for name, values in history.history.items()}


def fast_run_new_architecture(data):
    clear_cache()
    return fast_run_seen_architecture(data)


def fast_run_seen_architecture(data):
    set_seed(0)
    return train_fast(seed_model(), data, random_state=0)


def machine_description():
    cpu = "unknown CPU"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"date: {datetime.datetime.now().isoformat(timespec='minutes')}",
        f"machine: {cpu}, nproc={os.cpu_count()}, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, numpy {np.__version__}",
        f"load average at start (1, 5, 15 min): {load}",
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds of the seed run (median reported)")
    parser.add_argument("--deep-rounds", type=int, default=1, help="interleaved rounds of the MNIST-1D row (each ~1 min)")
    args = parser.parse_args()
    data = load_circles()

    for line in machine_description():
        print(line)

    # Warm-up: the first Keras fit and the first traced graph of a process pay one-off start-up costs.
    set_seed(0)
    fit_model(seed_model(), data, epochs=1)
    set_seed(0)
    train_fast(seed_model(), data, epochs=1)

    runs = {"model.fit (val every epoch)": fit_run_validate, "model.fit (no validation)": fit_run_plain,
            "train_fast, new architecture (trace + run)": fast_run_new_architecture,
            "train_fast, architecture seen before": fast_run_seen_architecture, "NumPy reference": numpy_run}
    times = {name: [] for name in runs}
    accuracy = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            seconds, history = timed(lambda: run(data))
            times[name].append(seconds)
            if "val_accuracy" in history:
                accuracy[name] = history["val_accuracy"][-1]
    median = {name: statistics.median(values) for name, values in times.items()}

    print(f"\nSeed run: 2-50-BN-1, 100 epochs, batch 32; median of {args.rounds} interleaved rounds")
    print("| trainer | median time (s) | all rounds (s) | final val accuracy (seed 0) |")
    print("|---|---:|---:|---:|")
    for name in runs:
        rounds = ", ".join(f"{value:.2f}" for value in times[name])
        final = f"{accuracy[name]:.3f}" if name in accuracy else "-"
        print(f"| {name} | {median[name]:.3f} | {rounds} | {final} |")
    fit, reference = median["model.fit (val every epoch)"], median["NumPy reference"]
    for name, target in (("train_fast, new architecture (trace + run)", 0.06), ("train_fast, architecture seen before", 0.035)):
        print(f"\n{name}:")
        print(f"  / model.fit (val every epoch): {median[name] / fit:.3f}   (target <= {target})")
        print(f"  / NumPy reference:             {median[name] / reference:.2f}    (target <= 3)")

    configs = study_configs()
    clear_cache()
    for label in ("new architectures (5 graphs traced)", "repeated (kept graphs)"):
        seconds, study = timed(lambda: run_study(configs, data, seeds=range(10), epochs=100, progress=False))
        print(f"\nStudy, {label}: 5 configurations x 10 seeds x 100 epochs (val every epoch): {seconds:.1f} s   (target <= 8 s)")
    print(study.summary()[["test_accuracy_mean", "test_accuracy_ci_low", "test_accuracy_ci_high",
                           "epoch_to_threshold_mean", "n_reached"]].round(3).to_string())
    deep_run_row(args.deep_rounds)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    print(f"\nload average at end (1, 5, 15 min): {load}")


def deep_run_row(rounds):
    """3x100 sigmoid MLP on MNIST-1D, DEEP_SEEDS seeds x DEEP_EPOCHS epochs, validation every epoch: ten fit
    runs against one stacked trainer call (graph traced anew each round), interleaved."""
    data = zoo.dataset(DEEP_MODEL)
    fit_times, trainer_times = [], []
    for _ in range(rounds):
        def fits():
            for seed in range(DEEP_SEEDS):
                fit_model(zoo.build(DEEP_MODEL, seed), data, epochs=DEEP_EPOCHS, random_state=seed)

        def stacked():
            clear_cache()
            models = [zoo.build(DEEP_MODEL, seed) for seed in range(DEEP_SEEDS)]
            return train_stacked(models, data, epochs=DEEP_EPOCHS, random_states=range(DEEP_SEEDS))

        fit_times.append(timed(fits)[0])
        seconds, result = timed(stacked)
        trainer_times.append(seconds)
    fit, trainer = statistics.median(fit_times), statistics.median(trainer_times)
    print(f"\n{DEEP_MODEL} on MNIST-1D, {DEEP_SEEDS} seeds x {DEEP_EPOCHS} epochs, batch 32, median of {rounds} round(s):")
    print(f"  {DEEP_SEEDS} model.fit runs: {fit:.1f} s; train_stacked (trace included): {trainer:.2f} s; "
          f"ratio {trainer / fit:.3f}   (target <= 0.05)")
    print(f"  mean final test accuracy of the stacked runs: {result.final_test_accuracy.mean():.3f}")


def fit_run_validate(data):
    return fit_run(data, validate=True)


def fit_run_plain(data):
    return fit_run(data, validate=False)


def numpy_run(data):
    return train_numpy(data, random_state=0)


if __name__ == "__main__":
    main()
