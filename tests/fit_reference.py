"""model.fit's side of the paired checks, run in a process of its own so that oneDNN's setting can differ.

`python tests/fit_reference.py OUT.npz --epochs E --seed S [--nudge] NAME...` builds each zoo model NAME with seed S, trains
it with `model.fit` for E epochs, replaying the trainer's batch order (`epoch_order(random_state=S)`, no
shuffling by fit), and saves for entry NAME the arrays NAME/initial/i and NAME/final/i (i indexes
`model.variables`: weights, moving statistics and seed-generator states) and NAME/loss (fit's epoch losses).
With --nudge, every trainable weight starts one float32 ulp above its initial value (np.nextafter): how far
fit's result moves then is the rounding sensitivity of that model over that training, a floor for any
comparison of two correct implementations. TF_ENABLE_ONEDNN_OPTS is read from the environment when TensorFlow loads: that is why this is a process.
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from bn_course.fast import epoch_order  # noqa: E402
from bn_course.training import BATCH_SIZE  # noqa: E402


def fit_replaying_the_trainer(model, data, *, epochs, random_state):
    """fit for `epochs` epochs, one epoch per call, on the training set in the trainer's order; returns the losses."""
    losses = []
    for epoch in range(epochs):
        order = epoch_order(len(data.X_train), random_state=random_state, epoch=epoch)
        history = model.fit(data.X_train[order], data.y_train[order], batch_size=BATCH_SIZE, epochs=1,
                            shuffle=False, verbose=0)
        losses.append(history.history["loss"][0])
    return np.array(losses)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("names", nargs="+")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--nudge", action="store_true")
    args = parser.parse_args()
    arrays = {}
    for name in args.names:
        model = zoo.build(name, args.seed)
        if args.nudge:
            for variable in model.trainable_variables:
                variable.assign(np.nextafter(np.asarray(variable), np.float32(np.inf)))
        arrays.update({f"{name}/initial/{i}": np.asarray(v) for i, v in enumerate(model.variables)})
        arrays[f"{name}/loss"] = fit_replaying_the_trainer(model, zoo.dataset(name), epochs=args.epochs, random_state=args.seed)
        arrays.update({f"{name}/final/{i}": np.asarray(v) for i, v in enumerate(model.variables)})
    np.savez(args.out, **arrays)


if __name__ == "__main__":
    main()
