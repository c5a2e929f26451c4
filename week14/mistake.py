"""One catalogued mistake (:mod:`week14.misconceptions`): a wrong answer as a student
writes it, and the sentence that names it."""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from week14 import activations, references

#: What a catalogued answer may use besides NumPy: the functions earlier exercises of
#: its notebook ask for (a student's answer calls their own; here, the reference).
_NAMESPACE = {"np": np, "sigmoid": activations.sigmoid,
              "layer_forward": references.sigmoid_layer}


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake: ``answer`` is the wrong answer as a student writes it,
    ``says`` names what it computes and the fix.

    The answer's first definition is the exercise's name: a function (run on the
    check's cases), a class (run through the check's reference, a driver that takes
    the class as ``cls``) or a value (the wrong result itself)."""

    key: str  # short and stable: the class summary counts students by it
    says: str  # one sentence in the lecture's terms, with the fix
    answer: str  # Python source of the wrong answer

    @cached_property
    def name(self) -> str:
        """The name the answer defines: the exercise's function, class or value."""
        for node in ast.parse(self.answer).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                return node.name
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                return node.targets[0].id
        raise ValueError(f"the answer of mistake {self.key!r} defines nothing")

    @cached_property
    def wrong(self) -> Any:
        """The wrong answer's function, class or value."""
        namespace = dict(_NAMESPACE)
        exec(self.answer, namespace)  # noqa: S102 - the catalogue's own source
        return namespace[self.name]

    def result(self, reference: Callable, case: Sequence[Any]) -> Any:
        """What the wrong answer gives on ``case`` (run on copies of its arrays)."""
        case = [np.copy(a) if isinstance(a, np.ndarray) else a for a in case]
        if isinstance(self.wrong, type):
            return reference(*case, cls=self.wrong)
        return self.wrong(*case) if callable(self.wrong) else self.wrong
