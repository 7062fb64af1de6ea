"""Every public module declares a sorted, complete ``__all__``; the package
re-exports the nouns and verbs a user needs; importing the package pulls in
no vendor SDK."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import types

import pytest

import milestonebill


def isort_key(name: str) -> tuple[int, list[int | str]]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then the rest,
    each in natural order (digits compare as numbers)."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    parts: list[int | str] = [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]
    return kind, parts


def public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(milestonebill.__path__, "milestonebill."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", ["milestonebill", *public_modules()])
def test_public_module_all_is_sorted_and_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        assert isinstance(module, types.ModuleType)
        assert module.__path__ if hasattr(module, "__path__") else False, (
            f"{name} has no __all__"
        )
        return
    assert list(exported) == sorted(exported, key=isort_key), f"{name}.__all__ is not sorted"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == []


@pytest.mark.parametrize("name", public_modules())
def test_public_module_exports_every_public_definition(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(getattr(module, "__all__", ()))
    defined = {
        n
        for n, obj in vars(module).items()
        if not n.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == name
    }
    assert defined - exported == set()


def test_package_reexports_what_its_all_names() -> None:
    for n in milestonebill.__all__:
        obj = getattr(milestonebill, n)
        assert obj is not None


def test_importing_the_package_imports_no_vendor_sdk() -> None:
    code = (
        "import sys, milestonebill\n"
        "bad = sorted(m for m in ('stripe', 'psycopg', 'psycopg_pool', 'pandas', 'matplotlib',"
        " 'jsonschema', 'jinja2', 'markupsafe', 'weasyprint')"
        " if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_the_documents_package_imports_neither_jinja2_nor_weasyprint_until_it_renders() -> None:
    code = (
        "import sys, milestonebill.rendering, milestonebill.testing.documents\n"
        "print(','.join(sorted(m for m in ('jinja2', 'markupsafe', 'weasyprint')"
        " if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
