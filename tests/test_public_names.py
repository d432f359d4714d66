"""A public name means the same object whatever was imported before it.

Python sets ``package.sub`` to the submodule ``package/sub.py`` when that module
is first imported, overwriting a public name ``sub`` defined (or lazily
exported) by the package.  So no public name may equal a submodule's name, and
each name is checked in fresh interpreters in both orders: the name first, then
every submodule; every submodule first, then the name.
"""
from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lnfusion

ROOT = Path(lnfusion.__file__).parent

#: every package that declares public names
PACKAGES = ["lnfusion", *sorted(f"lnfusion.{p.parent.name}" for p in ROOT.glob("*/__init__.py"))]

#: public names that are modules on purpose (none today)
MODULES_BY_DESIGN: set[str] = set()

_PROBE = textwrap.dedent('''
    import importlib, json, pkgutil, sys, types

    def every_module(name):
        module = importlib.import_module(name)
        yield name
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            yield from every_module(f"{name}.{info.name}")

    def describe(obj):
        if isinstance(obj, types.ModuleType):
            return "module " + obj.__name__
        if hasattr(obj, "__qualname__") and hasattr(obj, "__module__"):
            return f"{type(obj).__name__} {obj.__module__}.{obj.__qualname__}"
        return f"{type(obj).__name__} {obj!r}"

    order, packages = sys.argv[1], sys.argv[2:]
    out = {}
    if order == "modules-first":
        for package in packages:
            list(every_module(package))
        for package in packages:
            pkg = importlib.import_module(package)
            for name in pkg.__all__:
                out[f"{package}.{name}"] = describe(getattr(pkg, name))
    else:  # names first: one package per interpreter
        (package,) = packages
        pkg = importlib.import_module(package)
        first = {name: getattr(pkg, name) for name in pkg.__all__}
        list(every_module(package))
        for name, obj in first.items():
            again = getattr(importlib.import_module(package), name)
            key = f"{package}.{name}"
            out[key] = describe(obj) if again is obj else f"CHANGED {describe(obj)} -> {describe(again)}"
    print(json.dumps(out))
''')


def _probe(order: str, packages: list[str]) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, order, *packages], capture_output=True,
                          text=True, check=False, cwd=ROOT.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _public(package: str) -> list[str]:
    import importlib

    return list(importlib.import_module(package).__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_public_name_is_a_submodule_name(package):
    import importlib

    path = importlib.import_module(package).__path__
    submodules = {info.name for info in pkgutil.iter_modules(path)}
    assert sorted(set(_public(package)) & submodules) == []


@pytest.fixture(scope="module")
def modules_first() -> dict[str, str]:
    """Every public name of every package, read after importing every lnfusion module."""
    return _probe("modules-first", PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_names_are_the_same_objects_in_both_import_orders(package, modules_first):
    names_first = _probe("names-first", [package])
    assert sorted(names_first) == sorted(f"{package}.{n}" for n in _public(package))
    changed = {k: v for k, v in names_first.items() if v.startswith("CHANGED")}
    assert changed == {}, "a submodule import replaced a public name"
    differ = {k: (v, modules_first[k]) for k, v in names_first.items() if modules_first[k] != v}
    assert differ == {}, "name-first and modules-first give different objects"
    modules = sorted(k for k, v in names_first.items()
                     if v.startswith("module ") and k not in MODULES_BY_DESIGN)
    assert modules == []
