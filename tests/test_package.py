"""`import week14` is light: NumPy only, the heavy libraries load when used."""

import subprocess
import sys


def test_import_loads_numpy_only():
    code = ("import sys, week14; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'tqdm', 'ipywidgets', 'IPython'}); "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"import week14 also imported {out.stdout.strip()}"


def test_every_module_is_reachable_from_the_package():
    import week14

    for name in week14.__all__:
        assert getattr(week14, name).__doc__, f"week14.{name} has no module docstring"


def test_no_module_imports_a_posix_only_module():
    """Students run week14 on Windows too: no module of the package imports a POSIX-only
    module, at import time (every module is imported with those names refused to
    week14's own code) or anywhere in its source (functions included). Third-party
    libraries choose their own platform branches and are not judged here."""
    import ast
    import pkgutil
    from pathlib import Path

    import week14

    blocked = {"fcntl", "resource", "pwd", "grp", "termios", "tty", "pty", "posix",
               "syslog", "crypt", "spwd", "nis", "readline", "_posixsubprocess",
               "_posixshmem", "ossaudiodev"}
    root = Path(week14.__file__).parent
    modules = sorted(info.name for info in pkgutil.walk_packages([str(root)], "week14."))
    assert {"week14.lab", "week14.widgets.feedforward"} <= set(modules)
    static = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            static += [f"{path.relative_to(root)}:{node.lineno} imports {name}"
                       for name in names if name.split(".")[0] in blocked]
    assert not static, static
    code = f"""
import builtins, importlib, sys
BLOCKED = {sorted(blocked)!r}
real_import = builtins.__import__
def guarded(name, globals=None, locals=None, fromlist=(), level=0):
    importer = (globals or {{}}).get("__name__", "")
    if level == 0 and name.split(".")[0] in BLOCKED and importer.split(".")[0] == "week14":
        raise ModuleNotFoundError(f"{{importer}} imports {{name}}: POSIX only", name=name)
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = guarded
for module in {modules!r}:
    importlib.import_module(module)
print(len({modules!r}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(len(modules))
