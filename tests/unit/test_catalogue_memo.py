"""``Catalogue.of`` is worked out once per proposal object and read-only."""

from __future__ import annotations

import gc

import pytest

from milestonebill.agreement.draft import _CATALOGUES, Catalogue
from milestonebill.testing.scenarios import proposal


def test_the_same_proposal_gets_the_same_catalogue_and_an_equal_one_its_own() -> None:
    p = proposal([("design", "4000.00"), ("build", "6000.00")])
    twin = proposal([("design", "4000.00"), ("build", "6000.00")])
    assert p == twin
    assert p is not twin
    first = Catalogue.of(p)
    assert Catalogue.of(p) is first
    other = Catalogue.of(twin)
    assert other is not first
    assert other.options.keys() == first.options.keys()
    assert other.options["std"] == first.options["std"]


def test_a_catalogue_cannot_be_changed_by_whoever_reads_it() -> None:
    c = Catalogue.of(proposal([("design", "4000.00")]))
    with pytest.raises(TypeError):
        c.options["other"] = ((), ())  # type: ignore[index]
    with pytest.raises(TypeError):
        c.plans["std"] = ()  # type: ignore[index]


def test_a_catalogue_is_let_go_with_its_proposal() -> None:
    p = proposal([("design", "4000.00")])
    Catalogue.of(p)
    key = id(p)
    assert key in _CATALOGUES
    del p
    gc.collect()
    assert key not in _CATALOGUES
