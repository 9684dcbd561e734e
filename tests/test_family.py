"""bn_course.family: the batch-size sweep of notebook 08, the accuracy in training mode, the sweep's tables."""
import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bn_course.data import Dataset  # noqa: E402
from bn_course.family import (SWEEP_COLUMNS, accuracy_by_mode, batch_size_sweep, plot_against_batch_size,  # noqa: E402
                              population_statistics_accuracy, random_batches, scaled_learning_rate,
                              sweep_comparisons, sweep_summary)
from bn_course.statistics import paired_difference  # noqa: E402
from bn_course.training import set_seed  # noqa: E402


def classifier(normalization):
    return keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(8), normalization(),
                             keras.layers.Activation("relu"), keras.layers.Dense(3, activation="softmax")])


def small_data(n_train=24, n_test=20):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_train + n_test, 6)).astype("float32")
    y = (X[:, 0] > 0).astype("int32") + (X[:, 1] > 1).astype("int32")
    return Dataset(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])


def test_scaled_learning_rate_is_linear_in_the_batch_size():
    assert scaled_learning_rate(32, base_learning_rate=0.1, base_batch_size=32) == pytest.approx(0.1)
    assert scaled_learning_rate(2, base_learning_rate=0.1, base_batch_size=32) == pytest.approx(0.00625)
    assert scaled_learning_rate(256, base_learning_rate=0.1, base_batch_size=32) == pytest.approx(0.8)
    for bad in (0, -2, True, "32"):
        with pytest.raises(ValueError, match="batch_size must be a positive number"):
            scaled_learning_rate(bad, base_learning_rate=0.1, base_batch_size=32)


def test_random_batches_split_without_repeats_and_drop_the_rest():
    batches = random_batches(10, batch_size=3, random_state=1)
    assert batches.shape == (3, 3)
    assert len(set(batches.ravel())) == 9 and set(batches.ravel()) <= set(range(10))
    assert np.array_equal(batches, random_batches(10, batch_size=3, random_state=1))
    for bad in (0, 11, 2.0):
        with pytest.raises(ValueError, match="between 1 and the number of samples"):
            random_batches(10, batch_size=bad)


def test_accuracy_by_mode_passes_each_batch_alone_in_training_mode_and_changes_nothing():
    data = small_data()
    set_seed(0)
    model = classifier(keras.layers.BatchNormalization)
    model.layers[1].moving_mean.assign(np.full(8, 0.5, "float32"))  # inference differs from training mode
    before = [v.numpy().copy() for v in model.variables]
    training, inference = accuracy_by_mode(model, data.X_test, data.y_test, batch_size=4, random_state=3)
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, model.variables)), "a variable changed"

    batches = random_batches(len(data.X_test), batch_size=4, random_state=3)
    expected_inference = np.mean([np.argmax(model(data.X_test[b], training=False), axis=-1) == data.y_test[b]
                                  for b in batches])
    expected_training = np.mean([np.argmax(model(data.X_test[b], training=True), axis=-1) == data.y_test[b]
                                 for b in batches])  # eager calls: moving statistics change, outputs do not
    assert training == pytest.approx(expected_training)
    assert inference == pytest.approx(expected_inference)


def test_accuracy_by_mode_is_the_same_in_both_modes_without_batch_statistics():
    data = small_data()
    for normalization in (keras.layers.LayerNormalization, lambda: keras.layers.GroupNormalization(groups=4)):
        set_seed(1)
        training, inference = accuracy_by_mode(classifier(normalization), data.X_test, data.y_test, batch_size=2)
        assert training == inference


def test_population_statistics_accuracy_uses_the_statistics_of_the_given_points_and_restores_the_model():
    data = small_data()
    set_seed(2)
    model = classifier(keras.layers.BatchNormalization)
    before = [v.numpy().copy() for v in model.variables]
    accuracy = population_statistics_accuracy(model, data.X_train, data.X_test, data.y_test)
    assert all(np.array_equal(b, v.numpy()) for b, v in zip(before, model.variables)), "the model changed"
    hidden = np.asarray(model.layers[0](data.X_train))
    model.layers[1].moving_mean.assign(hidden.mean(axis=0))
    model.layers[1].moving_variance.assign(hidden.var(axis=0, ddof=1))
    expected = np.mean(np.argmax(model(data.X_test, training=False), axis=-1) == data.y_test)
    assert accuracy == pytest.approx(expected)
    assert np.isnan(population_statistics_accuracy(classifier(keras.layers.LayerNormalization), data.X_train,
                                                   data.X_test, data.y_test))


def test_batch_size_sweep_trains_every_configuration_batch_size_and_seed():
    data = small_data()
    runs = batch_size_sweep({"BN": lambda: classifier(keras.layers.BatchNormalization)}, data, batch_sizes=(4, 8),
                            seeds=[0, 1], epochs=1, base_learning_rate=0.1, base_batch_size=8)
    assert list(runs.columns) == SWEEP_COLUMNS
    assert list(zip(runs["batch_size"], runs["seed"])) == [(4, 0), (4, 1), (8, 0), (8, 1)]
    assert np.allclose(runs["learning_rate"], [0.05, 0.05, 0.1, 0.1])
    for column in ("test_accuracy", "inference_accuracy", "training_mode_accuracy", "population_accuracy"):
        assert runs[column].between(0, 1).all()
    with pytest.raises(TypeError, match="builders must be a non-empty dict"):
        batch_size_sweep({}, data, batch_sizes=(4,), seeds=[0], epochs=1, base_learning_rate=0.1)


def synthetic_runs():
    """Two configs, two batch sizes, three seeds, with known values."""
    rows = []
    for config, offset in (("BN", 0.0), ("LN", 0.1)):
        for batch_size in (2, 16):
            for seed, noise in zip((0, 1, 2), (0.0, 0.02, -0.01)):
                inference = 0.5 + offset + noise + (0.01 * seed if batch_size == 16 else 0)
                rows.append({"config": config, "batch_size": batch_size, "seed": seed, "learning_rate": 0.1,
                             "test_accuracy": inference, "inference_accuracy": inference,
                             "training_mode_accuracy": inference - (0.05 + 0.01 * seed if config == "BN" else 0),
                             "population_accuracy": inference + 0.01 if config == "BN" else np.nan})
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def test_sweep_summary_gives_the_paired_gap_per_configuration_and_batch_size():
    runs = synthetic_runs()
    summary = sweep_summary(runs, gap_margin=0.01)
    bn = runs[(runs.config == "BN") & (runs.batch_size == 2)]
    expected = paired_difference(bn.inference_accuracy, bn.training_mode_accuracy, margin=0.01)
    row = summary.loc[("BN", 2)]
    assert row.gap_mean == pytest.approx(-0.06)
    assert (row.gap_ci_low, row.gap_ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    assert row.gap_decision == "a difference"
    assert summary.loc[("LN", 16)].gap_mean == 0 and summary.loc[("LN", 16)].gap_decision.startswith("no practical")
    assert row.test_accuracy_mean == pytest.approx(bn.test_accuracy.mean())


def test_sweep_comparisons_pair_by_seed_at_each_batch_size():
    runs = synthetic_runs()
    table = sweep_comparisons(runs, "BN", margin=0.02)
    assert list(table.index) == [("LN", 2), ("LN", 16)]
    assert table.loc[("LN", 2)].mean_difference == pytest.approx(0.1)
    assert table.loc[("LN", 2)].b == "LN, batch 2"
    with pytest.raises(ValueError, match="baseline must be one of"):
        sweep_comparisons(runs, "GN", margin=0.02)
    with pytest.raises(ValueError, match="must share their seeds"):
        sweep_comparisons(runs[~((runs.config == "LN") & (runs.seed == 2))], "BN", margin=0.02)


def test_plot_against_batch_size_draws_one_line_per_configuration():
    ax = plot_against_batch_size(sweep_summary(synthetic_runs(), gap_margin=0.01), "gap")
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["BN", "LN"]
    assert ax.get_xscale() == "log"
