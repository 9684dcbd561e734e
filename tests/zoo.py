"""The models on which the trainer is checked against model.fit: every kind the course trains.

Each entry names its data set and builds a NEW compiled model. The circles entries are the configurations of
notebooks 02-05; the MNIST-1D entries are the deep, normalization-family and convolutional models of the later
notebooks, with the optimizers they use.
"""
import keras

from bn_course.data import load_circles, load_mnist1d
from bn_course.training import compile_model

L = keras.layers
DATASETS = {"circles": load_circles, "mnist1d": load_mnist1d}


def _circles(*hidden):
    def build():
        model = keras.Sequential([keras.Input(shape=(2,)), *(make() for make in hidden), L.Dense(1, activation="sigmoid")])
        return compile_model(model)
    return build


def _dense(activation=None):
    return lambda: L.Dense(50, activation=activation, kernel_initializer="he_uniform")


def _mnist1d(layers, optimizer=lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)):
    def build():
        model = keras.Sequential([keras.Input(shape=(40,)), *layers(), L.Dense(10, activation="softmax")])
        model.compile(optimizer=optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    return build


def _sigmoid_mlp(batch_norm, depth=3, width=100):
    def layers():
        stack = []
        for _ in range(depth):
            stack += [L.Dense(width), L.BatchNormalization(), L.Activation("sigmoid")] if batch_norm \
                else [L.Dense(width, activation="sigmoid")]
        return stack
    return layers


def _frozen_batch_norm():
    layer = L.BatchNormalization()
    layer.trainable = False
    return layer


MODELS = {
    "baseline": ("circles", _circles(_dense("relu"))),
    "bn_after": ("circles", _circles(_dense("relu"), L.BatchNormalization)),
    "bn_before": ("circles", _circles(_dense(), L.BatchNormalization, lambda: L.Activation("relu"))),
    "bn_after_no_affine": ("circles", _circles(_dense("relu"), lambda: L.BatchNormalization(center=False, scale=False))),
    "bn_after_momentum_0": ("circles", _circles(_dense("relu"), lambda: L.BatchNormalization(momentum=0.0))),
    "bn_input_and_after": ("circles", _circles(L.BatchNormalization, _dense("relu"), L.BatchNormalization)),
    "sigmoid_3x100": ("mnist1d", _mnist1d(_sigmoid_mlp(batch_norm=False))),
    "sigmoid_3x100_bn": ("mnist1d", _mnist1d(_sigmoid_mlp(batch_norm=True))),
    "layer_norm_adam": ("mnist1d", _mnist1d(lambda: [L.Dense(64), L.LayerNormalization(), L.ReLU(), L.Dense(64),
                                                      L.GroupNormalization(groups=8), L.Activation("tanh")],
                                            optimizer=lambda: keras.optimizers.Adam(learning_rate=1e-3))),
    "conv1d_bn": ("mnist1d", _mnist1d(lambda: [L.Reshape((40, 1)), L.Conv1D(8, 5, padding="same", use_bias=False),
                                                L.BatchNormalization(), L.ReLU(), L.MaxPooling1D(2), L.Flatten()])),
    "conv2d_bn_nesterov": ("mnist1d", _mnist1d(
        lambda: [L.Reshape((5, 8, 1)), L.Conv2D(8, 3, padding="same"), L.BatchNormalization(), L.ReLU(),
                 L.GlobalAveragePooling2D()],
        optimizer=lambda: keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True))),
    "dropout_frozen_bn": ("mnist1d", _mnist1d(lambda: [L.Dense(64), _frozen_batch_norm(), L.ReLU(), L.Dropout(0.3)],
                                              optimizer=lambda: keras.optimizers.SGD(learning_rate=0.1))),
}


def build(name, seed):
    """A new compiled model of entry `name`, its initial weights drawn after keras.utils.set_random_seed(seed)."""
    keras.utils.set_random_seed(seed)
    return MODELS[name][1]()


def dataset(name):
    return DATASETS[MODELS[name][0]]()
