"""The seed model trained by hand in NumPy: the floor for what 100 epochs of this problem have to cost.

Network: 2 -> Dense(50, relu, he_uniform) -> BatchNormalization -> Dense(1, sigmoid), trained like
`model.fit` in the course: a new permutation every epoch, mini-batches of 32 with the last partial one,
binary cross-entropy on the logits, Keras's SGD with momentum (m <- momentum * m - lr * g; w <- w + m),
BatchNormalization with batch statistics in training (biased variance, as Keras) and moving averages
(momentum 0.99) in inference, and a validation pass on the test set at every epoch end.

Shapes: X (N, 2), y (N,); W1 (2, 50), b1 (50,), gamma/beta/moving_mean/moving_variance (50,), W2 (50, 1), b2 (1,).
All arithmetic is float32, like the Keras model.
"""
import numpy as np

EPSILON = 1e-3
BN_MOMENTUM = 0.99


def init_params(rng):
    """Keras's initial weights for the seed model: he_uniform and glorot_uniform kernels, zero biases, gamma 1."""
    he_limit = np.sqrt(6.0 / 2)
    glorot_limit = np.sqrt(6.0 / (50 + 1))
    return {
        "W1": rng.uniform(-he_limit, he_limit, (2, 50)).astype(np.float32),
        "b1": np.zeros(50, np.float32),
        "gamma": np.ones(50, np.float32),
        "beta": np.zeros(50, np.float32),
        "W2": rng.uniform(-glorot_limit, glorot_limit, (50, 1)).astype(np.float32),
        "b2": np.zeros(1, np.float32),
    }


def forward_inference(params, stats, X):
    """Logits (N,) in inference mode: BN normalises with its moving statistics."""
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0)
    normalised = (hidden - stats["moving_mean"]) / np.sqrt(stats["moving_variance"] + EPSILON)
    return ((params["gamma"] * normalised + params["beta"]) @ params["W2"] + params["b2"])[:, 0]


def loss_and_accuracy(logits, y):
    """Mean binary cross-entropy from logits (stable form) and accuracy at probability 0.5 (logit 0)."""
    loss = np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))
    return float(loss.mean()), float(np.mean((logits > 0) == (y > 0.5)))


def train_step(params, stats, velocity, X, y, *, learning_rate, momentum):
    """One SGD-with-momentum step on the batch (X, y) in training mode; returns the batch's (loss, accuracy)."""
    n = len(X)
    pre = X @ params["W1"] + params["b1"]
    hidden = np.maximum(pre, 0)
    mean = hidden.mean(axis=0)
    variance = hidden.var(axis=0)
    inv_std = 1.0 / np.sqrt(variance + EPSILON)
    normalised = (hidden - mean) * inv_std
    out = params["gamma"] * normalised + params["beta"]
    logits = (out @ params["W2"] + params["b2"])[:, 0]
    batch_loss, batch_accuracy = loss_and_accuracy(logits, y)

    # Backward pass of the mean loss: d(loss)/d(logit) = (sigmoid(logit) - y) / n.
    d_logits = ((1.0 / (1.0 + np.exp(-logits)) - y) / n).astype(np.float32)[:, None]
    grads = {"W2": out.T @ d_logits, "b2": d_logits.sum(axis=0)}
    d_out = d_logits @ params["W2"].T
    grads["gamma"] = (d_out * normalised).sum(axis=0)
    grads["beta"] = d_out.sum(axis=0)
    d_normalised = d_out * params["gamma"]
    # Batch-norm backward with batch statistics (the mean and variance depend on every sample of the batch).
    d_hidden = inv_std * (d_normalised - d_normalised.mean(axis=0) - normalised * (d_normalised * normalised).mean(axis=0))
    d_pre = d_hidden * (pre > 0)
    grads["W1"] = X.T @ d_pre
    grads["b1"] = d_pre.sum(axis=0)

    for name, gradient in grads.items():
        velocity[name] = momentum * velocity[name] - learning_rate * gradient
        params[name] += velocity[name]
    stats["moving_mean"] = BN_MOMENTUM * stats["moving_mean"] + (1 - BN_MOMENTUM) * mean
    stats["moving_variance"] = BN_MOMENTUM * stats["moving_variance"] + (1 - BN_MOMENTUM) * variance
    return batch_loss, batch_accuracy


def train_numpy(data, *, epochs=100, batch_size=32, learning_rate=0.01, momentum=0.9, random_state=0):
    """Train the seed model on `data` (a bn_course Dataset); returns fit's history keys as float arrays (epochs,)."""
    rng = np.random.default_rng(random_state)
    params = init_params(rng)
    stats = {"moving_mean": np.zeros(50, np.float32), "moving_variance": np.ones(50, np.float32)}
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    n = len(data.X_train)
    history = {key: np.zeros(epochs) for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    for epoch in range(epochs):
        order = rng.permutation(n)
        loss_sum = accuracy_sum = 0.0
        for start in range(0, n, batch_size):
            indices = order[start:start + batch_size]
            loss, accuracy = train_step(params, stats, velocity, data.X_train[indices], data.y_train[indices],
                                        learning_rate=learning_rate, momentum=momentum)
            loss_sum += loss * len(indices)
            accuracy_sum += accuracy * len(indices)
        history["loss"][epoch], history["accuracy"][epoch] = loss_sum / n, accuracy_sum / n
        history["val_loss"][epoch], history["val_accuracy"][epoch] = loss_and_accuracy(
            forward_inference(params, stats, data.X_test), data.y_test)
    return history
