"""The site's API reference covers every public name, each exactly once.

The reference pages are generated at build time by ``docs/_ext/apiref.py``;
this checks the generator without running Sphinx (``.ci/docs`` runs it).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def apiref() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("apiref", DOCS / "_ext" / "apiref.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented(apiref: types.ModuleType) -> list[str]:
    text = "\n".join(apiref.pages().values())
    return re.findall(r"^\.\. auto(?:class|function|data):: (\S+)$", text, re.M)


def test_every_public_name_is_documented_exactly_once(apiref: types.ModuleType) -> None:
    targets = documented(apiref)
    assert sorted(t for t in set(targets) if targets.count(t) > 1) == []
    _, alias = apiref.homes()
    missing = []
    for module_name in apiref.public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if isinstance(getattr(module, name), types.ModuleType):
                continue
            if alias.get(f"{module_name}.{name}") not in set(targets):
                missing.append(f"{module_name}.{name}")
    assert missing == []


def test_a_reexported_name_resolves_to_its_home(apiref: types.ModuleType) -> None:
    _, alias = apiref.homes()
    assert alias["milestonebill.Money"] == "milestonebill.money.Money"
    assert apiref.resolve(alias, "milestonebill.Biller.run") == "milestonebill.engine.biller.Biller.run"
    assert apiref.resolve(alias, "milestonebill.no_such_name") is None


def test_every_page_under_docs_is_reachable_from_the_index() -> None:
    linked = set()
    for page in [DOCS / "index.md", *DOCS.glob("reference/index.md")]:
        for block in re.findall(r"```\{toctree\}\n(.*?)```", page.read_text(), re.S):
            linked |= {line.strip() for line in block.splitlines()
                       if line.strip() and not line.startswith(":")}
    pages = {p.relative_to(DOCS).with_suffix("").as_posix()
             for p in DOCS.rglob("*.md") if p.parent.name != "reference"}
    assert pages - linked - {"index"} == set()
