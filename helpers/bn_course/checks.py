"""Assertions that tell a learner what is wrong, in plain words, instead of a bare AssertionError.

Every check raises `CheckFailed` (an AssertionError, so nbgrader counts the test as failed) with a message
that names the object checked, what was expected, what was found, and, where useful, a hint. The checks
know nothing about any exercise's answer: the expected values come from the test cell that calls them.
"""
import numpy as np


class CheckFailed(AssertionError):
    """A check did not pass; the message is written for the learner.

    In Jupyter, IPython shows an exception through its `_render_traceback_` when it has one: a failed check
    shows its message first and alone, not under the checks' own source. The cell's output is still an
    error, so nbgrader scores the test 0.
    """

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {line}" if index == 0 else line
                for index, line in enumerate(str(self).splitlines())]


def _fail(name, problem, *, expected=None, got=None, hint=None):
    lines = [f"{name}: {problem}"]
    if expected is not None:
        lines.append(f"  expected: {expected}")
    if got is not None:
        lines.append(f"  got:      {got}")
    if hint:
        lines.append(f"  hint: {hint}")
    raise CheckFailed("\n".join(lines))


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_not_implemented_stub(value, name):
    """Fail kindly when a function returned None (e.g. the learner's cell still has no `return`)."""
    if value is None:
        _fail(name, "returned None.", hint="did you forget a `return` statement?")


def check_array(value, name, *, shape=None, finite=True):
    """Check that `value` is array-like of numbers with the given `shape` (None in `shape` matches any size).

    Returns the value as a NumPy array, so a test can go on with it.
    """
    check_not_implemented_stub(value, name)
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        _fail(name, "is not an array of numbers.", got=_short(value))
    if shape is not None:
        matches = array.ndim == len(shape) and all(e is None or e == g for e, g in zip(shape, array.shape))
        if not matches:
            wanted = "(" + ", ".join("any" if e is None else str(e) for e in shape) + ("," if len(shape) == 1 else "") + ")"
            _fail(
                name,
                "has the wrong shape.",
                expected=wanted,
                got=tuple(array.shape),
                hint="check which axis you reduce over, and whether a (n, 1) array should be flattened to (n,).",
            )
    if finite and not np.all(np.isfinite(array)):
        _fail(name, "contains NaN or infinite values.", hint="look for a division by zero or a log of 0.")
    return array


def check_close(value, expected, name, *, atol=1e-6, rtol=1e-5, hint=None):
    """Check that `value` matches `expected` element-wise within tolerances (shapes must agree)."""
    expected = np.asarray(expected, dtype=float)
    array = check_array(value, name, shape=expected.shape)
    if not np.allclose(array, expected, atol=atol, rtol=rtol):
        error = np.abs(array - expected)
        worst = np.unravel_index(np.argmax(error), error.shape) if error.ndim else ()
        where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
        _fail(
            name,
            f"has the right shape but wrong values (largest difference {error.max():.3g}{where}).",
            expected=_short(expected[worst] if worst else expected),
            got=_short(array[worst] if worst else array),
            hint=hint,
        )
    return array


def check_equal(value, expected, name, *, hint=None):
    """Check that `value == expected` for plain Python values (numbers, strings, tuples)."""
    if value != expected:
        _fail(name, "is not what was expected.", expected=_short(expected), got=_short(value), hint=hint)


def check_between(value, low, high, name, *, hint=None):
    """Check that a number lies in [low, high]."""
    check_not_implemented_stub(value, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        _fail(name, "is not a number.", got=_short(value))
    if not (low <= number <= high):
        _fail(name, "is out of the expected range.", expected=f"between {low} and {high}", got=number, hint=hint)
    return number


def _is_plain_relu_layer(layer):
    return type(layer).__name__ == "ReLU" and layer.max_value is None and not layer.negative_slope and not layer.threshold


def describe_layer(layer):
    """A dict of the structural facts the course checks about a Keras layer.

    `keras.layers.ReLU()` with its default arguments computes exactly what `Activation("relu")` does, so it
    is described as that: a learner may write either.
    """
    if _is_plain_relu_layer(layer):
        return {"type": "Activation", "activation": "relu"}
    facts = {"type": type(layer).__name__}
    if hasattr(layer, "units"):
        facts["units"] = layer.units
    if hasattr(layer, "activation") and layer.activation is not None:
        facts["activation"] = getattr(layer.activation, "__name__", str(layer.activation))
    if hasattr(layer, "kernel_initializer"):
        facts["kernel_initializer"] = type(layer.kernel_initializer).__name__
    for attribute in ("center", "scale", "momentum", "epsilon", "rate"):
        if hasattr(layer, attribute):
            facts[attribute] = getattr(layer, attribute)
    return facts


def _layer_label(facts):
    details = [str(facts[key]) for key in ("units", "activation") if key in facts]
    return facts["type"] + (f"({', '.join(details)})" if details else "")


def _normalise_spec(spec):
    import keras

    spec = dict(spec)
    if "kernel_initializer" in spec:
        spec["kernel_initializer"] = type(keras.initializers.get(spec["kernel_initializer"])).__name__
    return spec


def check_model(model, expected_layers, name="your model", *, input_dim=None, n_params=None, hint=None):
    """Check a Keras model's layers, in order, against `expected_layers`.

    `expected_layers` is a list of dicts such as {"type": "Dense", "units": 50, "activation": "relu"};
    only the keys given are compared. Input layers are ignored. Also checks the input width and the
    number of parameters when given.
    """
    import keras

    check_not_implemented_stub(model, name)
    if not isinstance(model, keras.Model):
        _fail(name, "is not a Keras model.", got=type(model).__name__, hint="return the model, e.g. keras.Sequential([...]).")
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    got = [describe_layer(layer) for layer in layers]
    wanted = [_normalise_spec(spec) for spec in expected_layers]
    wanted_types = " -> ".join(spec["type"] for spec in wanted)
    got_types = " -> ".join(_layer_label(facts) for facts in got)
    if [facts["type"] for facts in got] != [spec["type"] for spec in wanted]:
        _fail(name, "does not have the expected sequence of layers.", expected=wanted_types, got=got_types or "no layers", hint=hint)
    for position, (facts, spec) in enumerate(zip(got, wanted), start=1):
        for key, value in spec.items():
            if facts.get(key) != value:
                _fail(
                    name,
                    f"layer {position} ({facts['type']}) has the wrong {key}.",
                    expected=_short(value),
                    got=_short(facts.get(key)),
                    hint=hint,
                )
    if input_dim is not None:
        shapes = [tuple(tensor.shape) for tensor in getattr(model, "inputs", None) or []]
        if not shapes:
            _fail(name, "has no defined input.", hint="start the model with keras.Input(shape=(2,)).")
        if shapes[0][-1] != input_dim:
            _fail(name, "expects inputs of the wrong width.", expected=input_dim, got=shapes[0][-1])
    if n_params is not None and model.count_params() != n_params:
        _fail(name, "has the wrong number of parameters.", expected=n_params, got=model.count_params(), hint=hint)


def check_unchanged(originals, arguments, function_name):
    """Check that a function left its array arguments as they were: no in-place update such as `x -= mean`.

    - originals: dict argument name -> a copy of the argument taken before the call.
    - arguments: dict argument name -> the object that was passed, looked at after the call.
    - function_name: the function called, for the message.
    Raises CheckFailed naming the first argument whose shape or values changed.
    """
    for name, original in originals.items():
        after = np.asarray(arguments[name])
        if after.shape != np.shape(original) or not np.array_equal(after, original, equal_nan=True):
            _fail(f"{function_name}(...)", f"changed its input `{name}` in place.",
                  hint="compute new arrays and return them (e.g. `centred = x - mean`) instead of updating an "
                       "argument with +=, -=, *=, /= or slice assignment.")


def check_close_naming_mistakes(value, expected, name, *, mistakes, atol=1e-6, rtol=1e-5, hint=None):
    """Like `check_close`, but when `value` is wrong and equals what a known mistake gives, say which mistake.

    - mistakes: dict description -> array-like that the mistake produces for the same input (same shape as
      `expected`), e.g. {"the unbiased variance (ddof=1) instead of the biased one": ...}. The first one that
      `value` matches within the tolerances is named; otherwise the message is `check_close`'s.
    Returns the value as a NumPy array.
    """
    expected_array = np.asarray(expected, dtype=float)
    array = check_array(value, name, shape=expected_array.shape)
    if np.allclose(array, expected_array, atol=atol, rtol=rtol):
        return array
    for description, mistaken in mistakes.items():
        if np.allclose(array, np.asarray(mistaken, dtype=float), atol=atol, rtol=rtol):
            _fail(name, f"has the values that {description} gives.", hint=hint)
    return check_close(array, expected_array, name, atol=atol, rtol=rtol, hint=hint)
