"""`import week14` is light: NumPy only, the heavy libraries load when used."""

import subprocess
import sys


def test_import_loads_numpy_only():
    code = ("import sys, week14; heavy = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'matplotlib', 'sklearn', 'scipy', 'tqdm', 'ipywidgets', 'IPython'}); "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "", f"import week14 also imported {out.stdout.strip()}"


def test_every_module_is_reachable_from_the_package():
    import week14

    for name in week14.__all__:
        assert getattr(week14, name).__doc__, f"week14.{name} has no module docstring"
