"""The line between a student's kernel and the checker: plain data only.

The protocol is tested in one process here: a channel that hands each request to
:func:`week14.wire.serve` with a namespace standing in for the student's notebook.
The two-kernel version is tested through the grader (test_autograder, test_hostile).
"""

from __future__ import annotations

import base64
import json
import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from week14 import activations, grading, remote, wire
from week14.plaindata import NotPlainData, decode, encode
from week14.remote import Remote
from week14.wire import RemoteFailed


class InProcess:
    """A channel to a 'student kernel' whose globals are ``namespace``."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.requests = 0

    def request(self, message: dict):
        self.requests += 1
        return wire.unpack_response(wire.serve(wire.pack_request(message), self.namespace))


def student(namespace: dict, name: str) -> Remote:
    return Remote(InProcess(namespace), {"name": name}, name, name)


plain_arrays = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.uint16, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, max_side=4))
plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
    | plain_arrays,
    lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)


def same(a, b) -> bool:
    if isinstance(a, np.ndarray | np.generic):
        return (type(a) is type(b) and a.dtype == b.dtype and np.shape(a) == np.shape(b)
                and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(plain)
def test_plain_data_crosses_unchanged(value):
    assert same(decode(encode(value)), value)


@pytest.mark.parametrize("value", [
    object(), np.array([object()]), np.array(["text"]), np.array([1 + 2j]),
    {1: 2.0}, lambda x: x, np.zeros(2).view(np.dtype([("a", "f4"), ("b", "f4")])),
])
def test_anything_else_is_refused(value):
    with pytest.raises(NotPlainData):
        encode(value)


@pytest.mark.parametrize("text", [
    '{"$array": ["|O", [1], "AAAA"]}',               # an object array
    '{"$array": ["<f8", [3], "AAAAAAAAAAA="]}',      # data shorter than the shape
    '{"$pickle": "gASVAAAA"}',                       # an unknown tag
    '{"a": 1}',                                      # a dict not written by encode
    "[" * 100_000 + "]" * 100_000,                   # nesting too deep
    "not json",
])
def test_malformed_messages_are_refused(text):
    with pytest.raises(NotPlainData):
        decode(text)


def test_a_pickle_is_never_loaded():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled')",))

    payload = base64.b64encode(pickle.dumps(Boom())).decode()
    for text in (json.dumps({"$array": ["|O", [1], payload]}), payload):
        with pytest.raises(NotPlainData):
            decode(text)


def test_calls_return_plain_data_and_exceptions_with_the_students_line():
    namespace = {"np": np}
    exec("def double(x):\n    return 2 * x\n\ndef broken(x):\n    return x[7]\n", namespace)
    double = student(namespace, "double")
    assert same(double(np.arange(3.0)), np.arange(3.0) * 2)
    with pytest.raises(remote.StudentError, match="broken raised IndexError"):
        student(namespace, "broken")(np.zeros(2))


def test_results_that_are_not_plain_data_stay_behind_as_handles():
    from week14.schedules import ReduceLROnPlateau

    namespace = {"Scheduler": ReduceLROnPlateau}
    scheduler = student(namespace, "Scheduler")(initial_lr=1.0, patience=0, factor=0.5)
    assert isinstance(scheduler, Remote)
    assert grading.results(scheduler.step, [(1.0,), (1.0,), (1.0,)]) == [1.0, 0.5, 0.25]


def test_a_check_is_the_same_over_the_line_and_in_one_round_trip():
    namespace = {"np": np}
    exec("def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", namespace)
    proxy = student(namespace, "sigmoid")
    cases = [(np.linspace(-5, 5, 11),), (np.array([-1000.0, 1000.0]),), (0.0,)]
    grading.check_function(proxy, activations.sigmoid, cases, elementwise=True)
    assert proxy._channel.requests == 1


def test_an_input_changed_in_place_is_seen_beside_a_function_argument():
    """The arguments come back for the in-place check even when one of them is a
    function (notebook 05's gradient check takes the objective and x)."""
    from week14 import references
    from week14.gradcheck import numerical_gradient

    namespace = {"np": np}
    exec("def centred_difference_gradient(f, x):\n    x *= 2\n"
         "    return np.zeros(x.shape)\n", namespace)
    proxy = student(namespace, "centred_difference_gradient")
    with pytest.raises(grading.CheckFailed, match="changed its input array in place"):
        grading.check_function(proxy, numerical_gradient,
                               [(references.sum_of_squares, np.linspace(-1.0, 1.0, 5))])


def test_the_checks_see_what_the_student_returned_not_what_it_claims():
    namespace = {"np": np}
    exec("class Yes:\n    def __eq__(self, other):\n        return True\n"
         "    def __array__(self, *args, **kwargs):\n        return np.zeros(3)\n\n"
         "def sigmoid(x):\n    return Yes()\n", namespace)
    with pytest.raises(grading.CheckFailed, match="returned a Yes returned by sigmoid"):
        grading.check_function(student(namespace, "sigmoid"), activations.sigmoid,
                               [(np.zeros(3),)])


def test_forbidden_references_fail_over_the_line_and_are_restored():
    namespace = {"activations": activations}
    exec("def sigmoid(x):\n    return activations.sigmoid(x)\n", namespace)
    with pytest.raises(grading.CheckFailed, match="calls week14's own"):
        grading.check_function(student(namespace, "sigmoid"), activations.sigmoid,
                               [(0.0,)])
    with pytest.raises(remote.ReferenceCalled, match="calls week14's own"):
        student(namespace, "sigmoid")(0.0)  # a direct call, as in check_array(sigmoid(0.0))
    assert activations.sigmoid(0.0) == 0.5


def test_replaced_lends_week14s_function_in_the_students_namespace():
    namespace = {"np": np}
    exec("def sigmoid(x):\n    return None\n\n"
         "def sigmoid_derivative(x):\n    s = sigmoid(x)\n    return s * (1 - s)\n", namespace)
    checker = {"sigmoid": student(namespace, "sigmoid"),
               "sigmoid_derivative": student(namespace, "sigmoid_derivative")}
    with grading.graded_alone(checker, sigmoid=activations.sigmoid):
        grading.check_function(checker["sigmoid_derivative"], activations.sigmoid_derivative,
                               [(np.linspace(-3, 3, 7),)])
    assert namespace["sigmoid"](0.0) is None  # the student's own again
    with pytest.raises(grading.CheckFailed):
        grading.check_function(checker["sigmoid_derivative"], activations.sigmoid_derivative,
                               [(np.linspace(-3, 3, 7),)])


def test_a_broken_serve_is_a_clear_failure():
    namespace = {}
    with pytest.raises(RemoteFailed, match="NameError"):
        student(namespace, "missing")(1.0)


def test_models_cross_as_week14_layers_only():
    from week14.cnn import digits_cnn

    model = digits_cnn(rng=0)
    copy = grading.as_model(student({"model": model}, "model"))
    x = np.linspace(0, 1, 2 * 64, dtype=np.float32).reshape(2, 1, 8, 8)
    np.testing.assert_array_equal(copy.predict(x), model.predict(x))
    with pytest.raises(RemoteFailed, match="expected a week14.model.Sequential"):
        grading.as_model(student({"model": object()}, "model"))


def test_the_checker_computes_only_what_a_test_lends():
    ask = wire.pack_request({"name": "week14.activations.sigmoid", "args": (0.0,),
                             "kwargs": {}}).encode()
    lent = wire.answer_borrower(ask, {"week14.activations.sigmoid"}).decode()
    assert wire.unpack_response(lent.strip()) == 0.5
    refused = wire.answer_borrower(ask, {"week14.activations.tanh"}).decode()
    with pytest.raises(RemoteFailed, match="PermissionError"):
        wire.unpack_response(refused.strip())


def test_stripped_references_cannot_be_called_wrapped_or_copied():
    """In a process of its own: stripping is for good (a graded kernel's whole life)."""
    import subprocess
    import sys

    script = (
        "import types, functools\n"
        "from week14 import activations, remote\n"
        "from week14.schedules import ReduceLROnPlateau\n"
        "remote.strip(['week14.activations.sigmoid', 'week14.schedules.ReduceLROnPlateau'])\n"
        "tries = [lambda: activations.sigmoid(0.0),\n"
        "         lambda: functools.partial(activations.sigmoid)(0.0),\n"
        "         lambda: types.FunctionType(activations.sigmoid.__code__, {})(0.0),\n"
        "         lambda: remote.lend(activations.sigmoid)(0.0),\n"
        "         lambda: type('P', (ReduceLROnPlateau,), {})(0.1)]\n"
        "for attempt in tries:\n"
        "    try:\n"
        "        attempt()\n"
        "        print('computed')\n"
        "    except remote.ReferenceCalled as err:\n"
        "        print('refused', err.qualname)\n"
        "print(activations.tanh(0.0))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:5] == ["refused week14.activations.sigmoid"] * 4 + [
        "refused week14.schedules.ReduceLROnPlateau"]
    assert out[5] == "0.0"  # what is not stripped works
