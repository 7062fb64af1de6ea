"""Every public name says what it is for.

A public name is one in the ``__all__`` of a public module (no ``_`` in its
dotted path), ``milestonebill.testing`` included: hosts run its contract
suites and strategies against their own adapters.  Classes and functions must
have a docstring of their own, and so must the public methods and properties
a public class defines (the Biller's mixins included).  Not checked: the
``test_*`` methods of the contract suites (their names are the sentence) and
constants, type aliases and ``NewType`` ids, which cannot carry a docstring
and are described by their module's docstring instead.

The errors a name raises are checked too, by reading its source (AST):

* Checked: every library error (a subclass of
  :class:`~milestonebill.errors.MilestonebillError`) that a public function
  or public method raises *directly* -- a ``raise SomeError(...)`` or
  ``raise SomeError`` in its own body, nested closures included.  For a
  public class, what its constructor raises (``__init__``, ``__new__``,
  ``__attrs_post_init__``) is checked against the class's docstring.
* Not checked: re-raising a caught variable (``raise exc``, bare
  ``raise``), errors raised inside private helpers or attrs validators the
  body calls, and builtins (``TypeError`` for a float is the house rule,
  not a per-function fact).
* Named means: the error's class name, or the name of one of its library
  bases other than the root (``ValidationError`` covers
  ``InvalidAmountError``), appears as a word in the docstring.  A stated
  convention also counts: a paragraph of the module's docstring (or, for a
  method, of its class's docstring) that says *every* ... *raises* and names
  the error, e.g. "Every function here raises :class:`ValidationError` for
  bad input".
* An adapter's method whose docstring starts "See :meth:`Port.name`" (it
  implements that port method and documents itself there) is read together
  with the docstring of the method it points at: the port states the
  errors for every adapter.
* Names still to fix are listed in ``docstring_raises_todo.txt`` beside this
  file.  That list may only shrink: a listed name that no longer violates
  fails the test, so it must be removed.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import milestonebill
from milestonebill.errors import MilestonebillError, ValidationError

TODO = Path(__file__).with_name("docstring_raises_todo.txt")
CONSTRUCTORS = ("__init__", "__new__", "__attrs_post_init__")


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


def library_error(node: ast.expr, namespace: dict[str, Any]) -> type | None:
    """The library error class a ``raise`` expression names, if it names one."""
    target = node.func if isinstance(node, ast.Call) else node
    path: list[str] = []
    while isinstance(target, ast.Attribute):
        path.insert(0, target.attr)
        target = target.value
    if not isinstance(target, ast.Name) or target.id not in namespace:
        return None  # a local variable: a re-raise of something caught
    obj = namespace[target.id]
    for attr in path:
        obj = getattr(obj, attr, None)
    if inspect.isclass(obj) and issubclass(obj, MilestonebillError):
        return obj
    return None


def raised_directly(func: Callable[..., Any]) -> set[type]:
    """The library errors ``func``'s own body raises by name."""
    func = inspect.unwrap(func)
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):  # generated by attrs: no source, raises nothing of ours
        return set()
    errors = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and node.exc is not None:
            error = library_error(node.exc, func.__globals__)
            if error is not None:
                errors.add(error)
    return errors


def names_error(doc: str, error: type) -> bool:
    """``doc`` names ``error`` or one of its library bases below the root."""
    return any(
        re.search(rf"\b{base.__name__}\b", doc)
        for base in error.__mro__
        if isinstance(base, type)
        and issubclass(base, MilestonebillError)
        and base is not MilestonebillError
    )


def convention(doc: str, error: type) -> bool:
    """A paragraph of ``doc`` states that *every* name here raises ``error``."""
    return any(
        re.search(r"\bevery\b", para, re.IGNORECASE)
        and "raise" in para
        and names_error(para, error)
        for para in re.split(r"\n\s*\n", doc)
    )


SEE_ALSO = re.compile(r"See :meth:`~?([\w.]+)`")


@functools.cache
def public_names() -> dict[str, Any]:
    """Every public name by its short name, as a reference in a docstring uses it."""
    names: dict[str, Any] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            names.setdefault(name, getattr(module, name))
    return names


def pointed_at(func: Callable[..., Any], doc: str) -> str:
    """The docstring of the method ``doc`` starts by pointing at ("See :meth:`X.y`")."""
    match = SEE_ALSO.match(doc.strip())
    if match is None:
        return ""
    first, *rest = match.group(1).split(".")
    obj: Any = func.__globals__.get(first) or public_names().get(first)
    if first == "milestonebill":
        obj = milestonebill
        while rest and inspect.ismodule(obj) and not hasattr(obj, rest[0]):
            obj = importlib.import_module(f"{obj.__name__}.{rest.pop(0)}")
    for attr in rest:
        obj = getattr(obj, attr, None)
    return own_doc(obj) if callable(obj) else ""


def checked_callables() -> dict[str, tuple[Callable[..., Any], str, list[str]]]:
    """Each checked callable by its defining name: the callable, its docstring,
    and the docstrings whose stated convention also covers it."""
    found: dict[str, tuple[Callable[..., Any], str, list[str]]] = {}
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                home = inspect.getmodule(obj)
                found[f"{obj.__module__}.{obj.__qualname__}"] = (obj, own_doc(obj), [own_doc(home)])
            elif inspect.isclass(obj) and obj.__module__.startswith("milestonebill"):
                found.update(class_callables(obj))
    return found


def class_callables(cls: type) -> dict[str, tuple[Callable[..., Any], str, list[str]]]:
    found: dict[str, tuple[Callable[..., Any], str, list[str]]] = {}
    if issubclass(cls, BaseException):
        return found
    where = f"{cls.__module__}.{cls.__qualname__}"
    for hook in CONSTRUCTORS:
        init = vars(cls).get(hook)
        if inspect.isfunction(init):
            found[f"{where}.{hook}"] = (init, own_doc(cls), [own_doc(inspect.getmodule(cls))])
    for _, member in public_members(cls):
        func = inspect.unwrap(member)
        owner = vars(inspect.getmodule(func) or milestonebill).get(func.__qualname__.split(".")[0])
        notes = [own_doc(inspect.getmodule(func)), own_doc(owner) if inspect.isclass(owner) else ""]
        doc = own_doc(func)
        found[f"{func.__module__}.{func.__qualname__}"] = (func, doc + pointed_at(func, doc), notes)
    return found


def unnamed_errors() -> list[str]:
    """``"<defining name> <Error>"`` for each raised error its docstring does not name."""
    missing = []
    for where, (func, doc, notes) in checked_callables().items():
        for error in raised_directly(func):
            if not names_error(doc, error) and not any(convention(note, error) for note in notes):
                missing.append(f"{where} {error.__name__}")
    return sorted(missing)


def todo() -> list[str]:
    lines = TODO.read_text(encoding="utf-8").splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def test_every_error_a_public_name_raises_is_named_in_its_docstring() -> None:
    listed = set(todo())
    unnamed = unnamed_errors()
    assert [line for line in unnamed if line not in listed] == []


def test_the_todo_list_of_unnamed_errors_only_shrinks() -> None:
    unnamed = set(unnamed_errors())
    assert [line for line in todo() if line not in unnamed] == []


def test_the_check_finds_an_error_the_docstring_does_not_name() -> None:
    def quiet(amount: int) -> int:
        """Doubles it."""
        if amount < 0:
            raise ValidationError("amount", "not negative", amount)
        return 2 * amount

    assert raised_directly(quiet) == {ValidationError}
    assert not names_error(own_doc(quiet), ValidationError)
    assert names_error("Raises :class:`ValidationError` for a negative amount.", ValidationError)


def test_a_base_class_or_a_stated_convention_names_an_error() -> None:
    from milestonebill.errors import InvalidAmountError

    assert names_error("Raises :class:`ValidationError`.", InvalidAmountError)
    assert names_error("Raises :class:`DomainError` for it.", ValidationError)
    assert not names_error("Raises MilestonebillError.", ValidationError)
    assert convention(
        "Intro.\n\nEvery function here raises ValidationError for bad input.", InvalidAmountError
    )
    assert not convention(
        "Raises ValidationError.\n\nEvery function here is pure.", ValidationError
    )


def test_a_re_raise_of_a_caught_error_is_not_counted() -> None:
    def relay() -> None:
        """Passes it on."""
        try:
            pass
        except ValidationError as exc:
            raise exc

    assert raised_directly(relay) == set()


def test_an_adapter_method_is_read_with_the_port_method_it_points_at() -> None:
    from milestonebill.ledger import InMemoryLedger
    from milestonebill.stores.memory import InMemoryStore

    assert "DuplicateIdError" in pointed_at(
        InMemoryStore.record_attempt, "See :meth:`AgreementStore.record_attempt`."
    )
    assert "DuplicateIdError" in pointed_at(
        InMemoryLedger.post, "See :meth:`milestonebill.ledger.Ledger.post`."
    )
    assert pointed_at(InMemoryLedger.post, "Posts it.") == ""
