"""Hostile submissions graded in one batch with honest ones.

Every attack is one student whose notebook 04 (10 points, five exercises of 2 points) is
the instructor's solution with one answer cell replaced by a short attack, nearly
always together with a *wrong* answer for that exercise, so that full marks would mean
the attack worked. The class is graded twice, as one batch, and given feedback. Then:

1. an attack scores at most the notebook's honest parts: 10 minus the points of the
   exercises it attacked (:attr:`Attack.ceiling`);
2. the honest students ``perfect`` and ``partly`` keep exactly their scores, unflagged;
3. no hidden-test line, hidden input or expected value, and no value of the grader's
   environment reaches a student's feedback or any output of a graded notebook;
4. the solutions, the course folder, files outside the sandbox and the class gradebook
   are unchanged, every student gets feedback, and no process of the grading is left;
5. grading twice gives the same scores.

The attacks go through the student's own kernel (aliases, reaching builtins and ``sys``
through allowed modules, frames, ``match``, input transformers, ctypes, pickles...), the
values answers return, week14's own implementation, the files and processes a kernel
can reach, and the cells of the notebook. Each is a few lines, bounded in time and
memory: this module grades about 75 notebooks, twice.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import html
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import course as course_module
from autograder.collect import collect
from autograder.config import ASSIGNMENT, RELEASE_DIR, REPO, SOURCE_DIR, Limits
from autograder.course import Course
from autograder.examples import student_notebook
from autograder.execute import MAX_CELL_OUTPUT
from week14 import activations, grading

NOTEBOOK = "04_activation_functions"
SOURCE = SOURCE_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
#: test cell -> points (nb04_test_sigmoid: 2, ...), 10 in all
POINTS = course_module.test_points(SOURCE)
FULL = sum(POINTS.values())
#: ``partly``'s sigmoid returns None; the rest is the solution (measured: 8 of 10)
PARTLY = FULL - POINTS["nb04_test_sigmoid"]
#: a second notebook, for the one attack that needs its student to have two
SECOND = "01_feedforward"
#: files outside the sandbox that attacks try to create
OUTSIDE = (Path("/var/tmp/week14-hostile-probe"), REPO / "hostile-probe")
CANARY_TEXT = "untouched"
#: Limits of the grading here: small, so that the attacks on them stay cheap.
LIMITS = Limits(cell=10, notebook=60, memory=2**30, tasks=128, disk=64 * 2**20)
#: A word in the command line of a process an attack leaves running.
BUSY = "week14-hostile-busy-child"
#: A word in the scripts an attack tries to put in the instructor's browser.
XSS = "week14-hostile-script"


def exercise_test(answer: str) -> str:
    """The test cell of an answer cell: nb04_sigmoid -> nb04_test_sigmoid."""
    return answer.replace("nb04_", "nb04_test_", 1)


# ----------------------------------------------------------------------------- attacks

#: A right sigmoid under another name, for attacks that need the tests to go on.
SIG = ("def _sig(x):\n    x = np.asarray(x)\n    e = np.exp(-np.abs(x))\n"
       "    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))\n\n")
#: The wrong answer most attacks hope to get full marks with.
WRONG = "def sigmoid(x):\n    return np.zeros(np.shape(x))\n\n"
#: Wrong only for float32 input: passes unless the float32 tolerance is loosened.
WRONG32 = SIG + ("def sigmoid(x):\n"
                 "    return _sig(x) * (0.0 if np.asarray(x).dtype == np.float32 else 1.0)\n\n")
#: Right on the visible cases (sizes 1, 11, 4), wrong from the hidden random case on.
LEAKY = "    return _sig(x) if np.size(x) <= 11 else 0 * _sig(x)\n"
DERIVATIVE = "def sigmoid_derivative(x):\n    s = sigmoid(x)\n    return s * (1.0 - s)\n"
WRONG_ELU = "\ndef elu_derivative(x, alpha=1.0):\n    return np.zeros(np.shape(x))\n"
#: The course folder, as a student's kernel finds it: hidden, yet a mount point.
COURSE_PATH = ("[l.split()[4] for l in open('/proc/self/mountinfo') "
               "if l.split()[4].endswith('/course')]")
PICKLE = r"""b"cos\nsystem\n(S'echo pwned > /var/tmp/week14-hostile-probe'\ntR." """.strip()


@dataclass(frozen=True)
class Attack:
    """A hostile submission: notebook 04 with ``answers`` (grade id -> source) put in
    place of the solution's, then changed by ``edit``; it submits the notebooks ``also``
    (as ``perfect``) too. ``flag`` is a part of a flag it must get."""

    answers: dict
    attacked: tuple[str, ...] = ("nb04_sigmoid",)  # answers whose points it must not get
    edit: Callable[[dict], None] | None = None
    also: tuple[str, ...] = ()
    flag: str | None = None

    @property
    def ceiling(self) -> float:
        """The notebook's honest parts: what the attack may score at most."""
        return FULL - sum(POINTS[exercise_test(answer)] for answer in self.attacked)


def sigmoid_attack(code: str, before: str = WRONG, **kwargs) -> Attack:
    """An attack in the sigmoid answer: ``before`` (by default a wrong sigmoid), then
    ``code``."""
    return Attack({"nb04_sigmoid": before + code}, **kwargs)


def grade_id(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_of(nb: dict, gid: str) -> dict:
    return next(c for c in nb["cells"] if grade_id(c) == gid)


def edit_test(nb: dict) -> None:
    cell_of(nb, "nb04_test_sigmoid")["source"] = "pass  # trust me"


def delete_test(nb: dict) -> None:
    nb["cells"] = [c for c in nb["cells"] if grade_id(c) != "nb04_test_sigmoid"]


def add_cell(nb: dict) -> None:
    """A cell of the student's, just before the test, that disables the checks."""
    index = nb["cells"].index(cell_of(nb, "nb04_test_sigmoid"))
    nb["cells"].insert(index, {
        "cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
        "source": "grading.check_function = grading.check_array = lambda *a, **k: None"})


def edit_teaching_cell(nb: dict) -> None:
    """The (locked) cell that sets the float32 tolerances, loosened."""
    cell_of(nb, "nb04_test_helpers")["source"] = 'FLOAT32 = {"rtol": 1e9, "atol": 1e9}'


def mark_test_as_answer(nb: dict) -> None:
    """The test cell's metadata says it is an answer cell, so it might be taken."""
    cell = cell_of(nb, "nb04_test_sigmoid")
    cell["metadata"]["nbgrader"]["solution"] = True
    cell["source"] = "grading.check_function = grading.check_array = lambda *a, **k: None"


REFERENCE_CALL = "calls week14's own"

ATTACKS: dict[str, Attack] = {
    # -- aliases of what tests use: changed in the student's kernel only
    "alias-grading": sigmoid_attack(
        "self = grading\nself.check_function = self.check_array = lambda *a, **k: None\n"),
    "alias-numpy": sigmoid_attack(
        "self = np\nself.abs = lambda x: 0 * x\nself.allclose = lambda *a, **k: True\n"),
    "numpy-testing": sigmoid_attack(
        "np.testing.assert_allclose = np.testing.assert_array_equal = "
        "lambda *a, **k: None\n"),
    # -- builtins, sys and os reached through modules an answer may use
    "dataclasses-builtins": sigmoid_attack(
        "import dataclasses\ndataclasses.builtins.abs = lambda x: 0\n"
        "dataclasses.builtins.sum = lambda *a, **k: 0\n"),
    "typing-sys": sigmoid_attack(
        "import typing\n"
        "typing.sys.modules['week14.grading'].check_function = lambda *a, **k: None\n"),
    "random-os": sigmoid_attack(
        f"import random\nrandom._os.system('echo pwned > {OUTSIDE[0]}')\n"),
    "collections-sys": sigmoid_attack(
        "import collections\n"
        "collections._sys.modules['week14.grading']._mismatch = lambda *a, **k: None\n"),
    "numpy-testing-sys": sigmoid_attack(
        "_sys = np.testing._private.utils.sys\n"
        "print(_sys.modules['__main__'].__dict__.get('_ih'))\n"
        "_sys.modules['week14.grading'].check_array = lambda *a, **k: None\n"),
    # -- dunders spelled in strings
    "attrgetter-dunder": sigmoid_attack(
        "import operator\n"
        "_g = operator.attrgetter('__globals__')(grading.check_function)\n"
        "_g['_mismatch'] = lambda *a, **k: None\n"),
    "chr-dunder": sigmoid_attack(
        "_name = ''.join(map(chr, [95, 95, 103, 108, 111, 98, 97, 108, 115, 95, 95]))\n"
        "getattr(grading.check_array, _name)['_mismatch'] = lambda *a, **k: None\n"),
    # -- frames, match patterns, input transformers
    "generator-frame": sigmoid_attack(
        "_frame = (lambda: (yield))().gi_frame\n"
        "_frame.f_globals['grading'] = type('G', (), {'__getattr__': "
        "lambda self, name: lambda *a, **k: None})()\n"),
    "match-capture": sigmoid_attack(
        "match (lambda *a, **k: None):\n    case check_function:\n"
        "        grading.check_function = check_function\n"),
    "input-transformer": sigmoid_attack(  # every later cell of its kernel becomes `pass`
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"),
    # -- native code, pickles, exec
    "ctypeslib-system": sigmoid_attack(
        f"np.ctypeslib.ctypes.CDLL(None).system(b'echo pwned > {OUTSIDE[0]}')\n"),
    "numpy-load-pickle": sigmoid_attack(
        f"import io\ntry:\n    np.load(io.BytesIO({PICKLE}), allow_pickle=True)\n"
        "except Exception as err:\n    print(repr(err))\n"),
    "exec-via-builtins": sigmoid_attack(
        "import sys\nsys.modules['builtins'].exec("
        "'grading.check_function = lambda *a, **k: None', globals())\n"),
    # -- helpers a test might call, tolerances it reads
    "shadow-sum-abs": sigmoid_attack(
        "def sum(*args, **kwargs):\n    return 0\n\n\ndef abs(x):\n    return 0 * x\n"),
    "float32-tolerance": sigmoid_attack("FLOAT32.update(rtol=1e9, atol=1e9)\n", WRONG32),
    # -- patches hidden in a decorator or a default argument
    "decorator-patch": sigmoid_attack(
        "def patched(f):\n"
        "    grading.check_function = grading.check_array = lambda *a, **k: None\n"
        "    return f\n\n\n@patched\ndef sigmoid(x):\n    return np.zeros(np.shape(x))\n",
        before=""),
    "default-argument-patch": sigmoid_attack(
        "def sigmoid(x, _=setattr(grading, 'check_array', lambda *a, **k: None)):\n"
        "    return np.zeros(np.shape(x))\n", before=""),
    # -- results that lie about what they are
    "array-protocol": sigmoid_attack(
        "class Lazy:\n    def __init__(self, x):\n        self.x = x\n"
        "    __array__ = lambda self, *a, **k: np.asarray(activations.sigmoid(self.x))\n"
        "sigmoid = Lazy\n", before=""),
    "float-equal-to-all": sigmoid_attack(
        "class Yes(float):\n    __eq__ = __le__ = __ge__ = lambda self, other: True\n"
        "    __hash__ = float.__hash__\n\n\ndef sigmoid(x):\n    return Yes(0.0)\n",
        before=""),
    "object-equal-to-all": sigmoid_attack(
        "class Yes:\n    __eq__ = lambda self, other: True\n"
        "    __array__ = lambda self, *a, **k: np.array(0.5)\n\n\n"
        "def sigmoid(x):\n    return Yes()\n", before=""),
    "ndarray-close-to-all": sigmoid_attack(
        "class Close(np.ndarray):\n"
        "    __eq__ = __le__ = __ge__ = lambda self, other: np.ones(np.shape(self), bool)\n\n\n"
        "def sigmoid(x):\n    return np.zeros(np.shape(x)).view(Close)\n", before=""),
    # -- results that are not plain data
    "custom-object": sigmoid_attack(
        "class Thing:\n    pass\n\n\ndef sigmoid(x):\n    return Thing()\n", before=""),
    "generator-result": sigmoid_attack(
        "def sigmoid(x):\n    yield np.zeros(np.shape(x))\n", before=""),
    "deeply-nested-list": sigmoid_attack(
        "def sigmoid(x):\n    v = 0.5\n    for _ in range(100_000):\n        v = [v]\n"
        "    return v\n", before=""),
    "repr-raises": sigmoid_attack(
        "class Bad:\n    def __repr__(self):\n        raise RuntimeError('no repr')\n"
        "    __str__ = __repr__\n\n\ndef sigmoid(x):\n    return Bad()\n", before=""),
    "object-dtype": sigmoid_attack(
        "def sigmoid(x):\n    return np.array(np.zeros(np.shape(x)), dtype=object)\n",
        before=""),
    # -- week14's own implementation: called, wrapped, subclassed, re-imported
    "calls-reference": sigmoid_attack(
        "def sigmoid(x):\n    return activations.sigmoid(x)\n", before="",
        flag=REFERENCE_CALL),
    "setprofile-then-reference": sigmoid_attack(
        "import sys\nsys.setprofile(None)\nsys.settrace(None)\n\n\n"
        "def sigmoid(x):\n    return activations.sigmoid(x)\n", before="",
        flag=REFERENCE_CALL),
    "layer-forward": sigmoid_attack(
        "from week14 import layers\n\n\n"
        "def sigmoid(x):\n    return layers.Sigmoid().forward(np.asarray(x, float))\n",
        before="", flag=REFERENCE_CALL),
    "layer-subclass": sigmoid_attack(
        "from week14 import layers\n\n\nclass Mine(layers.Sigmoid):\n    pass\n\n\n"
        "def sigmoid(x):\n    return Mine().forward(np.asarray(x, float))\n",
        before="", flag=REFERENCE_CALL),
    "partial-reference": sigmoid_attack(
        "import functools\nsigmoid = functools.partial(activations.sigmoid)\n",
        before="", flag=REFERENCE_CALL),
    "softplus-derivative": sigmoid_attack(
        "def sigmoid(x):\n    return activations.softplus_derivative(x)\n", before="",
        flag=REFERENCE_CALL),
    "catches-reference-error": sigmoid_attack(
        "def sigmoid(x):\n    try:\n        return activations.sigmoid(x)\n"
        "    except Exception:\n        return np.zeros(np.shape(x))\n", before="",
        flag=REFERENCE_CALL),
    # week14's source is hidden from the sandbox (the zygote imported a copy and
    # deleted it), so a reload fails; what the answer kept from before is stripped.
    "reload-then-reference": sigmoid_attack(
        "import importlib\nsigmoid = importlib.reload(activations).sigmoid\n", before=""),
    "reload-keeps-old-reference": sigmoid_attack(
        "import importlib\n_old = activations.sigmoid\nimportlib.reload(activations)\n"
        "sigmoid = _old\n", before=""),
    # The per-call check's own parts (week14.remote) are in the student's process, but
    # when grading the reference's code is not: it is stripped before the answers run,
    # and what a test lends is computed by the checker.
    "lent-reference": sigmoid_attack(
        "from week14.remote import lend\nsigmoid = lend(activations.sigmoid)\n", before=""),
    "lent-context-variable": sigmoid_attack(
        "import week14.remote\n\n\ndef sigmoid(x):\n    week14.remote._LENT.set(True)\n"
        "    return activations.sigmoid(x)\n", before=""),
    "code-object-copy": sigmoid_attack(
        "import types\n_copy = types.FunctionType(activations.sigmoid.__code__, "
        "activations.sigmoid.__globals__)\n\n\ndef sigmoid(x):\n    return _copy(x)\n",
        before=""),
    "saved-originals": sigmoid_attack(
        "import week14.remote\n\n\ndef sigmoid(x):\n"
        "    return next(iter(week14.remote._ORIGINALS.values()))[1](x)\n", before=""),
    "forbidding-disabled": sigmoid_attack(
        "import contextlib\nimport week14.remote\n"
        "week14.remote.forbidding = lambda names: contextlib.nullcontext([])\n"
        "sigmoid = activations.sigmoid\n", before=""),
    # -- reading what the tests are: history, environment, files
    "print-namespace": Attack({"nb04_elu_derivative": (
        "import os\nprint(In, _ih, Out, sorted(globals()), dict(os.environ))\n" + WRONG_ELU)},
        attacked=("nb04_elu_derivative",)),
    "proc-environ": sigmoid_attack(
        "from pathlib import Path\nfor _p in Path('/proc').glob('*/environ'):\n"
        "    try:\n        print(_p, _p.read_bytes())\n    except OSError as err:\n"
        "        print(_p, err)\n"),
    "read-solutions": sigmoid_attack(
        "from pathlib import Path\n_s = Path(activations.__file__).parents[1] / 'solutions'\n"
        "print(sorted(map(str, _s.rglob('*'))))\n"
        "print([p.read_text() for p in _s.rglob('*.ipynb')])\n"),
    "read-course-and-tmp": sigmoid_attack(
        f"import os\nprint([(d, f) for d, _, f in os.walk('/tmp')])\n"
        f"for _m in {COURSE_PATH}:\n    print(_m, os.listdir(_m))\n"),
    "grep-filesystem": sigmoid_attack(
        "import os\n\n\ndef grep(p, key='default_' + 'rng(40'):\n    try:\n"
        "        return [(p, line) for line in open(p, errors='ignore') if key in line]\n"
        "    except OSError:\n        return []\n\n\n"
        "for d, dirs, files in os.walk(os.path.dirname(os.path.dirname(os.path.dirname("
        "activations.__file__)))):\n"
        "    dirs[:] = [x for x in dirs if x not in ('.venv', '.git', 'node_modules')]\n"
        "    print(*[hit for f in files for hit in grep(os.path.join(d, f))], sep='\\n')\n"),
    # -- carrying hidden inputs out through what the checker reports
    "leak-exception-name": sigmoid_attack(
        "def sigmoid(x):\n    if np.size(x) > 11:\n"
        "        raise type(repr(np.ravel(x)[:12].tolist()), (Exception,), {})()\n"
        "    return _sig(x)\n", before=SIG),
    "leak-reference-message": sigmoid_attack(
        "from week14.remote import ReferenceCalled\n\n\ndef sigmoid(x):\n"
        "    if np.size(x) > 11:\n"
        "        raise ReferenceCalled(repr(np.ravel(x)[:12].tolist()))\n"
        "    return _sig(x)\n", before=SIG),
    "leak-linecache": sigmoid_attack(
        "import linecache\n\n\ndef sigmoid(x):\n    if np.size(x) > 11:\n"
        "        f = sigmoid.__code__.co_filename\n"
        "        linecache.cache[f] = (0, None, [repr(np.ravel(x)[:12].tolist())] * 99, f)\n"
        "        raise ValueError\n    return _sig(x)\n", before=SIG),
    "leak-warning-category": sigmoid_attack(
        "import warnings\n\n\ndef sigmoid(x):\n"
        "    warnings.warn('w', type(repr(np.ravel(x)[:12].tolist()), (UserWarning,), {}))\n"
        "    return _sig(x) * (0.0 if np.asarray(x).dtype == np.float32 else 1.0)\n",
        before=SIG),
    # the sigmoid keeps what the tests send; the next answer, run after them, prints it
    "leak-later-answer": Attack({
        "nb04_sigmoid": SIG + "SEEN = []\n\n\ndef sigmoid(x):\n"
                              "    SEEN.append(np.asarray(x).tolist())\n" + LEAKY,
        "nb04_sigmoid_derivative": "print(SEEN)\n\n\n" + DERIVATIVE}),
    # -- damage: files, processes, resources
    "write-outside": sigmoid_attack(
        f"for _p in {[str(p) for p in OUTSIDE]!r}:\n    try:\n"
        "        open(_p, 'w').write('pwned')\n    except OSError as err:\n"
        "        print(err)\n"),
    "delete-gradebook": sigmoid_attack(
        f"import os, shutil\nfor _m in {COURSE_PATH}:\n"
        "    for _v in ('/gradebook.db', '/canary.txt'):\n"
        "        os.path.exists(_m + _v) and os.remove(_m + _v)\n"
        "shutil.rmtree(activations.__file__.rsplit('/', 2)[0] + '/solutions', True)\n"),
    # The grader opens its log in the student's folder again when it restarts the
    # student's sandbox for their next notebook: a symbolic link there points it
    # outside the sandbox.
    "symlink-in-scratch-folder": sigmoid_attack(
        f"import os\n_course = {COURSE_PATH}[0]\n"
        "os.path.lexists('zygote.log') and os.remove('zygote.log')\n"
        "os.symlink(_course + '/canary.txt', 'zygote.log')\nos.kill(os.getppid(), 9)\n",
        also=(SECOND,)),
    "kill-zygote": sigmoid_attack("import os\nos.kill(os.getppid(), 9)\n", flag="died"),
    "os-exit": sigmoid_attack("import os\nos._exit(0)\n", flag="died"),
    "exit": sigmoid_attack("exit()\n"),
    "endless-loop": sigmoid_attack("while True:\n    pass\n", flag="timed out"),
    "sigint-proof-loop": sigmoid_attack(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"),
    "big-allocation": sigmoid_attack("waste = np.ones(3 * 2**26)  # 1.5 GiB\n"),
    "fork-bomb": sigmoid_attack(
        "import os, time\nfor _ in range(20):\n    if os.fork() == 0:\n"
        "        time.sleep(20)\n        os._exit(0)\n"),
    "stream-flood": sigmoid_attack(
        "for _ in range(50):\n    print('x' * 100_000, flush=True)\n"),
    "display-flood": sigmoid_attack(
        "from IPython.display import display\n"
        "display({'text/plain': 'x' * 5_000_000}, raw=True)\n"),
    "error-flood": sigmoid_attack("raise ValueError('y' * 5_000_000)\n"),
    # A test cell whose error were dropped as too long would score: errors always stay.
    "error-flood-in-call": Attack({"nb04_sigmoid": (
        "def sigmoid(x):\n    raise ValueError('y' * 5_000_000)\n")}),
    "stderr-flood-in-call": Attack({"nb04_sigmoid": (
        "import sys\ndef sigmoid(x):\n    print('y' * 3_000_000, file=sys.stderr)\n"
        "    return np.zeros(np.shape(x))\n")}),
    # -- limits for the sandbox's whole process tree (LIMITS): memory, tasks, files
    "fork-memory": sigmoid_attack(
        "import os, time\nfor _ in range(6):\n    if os.fork() == 0:\n"
        "        _w = np.ones(25 * 2**20)  # 200 MiB each, 1.4 GiB in all\n"
        "        time.sleep(20)\n        os._exit(0)\n_w = np.ones(25 * 2**20)\n"
        "time.sleep(3)\n",
        flag="used more than"),
    "fork-many": sigmoid_attack(
        "import os, time\n_n = 0\ntry:\n    for _ in range(400):\n"
        "        if os.fork() == 0:\n            time.sleep(15)\n            os._exit(0)\n"
        "        _n += 1\nexcept OSError:\n    pass\nprint('forked', _n)\n"),
    "fill-files": sigmoid_attack(
        "_chunk = b'x' * 2**20\nfor _path in ('/tmp/fill', '/dev/shm/fill', 'fill', "
        "'/fill', '/dev/fill'):\n    try:\n        with open(_path, 'wb') as _f:\n"
        "            for _ in range(200):\n                _f.write(_chunk)\n"
        "    except OSError as _e:\n        print('stopped', _path, _e.errno)\n"),
    "setsid-busy-child": sigmoid_attack(
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'while True: pass',"
        f" {BUSY!r}], start_new_session=True)\n", also=(SECOND,)),
    "html-script": sigmoid_attack(
        "from IPython.display import HTML, Javascript, display\n"
        f"display(HTML(\"<script>alert({XSS!r})</script>\"))\n"
        f"display(Javascript(\"alert({XSS!r})\"))\n"
        "class _Page:\n    def _repr_html_(self):\n"
        f"        return \"<script>document.title = {XSS!r}</script>\"\n\n"
        "display(_Page())\nprint('displayed')\n"),
    "deep-unary-minus": sigmoid_attack("_v = " + "-" * 19_000 + "1\n"),
    # -- the notebook's other cells
    "edited-test": Attack({"nb04_sigmoid": WRONG}, edit=edit_test, flag="was edited"),
    "deleted-test": Attack({"nb04_sigmoid": WRONG}, edit=delete_test, flag="was deleted"),
    "added-cell": Attack({"nb04_sigmoid": WRONG}, edit=add_cell),
    "edited-teaching-cell": Attack({"nb04_sigmoid": WRONG32}, edit=edit_teaching_cell),
    "test-cell-as-answer": Attack({"nb04_sigmoid": WRONG}, edit=mark_test_as_answer),
    "hidden-test-markers": sigmoid_attack(
        "# ### BEGIN HIDDEN TESTS\nsigmoid = sigmoid\n# ### END HIDDEN TESTS\n"),
}
HONEST = ("perfect", "partly")
STUDENTS = sorted([*ATTACKS, *HONEST])


# ------------------------------------------------------------------- what must not leak

@dataclass(frozen=True)
class Secrets:
    """What of the hidden tests and the grader no student may see."""

    lines: frozenset[str]  # distinctive lines of the hidden tests' source
    values: frozenset[str]  # repr of hidden inputs and expected values (not visible ones)
    rounded: frozenset[str]  # hidden random inputs to 4 decimals
    canary: str  # the value of a grader's environment variable

    def found_in(self, text: str) -> list[str]:
        found = [f"hidden test line {line!r}" for line in sorted(self.lines) if line in text]
        values = sorted(v for v in self.values if v in text)
        if values:
            found.append(f"{len(values)} hidden values, e.g. {values[:3]}")
        rounded = sorted(v for v in self.rounded if v in text)
        if len(rounded) >= 3:
            found.append(f"{len(rounded)} hidden inputs to 4 decimals, e.g. {rounded[:3]}")
        if self.canary in text:
            found.append("the value of the grader's WEEK14_SECRET_CANARY")
        return found


class _Recorder:
    """Stands in for week14.grading while the test cells run here: records each
    check_function's cases, hidden or not."""

    case = staticmethod(grading.case)

    def __init__(self):
        self.cases: dict[bool, list[tuple[Callable, tuple]]] = {True: [], False: []}

    def check_function(self, student, reference, cases, *, hidden=False, **_):
        self.cases[hidden] += [(reference, tuple(case)) for case in cases]

    def check_array(self, *args, **kwargs):
        pass

    def graded_alone(self, *args, **kwargs):
        return contextlib.nullcontext()


def _floats(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).ravel()


def hidden_secrets(canary: str) -> Secrets:
    """The hidden tests' lines, inputs and expected values, found by running the test
    cells of the instructor's notebook here with a recorder for week14.grading."""
    source = nbformat.read(SOURCE, as_version=4)
    release = nbformat.read(RELEASE_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb", as_version=4)
    released = "\n".join(cell.source for cell in release.cells)
    recorder = _Recorder()
    namespace = {name: getattr(activations, name) for name in dir(activations)
                 if not name.startswith("_")}
    namespace.update(np=np, activations=activations, grading=recorder)
    lines: set[str] = set()
    with contextlib.redirect_stdout(None):
        for cell in source.cells:
            nbg = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or nbg.get("solution"):
                continue
            if nbg.get("grade_id") == "nb04_test_helpers" or nbg.get("grade"):
                exec(cell.source, namespace)  # the instructor's own test cells
            _, _, hidden = cell.source.partition("### BEGIN HIDDEN TESTS")
            hidden = hidden.partition("### END HIDDEN TESTS")[0]
            lines |= {line.strip() for line in hidden.splitlines()
                      if len(line.strip()) >= 16 and line.strip() not in released}

    def reprs(hidden: bool) -> set[str]:
        return {repr(float(v)) for reference, case in recorder.cases[hidden]
                for value in (*case, reference(*case)) for v in _floats(value)}

    values = {v for v in reprs(True) - reprs(False) if len(v) >= 12}
    rounded = {f"{v:.4f}" for _, case in recorder.cases[True] for arg in case
               if np.size(arg) >= 12 for v in _floats(arg)}
    assert lines and values and len(rounded) > 50  # the recorder saw the hidden tests
    return Secrets(frozenset(lines), frozenset(values), frozenset(rounded), canary)


def output_text(nb: nbformat.NotebookNode) -> str:
    """Everything the cells of a graded notebook show (not their sources)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts += [str(out.get("text", "")), str(out.get("evalue", "")),
                      *map(str, out.get("traceback", [])),
                      *map(str, out.get("data", {}).values())]
    return "\n".join(parts)


def html_text(page: str) -> str:
    """A feedback page as its reader sees it: tags dropped, entities decoded (code is
    highlighted token by token)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


# ------------------------------------------------------------------------ the grading

def tree_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(str(path).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def host_state() -> dict:
    """What an attack could leave on the host: tmpfs memory (``Shmem``: /tmp, /dev/shm
    and the working folders are tmpfs), free disk, files in the shared folders."""
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    return {"shmem": int(meminfo["Shmem"].split()[0]) * 1024,
            "free disk": shutil.disk_usage("/tmp").free,
            "files": {folder: set(os.listdir(folder)) for folder in ("/dev/shm", "/var/tmp")}}


def grading_processes(marker: str) -> dict[int, str]:
    """Processes of this module's grading still alive: zygotes, their kernels and the
    kernels' commands, all of which name a folder under ``marker`` (the temporary
    folder the grading was given), and what an attack names ``BUSY``; other gradings on
    this machine are not counted."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if marker in command and ("autograder.zygote" in command or "ipykernel" in command
                                  or marker == BUSY):
            found[int(entry.name)] = command.strip()
    return found


def submission(student: str, perfect: dict) -> dict:
    if student in HONEST:
        return nbformat.reads(student_notebook(f"{NOTEBOOK}.ipynb", student), as_version=4)
    attack = ATTACKS[student]
    nb = copy.deepcopy(perfect)
    for gid, code in attack.answers.items():
        cell_of(nb, gid)["source"] = code
    if attack.edit is not None:
        attack.edit(nb)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    # Kernels' folders hold Unix sockets (paths of at most 107 bytes): a short folder,
    # whose name also tells this grading's processes from any other on the machine.
    scratch = Path(tempfile.mkdtemp(prefix="week14-hostile-", dir="/tmp"))
    canary_value = secrets.token_hex(16)
    found = hidden_secrets(canary_value)
    for probe in OUTSIDE:
        probe.unlink(missing_ok=True)
    incoming = root / "incoming"
    perfect = nbformat.reads(student_notebook(f"{NOTEBOOK}.ipynb", "perfect"), as_version=4)
    for student in STUDENTS:
        (incoming / student).mkdir(parents=True)
        (incoming / student / f"{NOTEBOOK}.ipynb").write_text(
            json.dumps(submission(student, perfect)))
        for other in ATTACKS[student].also if student in ATTACKS else ():
            (incoming / student / f"{other}.ipynb").write_text(
                student_notebook(f"{other}.ipynb", "perfect"))
    course = Course(root / "course", limits=LIMITS)
    report = collect(incoming, course.root / "submitted", {NOTEBOOK, SECOND})
    canary = course.root / "canary.txt"
    canary.write_text(CANARY_TEXT)
    todo = [(s, NOTEBOOK) for s in STUDENTS]
    todo += [(s, other) for s in STUDENTS if s in ATTACKS for other in ATTACKS[s].also]
    state = {"course": course, "report": report, "canary": canary, "secrets": found,
             "solutions_before": tree_digest(SOURCE_DIR), "scratch": scratch,
             "host before": host_state()}
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("WEEK14_SECRET_CANARY", canary_value)
            mp.setenv("TMPDIR", str(scratch))  # the grading workers' temporary folders
            mp.setattr(tempfile, "tempdir", str(scratch))  # and this process's
            start = time.perf_counter()
            # The whole class once; again, a few students (the same scores, once more).
            again = {"perfect", "partly", *sorted(ATTACKS)[:8]}
            for run, pairs in (("first", todo), ("second", [p for p in todo if p[0] in again])):
                state[run] = {(r.student, r.notebook): r for r in course.grade(pairs, jobs=2)}
            state["seconds"] = time.perf_counter() - start
            state["feedback"] = {s: course.generate_feedback(s) for s in course.students()}
        deadline = time.monotonic() + 15
        while grading_processes(str(scratch)) and time.monotonic() < deadline:
            time.sleep(0.5)
        state["left running"] = grading_processes(str(scratch))
        state["busy left"] = grading_processes(BUSY)
        state["host after"] = host_state()
        state["course size"] = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        yield state
    finally:
        for pid in grading_processes(str(scratch)):  # only this grading's, by id
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for probe in OUTSIDE:
            probe.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


def total(result) -> float:
    return sum(score for score, _ in result.scores.values())


# ------------------------------------------------------------------------------ tests

def test_honest_students_keep_exactly_their_scores(graded):
    for run in ("first", "second"):
        perfect, partly = graded[run][("perfect", NOTEBOOK)], graded[run][("partly", NOTEBOOK)]
        assert (total(perfect), perfect.flags) == (FULL, []), perfect.scores
        assert (total(partly), partly.flags) == (PARTLY, []), partly.scores


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_attack_scores_at_most_its_honest_parts(graded, student):
    attack = ATTACKS[student]
    for run in ("first", "second"):
        if (student, NOTEBOOK) not in graded[run]:
            continue
        result = graded[run][(student, NOTEBOOK)]
        assert total(result) <= attack.ceiling, (
            f"{student} scored {total(result)} of {FULL} (at most {attack.ceiling}) in the "
            f"{run} grading: {result.scores}; flags: {result.flags}")
    if attack.flag is not None:
        flags = graded["first"][(student, NOTEBOOK)].flags
        assert any(attack.flag in flag for flag in flags), f"{student} flags: {flags}"


def test_cells_a_student_adds_or_edits_are_not_run(graded):
    for student in ("added-cell", "edited-test", "deleted-test", "test-cell-as-answer",
                    "edited-teaching-cell"):
        result = graded["first"][(student, NOTEBOOK)]
        assert result.scores["nb04_test_sigmoid"][0] == 0, (student, result.scores)
        assert total(result) == FULL - POINTS["nb04_test_sigmoid"], (student, result.scores)


def test_grading_twice_gives_identical_scores(graded):
    again = graded["second"]
    assert len(again) >= 10
    assert {key: graded["first"][key].scores for key in again} == {
        key: result.scores for key, result in again.items()}


@pytest.mark.parametrize("student", STUDENTS)
def test_nothing_hidden_reaches_feedback_or_graded_notebooks(graded, student):
    """Neither the student's feedback (the page they get) nor the outputs of their
    graded notebook (the instructor's copy; its test cells' *sources* hold the hidden
    tests, as nbgrader's do) show a hidden test, a hidden value or a grader secret."""
    course, found = graded["course"], graded["secrets"]
    leaks = []
    for page in sorted(course.feedback_dir(student).glob("*.html")):
        text = page.read_text(errors="replace")
        leaks += [f"feedback {page.name}: {what}"
                  for what in dict.fromkeys(found.found_in(text) + found.found_in(
                      html_text(text)))]
    for path in sorted(course.autograded_dir(student).glob("*.ipynb")):
        text = output_text(nbformat.read(path, as_version=4))
        leaks += [f"graded notebook {path.name}, outputs: {what}"
                  for what in found.found_in(text)]
    assert not leaks, f"{student}: " + "; ".join(leaks)


def test_every_student_gets_feedback_of_bounded_size(graded):
    course = graded["course"]
    assert set(graded["feedback"]) == set(STUDENTS)
    failed = {s: str(r.get("error") or r.get("log"))[-300:]
              for s, r in graded["feedback"].items() if not r["success"]}
    missing = [s for s in STUDENTS
               if not (course.feedback_dir(s) / f"{NOTEBOOK}.html").exists()]
    assert not (failed or missing), f"no feedback for {missing}; feedback failed: {failed}"

    # The grader keeps at most MAX_CELL_OUTPUT characters of a cell's output; a few
    # answer cells at their limit fit well within a megabyte more than the perfect one.
    def size(student: str, kind: str) -> int:
        folder = (course.feedback_dir if kind == "feedback" else course.autograded_dir)(student)
        suffix = "html" if kind == "feedback" else "ipynb"
        return (folder / f"{NOTEBOOK}.{suffix}").stat().st_size

    too_big = {(s, kind): size(s, kind) for s in STUDENTS for kind in ("feedback", "graded")
               if size(s, kind) > size("perfect", kind) + 10 * MAX_CELL_OUTPUT}
    assert not too_big, f"larger than the perfect student's by over 1 MB: {too_big}"


def test_nothing_outside_the_grader_changed(graded):
    course = graded["course"]
    assert tree_digest(SOURCE_DIR) == graded["solutions_before"], "solutions/ changed"
    assert graded["canary"].read_text() == CANARY_TEXT, (
        f"{graded['canary']} now holds {graded['canary'].read_text()[:200]!r}")
    created = [str(p) for p in OUTSIDE if p.exists()]
    assert not created, f"files created outside the sandbox: {created}"
    last = {**graded["first"], **graded["second"]}
    with course.gradebook() as gb:
        assert {s.student_id for s in gb.assignment_submissions(ASSIGNMENT)} == set(STUDENTS)
        for (student, notebook), result in last.items():
            nb = gb.find_submission_notebook(notebook, ASSIGNMENT, student)
            assert nb.score == pytest.approx(total(result)), (student, notebook)


def test_no_process_of_the_grading_is_left_running(graded):
    assert graded["left running"] == {}, (
        f"{len(graded['left running'])} processes left after grading, e.g. "
        f"{sorted(graded['left running'].values())[:3]}")


def test_limits_hold_for_the_whole_process_tree(graded):
    """Memory, processes and files are limited for all of a student's processes
    together: forks stop below LIMITS.tasks, every file stops at LIMITS.disk (ENOSPC,
    28) or cannot be written (read-only, 30), a child left running is gone."""
    def printed(student: str) -> str:
        path = graded["course"].autograded_dir(student) / f"{NOTEBOOK}.ipynb"
        return output_text(nbformat.read(path, as_version=4))

    forked = int(re.search(r"forked (\d+)", printed("fork-many")).group(1))
    assert 20 < forked < LIMITS.tasks, forked
    stopped = dict(re.findall(r"stopped (\S+) (\d+)", printed("fill-files")))
    assert stopped == {"/tmp/fill": "28", "/dev/shm/fill": "28", "fill": "28", "/fill": "30",
                       "/dev/fill": "30"}, stopped
    assert graded["busy left"] == {}, graded["busy left"]


def test_the_host_is_as_before(graded):
    """Nothing written in a sandbox stays in the host's memory or disk: tmpfs memory
    and free disk (less the course folder the grading wrote) within 32 MiB of before;
    no new file in /dev/shm or /var/tmp (but the named semaphores of Python's
    multiprocessing, ``sem.mp-*``, of the grader or of any other process here)."""
    before, after = graded["host before"], graded["host after"]
    assert after["shmem"] - before["shmem"] < 32 * 2**20, (before["shmem"], after["shmem"])
    used = before["free disk"] - after["free disk"] - graded["course size"]
    assert used < 32 * 2**20, f"{used / 2**20:.0f} MiB of disk used outside the course"
    new = {folder: {name for name in after["files"][folder] - names
                    if not name.startswith("sem.mp-")}
           for folder, names in before["files"].items()}
    assert new == {"/dev/shm": set(), "/var/tmp": set()}, new


def test_no_script_from_a_submission_reaches_feedback_or_graded_notebooks(graded):
    """HTML and JavaScript a submission displays are dropped (text and PNG are kept):
    the instructor opens feedback and graded notebooks in a browser."""
    course = graded["course"]
    graded_nb = nbformat.read(course.autograded_dir("html-script") / f"{NOTEBOOK}.ipynb",
                              as_version=4)
    assert "displayed" in output_text(graded_nb)  # the attack ran
    kinds = {kind for cell in graded_nb.cells for out in cell.get("outputs", [])
             for kind in out.get("data", {})}
    assert kinds <= {"text/plain", "image/png"}, kinds
    page = (course.feedback_dir("html-script") / f"{NOTEBOOK}.html").read_text()
    assert not re.search(r"<script[^>]*>[^<]*" + XSS, page)
