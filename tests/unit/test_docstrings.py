"""Every public name says what it is for.

A public name is one in the ``__all__`` of a public module (no ``_`` in its
dotted path), ``milestonebill.testing`` included: hosts run its contract
suites and strategies against their own adapters.  Classes and functions must
have a docstring of their own, and so must the public methods and properties
a public class defines (the Biller's mixins included).  Not checked: the
``test_*`` methods of the contract suites (their names are the sentence) and
constants, type aliases and ``NewType`` ids, which cannot carry a docstring
and are described by their module's docstring instead.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

import milestonebill


def public_modules() -> list[str]:
    names = ["milestonebill"]
    for info in pkgutil.walk_packages(milestonebill.__path__, "milestonebill."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def own_doc(obj: Any) -> str:
    """The docstring an object has itself (a class must not borrow its base's)."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        return doc if isinstance(doc, str) else ""
    return getattr(obj, "__doc__", None) or ""


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """Methods and properties ``cls`` or one of its milestonebill bases defines."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith("milestonebill"):
            continue
        for name, value in vars(klass).items():
            if name.startswith(("_", "test_")):
                continue
            if isinstance(value, property):
                yield name, value.fget
            elif isinstance(value, (classmethod, staticmethod)):
                yield name, value.__func__
            elif inspect.isfunction(value):
                yield name, value


def undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not own_doc(obj).strip():
            missing.append(name)
        if inspect.isclass(obj) and obj.__module__.startswith("milestonebill"):
            missing += [
                f"{name}.{member}"
                for member, func in public_members(obj)
                if not (getattr(func, "__doc__", None) or "").strip()
            ]
    return sorted(set(missing))


@pytest.mark.parametrize("module_name", public_modules())
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    assert undocumented(module_name) == []


def test_the_check_finds_a_name_without_a_docstring() -> None:
    class Bare:
        def verb(self) -> None:
            pass

    assert own_doc(Bare) == ""
    assert [name for name, _ in public_members(Bare)] == []  # not a milestonebill class
    Bare.__module__ = "milestonebill.example"
    assert [name for name, _ in public_members(Bare)] == ["verb"]
