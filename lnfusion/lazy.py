"""Lazy public names for packages whose modules import heavy libraries (PEP 562).

A package lists ``public name -> defining module`` and gets a module-level
``__getattr__`` and ``__dir__`` that import the defining module on first access,
so importing the package itself stays light (no torch, timm, xgboost or shap).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, names: Mapping[str, str], public: Iterable[str] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (used in error messages and to cache values).
    names : mapping
        Public name -> absolute module path that defines it.
    public : iterable of str
        Names eagerly defined in the package, listed by ``dir()`` as well.
    """
    names = dict(names)
    public = tuple(public)

    def __getattr__(name: str) -> Any:
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
            module = importlib.import_module(package)
            setattr(module, name, value)  # later look-ups skip __getattr__
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(public) | set(names))

    return __getattr__, __dir__
