"""The graded-test helpers must fail with messages a student can act on."""

import functools
import importlib
import linecache

import numpy as np
import pytest

from week14 import activations, checks_backprop, gradient_descent, grading
from week14.grading import CheckFailed, check_array, check_function
from week14.layers import Sigmoid
from week14.schedules import ReduceLROnPlateau


def ref_square(x):
    return np.asarray(x, dtype=float) ** 2


def test_matching_function_passes():
    check_function(lambda x: np.asarray(x, float) * np.asarray(x, float), ref_square,
                   cases=[(2.0,), (np.linspace(-1, 1, 5),)])


@pytest.mark.parametrize(
    ("got", "expected", "fragment"),
    [
        (None, 1.0, "forget to `return`"),
        (np.zeros((2, 3)), np.zeros((3, 2)), "expected (3, 2), got (2, 3)"),
        (np.array([1, 2]), np.array([1.0, 2.0]), "should hold floats, but it holds integers"),
        (np.array([1.0, np.nan]), np.array([1.0, 2.0]), "contains nan at index [1]"),
        (np.array([1.0, 2.5, 3.0]), np.array([1.0, 2.0, 3.0]), "index [1]"),
        (["a", "b"], np.array([1.0, 2.0]), "should be numeric"),
        (np.array([True, False]), np.array([True, True]), "expected True, got False"),
    ],
)
def test_check_array_messages(got, expected, fragment):
    with pytest.raises(CheckFailed) as info:
        check_array(got, expected, name="f(x)")
    assert fragment in str(info.value)


def test_wrong_value_message_names_input_expected_got_and_count():
    x = np.array([-1.0, 0.0, 2.0])
    with pytest.raises(CheckFailed) as info:
        check_function(lambda v: np.where(v > 1, 0.0, v**2), ref_square, cases=[(x,)],
                       elementwise=True)
    msg = str(info.value)
    assert "index [2] for input 2: expected 4, got 0 (off by 4)" in msg
    assert "1 of 3 values are wrong" in msg


def test_object_with_lying_eq_is_rejected():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(CheckFailed, match="should be numeric"):
        check_function(lambda x: AlwaysEqual(), ref_square, cases=[(1.0,)])


@pytest.mark.parametrize("shortcut", [
    lambda x: activations.sigmoid(x),                      # a plain call
    functools.partial(activations.sigmoid),                # a wrapper
    lambda x: Sigmoid().forward(np.atleast_1d(x)),         # another implementation
    lambda x: activations.softplus_derivative(x),          # the same numbers, renamed
])
def test_using_week14s_implementation_is_detected(shortcut):
    def sigmoid(x):  # the exercise's name: FORBIDDEN lists its week14 implementations
        return shortcut(x)

    with pytest.raises(CheckFailed, match="calls week14's own week14"):
        check_function(sigmoid, activations.sigmoid, cases=[(1.0,)])
    assert activations.sigmoid(0.0) == 0.5  # restored afterwards


def test_a_subclass_of_the_reference_is_detected():
    class PlateauScheduler(ReduceLROnPlateau):
        pass

    with pytest.raises(CheckFailed, match="ReduceLROnPlateau"):
        grading.results(PlateauScheduler, [(0.1,)])
    assert ReduceLROnPlateau(0.1).step(1.0) == 0.1


def test_in_place_mutation_is_reported():
    def mutating(x):
        x *= x
        return x

    with pytest.raises(CheckFailed, match="changed its input array in place"):
        check_function(mutating, ref_square, cases=[(np.array([1.0, 3.0]),)])


def answer(source: str, name: str):
    """The function ``name`` defined by ``source`` as if in a notebook cell (whose code
    the checks name by line)."""
    filename = f"/tmp/ipykernel_0/{name}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - the test's own source
    return namespace[name]


def test_students_own_exception_is_named_with_their_line():
    unfinished = answer('def unfinished(x):\n    raise NotImplementedError("write me")\n',
                        "unfinished")
    with pytest.raises(CheckFailed) as info:
        check_function(unfinished, ref_square, cases=[(1.0,)])
    assert str(info.value) == ("unfinished(1) raised NotImplementedError: write me\n  at line "
                               '2 of your code: raise NotImplementedError("write me")')
    with pytest.raises(CheckFailed) as info:
        check_function(unfinished, ref_square, cases=[grading.case("one number", 1.0)],
                       hidden=True)
    assert str(info.value) == ("unfinished raised NotImplementedError on a hidden case (one "
                               "number): write me\n  at line 2 of your code: raise "
                               'NotImplementedError("write me")')


def test_a_hidden_exception_keeps_its_words_but_no_shape_or_number():
    """The hidden case's label, Python's exception name, the student's line and the
    words of the message: enough to find the bug, with every shape and number gone
    (numbers the student's code puts in its message could be hidden inputs)."""
    source = ("def broadcasts(x):\n    return x + np.ones((3, 1, 7))\n\n"
              "def leaks(x):\n    raise ValueError(f'input was {x.tolist()} of shape {x.shape}')\n"
              "\nclass Secret(Exception):\n    pass\n\n"
              "def home_made(x):\n    raise Secret('hidden')\n")
    hidden_x = np.array([[4.25, -1.5]])
    for name, expected, line in [
            ("broadcasts", "operands could not be broadcast together with shapes (…) (…)",
             "line 2 of your code: return x + np.ones((…))"),
            ("leaks", "input was [[…, -…]] of shape (…)",
             "line 5 of your code: raise ValueError(f'input was {x.tolist()} of shape "
             "{x.shape}')"),
            ("home_made", "hidden", "line 11 of your code: raise Secret('hidden')")]:
        with pytest.raises(CheckFailed) as info:
            check_function(answer(source, name), ref_square,
                           cases=[grading.case("a row", hidden_x)], hidden=True)
        kind = "an exception" if name == "home_made" else "ValueError"
        assert str(info.value) == (f"{name} raised {kind} on a hidden case (a row): "
                                   f"{expected}\n  at {line}")


def test_a_long_hidden_message_is_cut():
    def wordy(x):
        raise ValueError("abc " * 500)

    with pytest.raises(CheckFailed) as info:
        check_function(wordy, ref_square, cases=[grading.case("a number", 1.0)], hidden=True)
    first = str(info.value).partition("\n")[0]
    assert len(first.partition("): ")[2]) <= grading.MAX_HIDDEN_TEXT


def test_a_hidden_case_needs_a_label():
    with pytest.raises(ValueError, match="every hidden case of ref_square needs a label"):
        check_function(ref_square, ref_square, cases=[(1.0,)], hidden=True)
    with pytest.raises(ValueError, match="needs a label"):
        grading.results(ref_square, [(1.0,)], hidden=True)
    with pytest.raises(ValueError, match="needs a label"):
        check_array(1.0, 1.0, hidden=True)
    with pytest.raises(ValueError, match="non-empty string"):
        grading.case("  ", 1.0)


def test_a_visible_failure_names_its_case_label():
    with pytest.raises(CheckFailed, match=r"expected 4, got 8 \(off by 4\) \[case: two\]$"):
        check_function(lambda v: v**3, ref_square, cases=[grading.case("two", 2.0)])


def test_a_warning_is_a_note_not_a_failure(capsys):
    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    check_function(sigmoid, activations.sigmoid, cases=[(np.array([-1000.0, 0.0]),)],
                   elementwise=True)
    assert "note: sigmoid warned RuntimeWarning: overflow" in capsys.readouterr().out


def test_restoring_an_input_after_nudging_it_is_not_in_place():
    def nudge_and_restore(x):
        x[0] += 1e-5
        x[0] -= 1e-5  # not bit-identical, within 1e-12
        return ref_square(x)

    check_function(nudge_and_restore, ref_square, cases=[(np.array([0.1, 0.7]),)])


def test_not_a_function():
    with pytest.raises(CheckFailed, match="expected a function, got float"):
        check_function(3.0, ref_square, cases=[(1.0,)])


def test_random_arrays_are_seeded():
    a = grading.random_arrays([(2, 3), (4,)], rng=7)
    b = grading.random_arrays([(2, 3), (4,)], rng=7)
    assert [x.shape for x in a] == [(2, 3), (4,)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_hidden_mode_names_the_problem_but_no_values():
    x = np.array([1.5, -2.25, 3.125])
    with pytest.raises(CheckFailed) as info:
        check_function(lambda v: v**3, ref_square, cases=[grading.case("three floats", x)],
                       hidden=True)
    msg = str(info.value)
    assert msg == "<lambda> fails a hidden case (three floats): 3 of 3 values are wrong"
    with pytest.raises(CheckFailed, match=r"hidden case \(floats\): it returned None"):
        check_function(lambda v: None, ref_square, cases=[grading.case("floats", x)],
                       hidden=True)
    with pytest.raises(CheckFailed, match=r"hidden case \(a short vector\): its result has "
                                          "the wrong shape$"):
        check_array(np.zeros(2), np.zeros(3), hidden=True, label="a short vector")


def test_a_function_argument_is_named_not_shown_as_its_repr():
    from week14 import references
    from week14.gradcheck import numerical_gradient

    def centred_difference_gradient(f, x, h=1e-5):
        return np.zeros(x.shape)  # wrong: every entry 0

    with pytest.raises(CheckFailed) as info:
        check_function(centred_difference_gradient, numerical_gradient,
                       cases=[(references.sum_of_squares, np.linspace(-1.0, 1.0, 5))])
    msg = str(info.value)
    assert msg.startswith("centred_difference_gradient(sum_of_squares, [-1. , -0.5,"), msg
    assert "<function" not in msg and " at 0x" not in msg, msg


def test_integer_constants_in_np_where_are_named_as_the_cause_of_integers():
    def binary_step_derivative(x):
        return np.where(x >= 0, 0, 0)  # right values, integer constants

    with pytest.raises(CheckFailed) as info:
        check_function(binary_step_derivative, activations.binary_step_derivative,
                       cases=[(np.linspace(-1.0, 1.0, 5),)])
    msg = str(info.value)
    assert "should hold floats, but it holds integers" in msg, msg
    assert "np.where(..., 1, 0): write 1.0 and 0.0" in msg and ".astype(float)" in msg, msg
    with pytest.raises(CheckFailed) as info:
        check_function(binary_step_derivative, activations.binary_step_derivative,
                       cases=[grading.case("from -1 to 1", np.linspace(-1.0, 1.0, 5))],
                       hidden=True)
    assert "np.where(..., 1, 0)" in str(info.value)


def test_a_part_of_a_tuple_is_checked_on_its_own():
    def both(x):
        return 2 * x, x**3  # the second part is wrong

    def reference(x):
        return 2 * x, x**2

    check_function(both, reference, cases=[(np.array([1.0, 3.0]),)], part=0)
    with pytest.raises(CheckFailed, match=r"^square of both\(\[1\., 3\.\]\) is wrong"):
        check_function(both, reference, cases=[(np.array([1.0, 3.0]),)], part=1,
                       name="square of both")
    with pytest.raises(CheckFailed, match="should return a tuple of 2 results; it returned "
                                          "a list of length 3"):
        check_function(lambda x: [x, x, x], reference, cases=[(1.0,)], part=0)
    with pytest.raises(CheckFailed, match="did you forget to `return`"):
        check_function(lambda x: None, reference, cases=[(1.0,)], part=0)


def test_a_named_mistake_has_its_sentence_and_tag():
    from week14 import misconceptions

    mistake = misconceptions.CATALOGUE["week14.activations.sigmoid"][0]
    assert grading.named_mistake(mistake.key) == (
        f"{mistake.says} {grading.MISTAKE_TAG.format(mistake.key)}")
    with pytest.raises(ValueError, match="'made-up' is not a catalogued mistake"):
        grading.named_mistake("made-up")


def test_a_list_of_arrays_is_described_by_shapes():
    weights = [(np.ones((3, 4)), np.zeros(4)), (np.ones((4, 1)), np.zeros(1))]
    assert grading.describe(weights) == ("[(array of shape (3, 4), [0., 0., 0., 0.]), "
                                          "([[1.], [1.], [1.], [1.]], [0.])]")
    assert grading.describe([np.zeros(1)] * 5) == "a list of 5 items"
    assert grading.describe([2, 2, 2]) == "[2, 2, 2]"


def test_a_student_cannot_file_their_failure_under_a_catalogued_mistake():
    """A mistake's tag in the student's own exception text is broken, so the class
    summary (autograder.autograde.mistakes) cannot count it."""
    from week14 import misconceptions

    key = misconceptions.CATALOGUE["week14.activations.sigmoid"][0].key
    tag = grading.MISTAKE_TAG.format(key)
    spoof = answer(f"def spoof(x):\n    raise ValueError('{tag}')\n", "spoof")
    for hidden in (False, True):
        with pytest.raises(CheckFailed) as info:
            check_function(spoof, ref_square, cases=[grading.case("one number", 1.0)],
                           hidden=hidden)
        assert tag not in str(info.value) and f"[mistake {key}]" in str(info.value)


def test_seeded_case_builders_label_and_draw_their_arrays():
    made = grading.random_cases(3, [grading.case("a network", (2, 3), [((3, 4), (4,))], 0.5),
                                    grading.case("a range", grading.draw((5,), 10, 20))])
    again = grading.random_cases(3, [grading.case("a network", (2, 3), [((3, 4), (4,))], 0.5),
                                     grading.case("a range", grading.draw((5,), 10, 20))])
    assert [c.label for c in made] == ["a network", "a range"]
    x, [(W, b)], rate = made[0]
    assert (x.shape, W.shape, b.shape, rate) == ((2, 3), (3, 4), (4,), 0.5)
    assert np.all((made[1][0] >= 10) & (made[1][0] < 20))
    assert np.array_equal(made[1][0], again[1][0])
    cases = grading.elementwise_cases(5, 0.3)
    assert tuple(c.label for c in cases) == grading.ELEMENTWISE_LABELS
    assert all(c[1] == 0.3 for c in cases) and cases[-1][0].dtype == np.float32
    layer = grading.dense_layer_cases(1, (4, 2, 3), label="in ≠ out")[0]
    assert [a.shape for a in layer] == [(4, 2), (2, 3), (3,), (4, 3)]


def test_float32_results_are_compared_to_float32_precision():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    check_function(lambda v: 1 / (1 + np.exp(-v.astype(np.float64))), activations.sigmoid,
                   cases=[(x,)])
    with pytest.raises(CheckFailed, match="is wrong"):
        check_function(lambda v: 1.001 / (1 + np.exp(-v.astype(np.float64))),
                       activations.sigmoid, cases=[(x,)])


def reference_parts(x):
    return x * 2.0, x + 1.0


def test_check_part_grades_one_result_and_leaves_out_another_parts_crash(capsys):
    broken = answer("def parts(x):\n    two = x * 2.0\n    one = x.missing\n"
                    "    return two, one\n", "parts")
    cases = [grading.case("a vector", np.arange(3.0))]
    with pytest.raises(CheckFailed, match="two cannot be checked: parts raised on every case"):
        grading.check_part(broken, reference_parts, cases, "two", parts=("two", "one"))
    mixed = answer("def parts(x):\n    two = x * 2.0\n    if x.size > 2:\n"
                   "        one = x.missing\n    else:\n        one = x + 1.0\n"
                   "    return two, one\n", "parts")
    cases.append(grading.case("a pair", np.array([1.0, 2.0])))
    grading.check_part(mixed, reference_parts, cases, "two", parts=("two", "one"))
    note = capsys.readouterr().out
    assert "in the line that computes one; two was checked on the other 1" in note
    with pytest.raises(CheckFailed, match="one of parts.*raised AttributeError"):
        grading.check_part(mixed, reference_parts, cases, "one", parts=("two", "one"),
                           hidden=True)


def test_graded_alone_lends_week14s_function_while_the_block_runs():
    namespace = {"sigmoid": None}
    with grading.graded_alone(namespace, sigmoid=activations.sigmoid):
        assert namespace["sigmoid"](0.0) == 0.5
    assert namespace["sigmoid"] is None


EXERCISE_BUILDERS = [
    (grading.layer_forward_cases, "week14.references:sigmoid_layer"),
    (grading.network_forward_cases, "week14.references:network_forward"),
    (grading.sse_cases, "week14.losses:sse"),
    (grading.mse_cases, "week14.losses:mse"),
    (grading.asymmetric_mse_cases, "week14.losses:asymmetric_mse"),
    (grading.sse_gradient_cases, "week14.gradient_descent:sse_gradient"),
    (grading.sigmoid_sse_gradient_cases, "week14.gradient_descent:sigmoid_sse_gradient"),
    (grading.gradient_descent_step_cases, "week14.gradient_descent:gradient_descent_step"),
]


def _reference(spec):
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("builder", "reference"), EXERCISE_BUILDERS,
                         ids=[b.__name__ for b, _ in EXERCISE_BUILDERS])
def test_exercise_builders_are_labelled_seeded_and_fit_their_reference(builder, reference):
    made, again, other = builder(7), builder(7), builder(8)
    assert tuple(c.label for c in made) == builder.labels and builder.labels
    assert all(isinstance(c, grading.Case) for c in made)
    flat = [np.asarray(a, dtype=float) for c in made for a in _arrays(c)]
    assert all(np.array_equal(a, b) for a, b in
               zip(flat, [np.asarray(a, dtype=float) for c in again for a in _arrays(c)],
                   strict=True))
    assert not all(np.array_equal(a, b) for a, b in
                   zip(flat, [np.asarray(a, dtype=float) for c in other for a in _arrays(c)],
                       strict=False))
    for case in made:
        assert np.all(np.isfinite(np.asarray(_reference(reference)(*case), dtype=float)))


def _arrays(case):
    for arg in case:
        if isinstance(arg, list):  # a network's (W, b) pairs
            yield from (array for pair in arg for array in pair)
        else:
            yield arg


def test_exercise_builders_draw_the_kinds_they_name():
    layer = {c.label: c for c in grading.layer_forward_cases(1)}
    x, W, b = layer["in ≠ out"]
    assert x.shape[1] == W.shape[0] != W.shape[1] == b.shape[0] and x.shape[0] >= 2
    assert layer["one example"][0].shape[0] == 1 and layer["one input"][1].shape[0] == 1
    x, W, b = layer["W = I, b = 0: the sigmoid"]
    assert np.array_equal(W, np.eye(x.shape[1])) and not b.any() and x.shape[1] >= 2
    assert np.abs(layer["saturated neurons (very large |z|)"][0]).min() >= 700
    deep, shallow = grading.network_forward_cases(1)[0][1], grading.network_forward_cases(1)[2][1]
    sizes = [deep[0][0].shape[0], *(W.shape[1] for W, _ in deep)]
    assert len(deep) == 3 and len(set(sizes)) == 4 and len(shallow) == 1
    sse = {c.label: c for c in grading.sse_cases(1)}
    assert np.array_equal(*sse["perfect predictions"]) and sse["one example"][0].shape == (1,)
    asym = {c.label: c for c in grading.asymmetric_mse_cases(1)}
    assert np.all(asym["only over-predictions"][0] > asym["only over-predictions"][1])
    assert np.all(asym["only under-predictions"][0] < asym["only under-predictions"][1])
    assert asym["under_weight below 1"][2] < 1 < asym["another under_weight"][2]
    assert len(asym["the default under_weight"]) == 2
    X, y, w = {c.label: c for c in grading.sse_gradient_cases(1)}[
        "at the minimum: the gradient is 0"]
    assert np.abs(gradient_descent.sse_gradient(X, y, w)).max() < 1e-12
    X, y, w = grading.sigmoid_sse_gradient_cases(1)[-1]
    assert np.median(np.abs(X @ w)) > 100
    assert not grading.gradient_descent_step_cases(1)[-1][1].any()


def _dense_sigmoid_backward(x, W, b, dy):
    y = 1.0 / (1.0 + np.exp(-(x @ W + b)))
    dz = dy * y * (1.0 - y)
    return x.T @ dz, dz.sum(axis=0), dz @ W.T


def test_dW_gradient_check_passes_a_right_dW_and_names_the_error_of_a_wrong_one():
    cases = grading.dense_layer_cases(3, (1, 1, 1), (4, 3, 2), label="in ≠ out")
    checks_backprop.check_dW_numerically(_dense_sigmoid_backward, cases, hidden=True)

    def off_by_one_percent(x, W, b, dy):
        dW, db, dx = _dense_sigmoid_backward(x, W, b, dy)
        return 1.01 * dW, db, dx

    with pytest.raises(CheckFailed, match=r"hidden case \(in ≠ out\): relative error 5.0e-03"):
        checks_backprop.check_dW_numerically(off_by_one_percent, cases, hidden=True)
    with pytest.raises(CheckFailed, match=r"x of shape \(1, 1\).*about 1e-9 or less"):
        checks_backprop.check_dW_numerically(off_by_one_percent, cases)
    with pytest.raises(CheckFailed, match="should return \\(dW, db, dx\\)"):
        checks_backprop.check_dW_numerically(lambda *args: None, cases, hidden=True)
