"""The graded-test helpers must fail with messages a student can act on."""

import numpy as np
import pytest

from week14 import grading
from week14.grading import CheckFailed, check_array, check_function


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


def test_calling_the_reference_is_detected_even_through_an_alias():
    alias = ref_square

    def lazy(x):
        return alias(x)

    with pytest.raises(CheckFailed, match="calls week14's reference implementation"):
        check_function(lazy, ref_square, cases=[(1.0,)])


def test_in_place_mutation_is_reported():
    def mutating(x):
        x *= x
        return x

    with pytest.raises(CheckFailed, match="changed its input array in place"):
        check_function(mutating, ref_square, cases=[(np.array([1.0, 3.0]),)])


def test_students_own_exception_propagates():
    def unfinished(x):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        check_function(unfinished, ref_square, cases=[(1.0,)])


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
        check_function(lambda v: v**3, ref_square, cases=[(x,)], hidden=True)
    msg = str(info.value)
    assert msg == "<lambda> fails a hidden test: 3 of 3 values are wrong"
    with pytest.raises(CheckFailed, match="hidden test: it returned None"):
        check_function(lambda v: None, ref_square, cases=[(x,)], hidden=True)
    with pytest.raises(CheckFailed, match="hidden test: its result has the wrong shape$"):
        check_array(np.zeros(2), np.zeros(3), hidden=True)
