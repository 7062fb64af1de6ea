"""Sphinx extension: the API reference, generated from ``__all__`` at build time.

Every public module (no ``_`` in its dotted path) of milestonebill is walked;
each name in its ``__all__`` is documented once, at its *home*: the module
that defines it when that module is public, otherwise the shortest public
module below the top level that exports it.  One page per top-level package
is written to ``docs/reference/`` (git-ignored), a section per module.

Because a name is documented only at its home, a type hint or a docstring
that names it another way (``milestonebill.Money``, a private module such as
``milestonebill.gateways._scripting.Behaviour``) is resolved to the home by
the ``missing-reference`` handler below: every alias the walk saw points at
one documented target, and anything else under ``milestonebill`` still fails
the strict build.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = "milestonebill"


def public_modules() -> list[str]:
    """Every importable public module of the package, sorted."""
    root = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(root.__path__, PACKAGE + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def _exports(module: types.ModuleType) -> Iterator[tuple[str, Any]]:
    for name in getattr(module, "__all__", ()):
        yield name, getattr(module, name)


def _is_documentable(obj: Any) -> bool:
    return inspect.isclass(obj) or inspect.isfunction(obj)


def homes() -> tuple[dict[str, list[str]], dict[str, str]]:
    """``(names by home module, canonical target by every alias)``."""
    modules = public_modules()
    exporters: dict[int, list[tuple[str, str]]] = {}
    objects: dict[int, Any] = {}
    for mod_name in modules:
        module = importlib.import_module(mod_name)
        for name, obj in _exports(module):
            if isinstance(obj, types.ModuleType):
                continue
            exporters.setdefault(id(obj), []).append((mod_name, name))
            objects[id(obj)] = obj
    by_home: dict[str, list[str]] = {}
    alias: dict[str, str] = {}
    for key, places in exporters.items():
        obj = objects[key]
        defined_in = getattr(obj, "__module__", None) if _is_documentable(obj) else None
        public = [p for p in places if p[0] != PACKAGE] or places
        home = next((p for p in public if p[0] == defined_in), None)
        if home is None:
            home = min(public, key=lambda p: (p[0].count("."), p[0]))
        by_home.setdefault(home[0], []).append(home[1])
        target = f"{home[0]}.{home[1]}"
        for mod_name, name in places:
            alias[f"{mod_name}.{name}"] = target
        if defined_in and _is_documentable(obj):
            alias[f"{defined_in}.{obj.__qualname__}"] = target
    return by_home, alias


def _is_private_mixin(cls: type) -> bool:
    module = getattr(cls, "__module__", "")
    return module.startswith(PACKAGE + ".") and any(
        part.startswith("_") for part in module.split(".")
    )


def _directive(module: str, name: str) -> str:
    obj = getattr(importlib.import_module(module), name)
    target = f"{module}.{name}"
    if inspect.isclass(obj):
        text = (f".. autoclass:: {target}\n   :members:\n   :undoc-members:\n"
                "   :show-inheritance:\n")
        if any(_is_private_mixin(base) for base in obj.__mro__[1:]):
            # Public verbs that live in private mixins (the Biller's) are the
            # class's own API: list them here, and stop at anything else.
            text += "   :inherited-members: object\n"
        return text
    if inspect.isfunction(obj):
        return f".. autofunction:: {target}\n"
    if isinstance(obj, typing.NewType) or len(repr(obj)) > 80:
        # An id type says what it wraps in its text; a long value (a table of
        # migrations, the report catalogue) is described, not printed.
        return f".. autodata:: {target}\n   :no-value:\n"
    return f".. autodata:: {target}\n"


def _reexports(module: types.ModuleType) -> list[str]:
    """The top-level package's names as links to where each is documented."""
    _, alias = homes()
    links = [f":py:obj:`{name} <{alias[f'{module.__name__}.{name}']}>`"
             for name in module.__all__ if f"{module.__name__}.{name}" in alias]
    return [".. rubric:: Re-exported here", "", ", ".join(links) + ".", ""]


def pages() -> dict[str, str]:
    """The reference pages' reST text by file stem (the top-level package)."""
    by_home, _ = homes()
    grouped: dict[str, list[str]] = {}
    for module in public_modules():
        top = module.split(".")[1] if "." in module else "milestonebill"
        grouped.setdefault(top, []).append(module)
    out: dict[str, str] = {}
    for top, modules in sorted(grouped.items()):
        title = f"``{PACKAGE}``" if top == PACKAGE else f"``{PACKAGE}.{top}``"
        lines = [title, "=" * len(title), ""]
        for module in modules:
            names = sorted(by_home.get(module, ()))
            mod = importlib.import_module(module)
            if module != modules[0]:
                heading = f"``{module}``"
                lines += [heading, "-" * len(heading), ""]
            lines += [f".. automodule:: {module}", "   :no-members:", ""]
            if module == PACKAGE:
                lines += _reexports(mod)
            elif not names and getattr(mod, "__all__", None):
                lines += ["Everything here is re-exported from its home module.", ""]
            lines += [_directive(module, name) for name in names]
        out[top] = "\n".join(lines) + "\n"
    return out


def write_pages(directory: Path) -> None:
    """Write the pages, touching only files whose text changed."""
    directory.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    for stem, text in wanted.items():
        path = directory / f"{stem}.rst"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for stale in directory.glob("*.rst"):
        if stale.stem not in wanted:
            stale.unlink()


def resolve(aliases: dict[str, str], target: str) -> str | None:
    """The documented name for ``target``: itself an alias, or a member of one
    (``milestonebill.engine.Biller.run`` -> ``...engine.biller.Biller.run``)."""
    head, rest = target, ""
    while head:
        canonical = aliases.get(head)
        if canonical is not None:
            found = canonical + rest
            return None if found == target else found
        head, _, last = head.rpartition(".")
        rest = f".{last}{rest}"
    return None


def by_short_name(documented: set[str], name: str, module: str | None) -> str | None:
    """The one documented name whose last part is ``name``: a short reference
    (``:class:`Proposal```) written in ``module``.  When several share it, the
    one whose module shares the longest prefix with ``module`` wins; a tie is
    no answer, so the reference stays broken and the strict build fails."""
    found = [d for d in documented if d.rpartition(".")[2] == name]
    if len(found) <= 1:
        return found[0] if found else None
    here = (module or "").split(".")

    def shared(d: str) -> int:
        n = 0
        for a, b in zip(d.split("."), here, strict=False):
            if a != b:
                break
            n += 1
        return n

    best = max(shared(d) for d in found)
    top = [d for d in found if shared(d) == best]
    return top[0] if len(top) == 1 else None


def setup(app: Any) -> dict[str, Any]:
    """Register the page writer and the alias resolver with Sphinx."""
    aliases: dict[str, str] = {}
    documented: set[str] = set()

    def on_init(app: Any) -> None:
        write_pages(Path(app.srcdir) / "reference")
        aliases.update(homes()[1])
        documented.update(aliases.values())

    def on_missing(app: Any, env: Any, node: Any, contnode: Any) -> Any:
        if node.get("refdomain") != "py":
            return None
        target = node.get("reftarget", "")
        canonical = resolve(aliases, target)
        if canonical is None and "." not in target:
            canonical = by_short_name(documented, target, node.get("py:module"))
        if canonical is None:
            return None
        domain = env.get_domain("py")
        for role in ("class", "func", "data", "obj", "exc", "meth", "attr"):
            found = domain.resolve_xref(env, node["refdoc"], app.builder, role,
                                        canonical, node, contnode)
            if found is not None:
                return found
        return None

    def on_docstring(app: Any, what: str, name: str, obj: Any, *args: Any) -> None:
        lines: list[str] = args[-1]
        # A constant without a doc comment would show its type's docstring
        # (``dict()`` -> new empty dictionary ...): show nothing instead.
        if what != "data":
            return
        if isinstance(obj, typing.NewType):
            base = getattr(obj.__supertype__, "__name__", str(obj.__supertype__))
            lines[:] = [f"An identifier: a ``{base}`` that the type checker keeps apart "
                        f"(``NewType('{obj.__name__}', {base})``).", ""]
        elif getattr(obj, "__doc__", None) == getattr(type(obj), "__doc__", 0):
            lines.clear()

    app.connect("builder-inited", on_init)
    app.connect("autodoc-process-docstring", on_docstring)
    app.connect("missing-reference", on_missing)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
