"""Submissions built from the source and release notebooks, for the grading tests."""
import copy

from course import ASSIGNMENTS, ROOT, notebook_path, read_notebook


def solution_cells(assignment):
    """{grade_id: source} of the solution cells in the source notebook of `assignment`."""
    source = read_notebook(notebook_path(ROOT, "solutions", assignment))
    return {
        cell.metadata["nbgrader"]["grade_id"]: cell.source
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def released(assignment, root=ROOT):
    return read_notebook(notebook_path(root, "notebooks", assignment))


def completed(assignment, answers=None, root=ROOT):
    """The released notebook with every answer cell filled in with the solution, then `answers` applied.

    `answers` maps grade_id -> source to put in that cell instead (e.g. a wrong answer).
    """
    notebook = copy.deepcopy(released(assignment, root))
    replacements = {**solution_cells(assignment), **(answers or {})}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
    return notebook


# One deliberately wrong answer per assignment, with the test cells it must fail (and only those).
WRONG_ANSWERS = {
    "01-theory": {
        # The PyTorch momentum convention: normalisation and cache are right (the backward tests pass), the moving
        # statistics are not.
        "answers": {
            "batchnorm_forward_train": (
                "def batchnorm_forward_train(x, gamma, beta, moving_mean, moving_var, *, momentum=0.99, epsilon=1e-3):\n"
                "    batch_mean = x.mean(axis=0)\n"
                "    centred = x - batch_mean\n"
                "    batch_var = (centred**2).mean(axis=0)\n"
                "    std = np.sqrt(batch_var + epsilon)\n"
                "    x_hat = centred / std\n"
                "    new_mean = (1 - momentum) * moving_mean + momentum * batch_mean\n"
                "    new_var = (1 - momentum) * moving_var + momentum * batch_var\n"
                "    cache = {'centred': centred, 'std': std, 'inv_std': 1 / std, 'x_hat': x_hat, 'gamma': gamma}\n"
                "    return gamma * x_hat + beta, new_mean, new_var, cache"
            )
        },
        "fails": {"test_batchnorm_forward_train_public", "test_batchnorm_forward_train_hidden"},
    },
    "02-baseline": {
        "answers": {
            "build_baseline_model": (
                "def build_baseline_model():\n"
                "    return keras.Sequential([keras.Input(shape=(2,)),\n"
                "        keras.layers.Dense(50, activation='tanh', kernel_initializer='he_uniform'),\n"
                "        keras.layers.Dense(1, activation='sigmoid')])"
            )
        },
        "fails": {"test_build_baseline_model_public", "test_build_baseline_model_hidden"},
    },
    "03-bn-after": {
        # Inference-mode probabilities of shape (n, 1) compared with labels of shape (n,): broadcasts to (n, n).
        "answers": {
            "InferenceModeTrainAccuracy": (
                "class InferenceModeTrainAccuracy(keras.callbacks.Callback):\n"
                "    def __init__(self, X_train, y_train):\n"
                "        super().__init__()\n"
                "        self.X_train = X_train\n"
                "        self.y_train = y_train\n"
                "        self.accuracies = []\n"
                "\n"
                "    def on_epoch_end(self, epoch, logs=None):\n"
                "        probabilities = np.asarray(self.model(self.X_train, training=False))\n"
                "        self.accuracies.append(float(np.mean((probabilities > 0.5) == (self.y_train > 0.5))))\n"
            )
        },
        "fails": {"test_InferenceModeTrainAccuracy_public", "test_InferenceModeTrainAccuracy_hidden"},
    },
    "04-bn-before": {
        # ">= 0" counts exact zeros as active ReLU units: the public and the hidden test both hold exact zeros.
        "answers": {
            "switched_fraction": (
                "def switched_fraction(inputs_a, inputs_b):\n"
                "    on_a = np.asarray(inputs_a) >= 0\n"
                "    on_b = np.asarray(inputs_b) >= 0\n"
                "    return np.mean(on_a != on_b, axis=0)\n"
            )
        },
        "fails": {"test_switched_fraction_public", "test_switched_fraction_hidden"},
    },
    "05-extensions": {
        "answers": {
            "build_bn_no_momentum_model": (
                "def build_bn_no_momentum_model():\n"
                "    return keras.Sequential([keras.Input(shape=(2,)),\n"
                "        keras.layers.Dense(50, activation='relu', kernel_initializer='he_uniform'),\n"
                "        keras.layers.BatchNormalization(momentum=0.01),\n"
                "        keras.layers.Dense(1, activation='sigmoid')])"
            )
        },
        "fails": {"test_build_bn_no_momentum_model_public", "test_build_bn_no_momentum_model_hidden"},
    },
    "06-deep-networks": {
        # BN after the sigmoid instead of before it (Ioffe & Szegedy put it between Wu + b and the nonlinearity).
        "answers": {
            "build_mlp": (
                "def build_mlp(depth, activation='sigmoid', batch_norm=False, *, width=100, weight_scale=None):\n"
                "    layers = [keras.Input(shape=(40,))]\n"
                "    for _ in range(depth):\n"
                "        layers.append(keras.layers.Dense(width, activation=activation))\n"
                "        if batch_norm:\n"
                "            layers.append(keras.layers.BatchNormalization())\n"
                "    layers.append(keras.layers.Dense(10, activation='softmax'))\n"
                "    return keras.Sequential(layers)\n"
            )
        },
        "fails": {"test_build_mlp_public", "test_build_mlp_hidden"},
    },
    "07-what-bn-does": {
        # Definition 2.1 with the examined layer's own update included (blocks <= layer instead of < layer).
        "answers": {
            "weights_for_ics": (
                "def weights_for_ics(before, after, blocks, layer):\n"
                "    return np.where(np.asarray(blocks) <= layer, np.asarray(after, dtype=float), np.asarray(before, dtype=float))\n"
            )
        },
        "fails": {"test_weights_for_ics_public", "test_weights_for_ics_hidden"},
    },
    "08-normalization-family": {
        # Spatial BN with the Dense recipe: statistics over the batch axis only, one per position and channel.
        "answers": {
            "spatial_batchnorm_forward": (
                "def spatial_batchnorm_forward(x, gamma, beta, moving_mean, moving_var, *, training, momentum=0.99,"
                " epsilon=1e-3):\n"
                "    if training:\n"
                "        mean, variance = x.mean(axis=0), x.var(axis=0)\n"
                "        new_mean = momentum * moving_mean + (1 - momentum) * mean\n"
                "        new_var = momentum * moving_var + (1 - momentum) * variance\n"
                "    else:\n"
                "        mean, variance, new_mean, new_var = moving_mean, moving_var, moving_mean, moving_var\n"
                "    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta, new_mean, new_var\n"
            )
        },
        "fails": {"test_spatial_batchnorm_forward_public", "test_spatial_batchnorm_forward_hidden"},
    },
    "09-after-training": {
        # BN after the activation folded into the preceding Dense, across the ReLU (the wrong neighbour).
        "answers": {
            "fold_bn": (
                "def fold_bn_before_activation(dense, bn):\n"
                "    kernel, bias = dense.get_weights()\n"
                "    gamma, beta, mean, variance = bn.get_weights()\n"
                "    scale = gamma / np.sqrt(variance + bn.epsilon)\n"
                "    return kernel * scale, scale * (bias - mean) + beta\n"
                "\n\n"
                "def fold_bn_after_activation(dense_before, bn, dense_after):\n"
                "    return fold_bn_before_activation(dense_before, bn), tuple(dense_after.get_weights())\n"
            )
        },
        "fails": {"test_fold_bn_public", "test_fold_bn_hidden"},
    },
}

assert set(WRONG_ANSWERS) <= set(ASSIGNMENTS)
