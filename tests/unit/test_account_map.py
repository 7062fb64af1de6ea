"""The chart-of-accounts map: read from JSON, every problem named by its field."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from milestonebill.documents import TaxLine
from milestonebill.errors import InvalidInputError, ValidationError
from milestonebill.integrations.accounts import (
    AccountMap,
    Ref,
    account_map_schema,
    read_account_map,
)
from milestonebill.ledger import Account, EntryId, JournalEntry, JournalLine
from milestonebill.money import Currency, Money

MAP: dict[str, Any] = {
    "accounts": {"receivable": {"id": "1100", "name": "Accounts Receivable"},
                 "contract_liability": {"id": "2300"}, "revenue": {"id": "4000"},
                 "clearing": {"id": "1190"}},
    "revenue": {"audit": {"id": "4010", "name": "Audit fees"}},
    "customers": {"Northwind": {"id": "58"}},
    "tax_rates": {"VAT": {"id": "OUTPUT2", "name": "20% (VAT on Income)"}},
    "no_tax": {"id": "NONE", "name": "No VAT"},
    "item": {"id": "1", "name": "Services"},
    "currency": "GBP",
    "chart": ["1100", "1190", "2300", "4000", "4010"],
}


def entry(eid: str, *lines: JournalLine, obligation: str | None = None) -> JournalEntry:
    return JournalEntry(EntryId(eid), date(2026, 3, 31), lines, agreement_id="agr-1",
                        obligation_id=obligation)


def gbp(amount: str) -> Money:
    return Money(amount, "GBP")


def test_a_map_file_is_read_with_its_aliases_and_written_back_in_the_canonical_form() -> None:
    amap = AccountMap.from_json(json.dumps(MAP))
    assert amap.ref(Account.DEFERRED_REVENUE) == Ref("2300")
    written = amap.to_json()
    assert (written["accounts"]["deferred_revenue"], "contract_liability" in written["accounts"],
            AccountMap.from_json(written) == amap) == ({"id": "2300", "name": ""}, False, True)


def test_the_schema_accepts_what_the_map_writes() -> None:
    written = AccountMap.from_json(MAP).to_json()
    jsonschema.Draft202012Validator(account_map_schema()).validate(written)


def test_an_account_the_library_does_not_have_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as err:
        AccountMap.from_json({"accounts": {"recievable": {"id": "1100"}}})
    assert err.value.field == "accounts"
    assert "recievable" in str(err.value)


def test_giving_the_contract_liability_under_both_names_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        AccountMap.from_json({"accounts": {"contract_liability": {"id": "2300"},
                                           "deferred_revenue": {"id": "2301"}}})
    assert err.value.field == "accounts.contract_liability"


def test_a_mapped_account_missing_from_the_chart_is_refused_naming_the_field() -> None:
    bad = {**MAP, "accounts": {**MAP["accounts"], "cash": {"id": "1000"}},
           "revenue": {"audit": {"id": "4999"}}}
    with pytest.raises(InvalidInputError) as err:
        AccountMap.from_json(bad)
    assert [(p.field, p.value) for p in err.value.problems] == [
        ("accounts.cash.id", "1000"), ("revenue.audit.id", "4999")]


def test_a_ref_without_an_id_is_refused_with_its_path() -> None:
    with pytest.raises(ValidationError) as err:
        AccountMap.from_json({"accounts": {"cash": {"name": "Bank"}}})
    assert err.value.field == "accounts.cash.id"


def test_every_account_the_entries_post_and_the_map_lacks_is_named_at_once() -> None:
    amap = AccountMap.from_json(MAP)
    fee = entry("inv-1:payment:1", JournalLine.dr(Account.CLEARING, gbp("97.00")),
                JournalLine.dr(Account.GATEWAY_FEES, gbp("3.00")),
                JournalLine.cr(Account.RECEIVABLE, gbp("100.00")))
    cash = entry("inv-2:payment:manual:w1", JournalLine.dr(Account.CASH, gbp("10.00")),
                 JournalLine.cr(Account.RECEIVABLE, gbp("10.00")))
    with pytest.raises(InvalidInputError) as err:
        amap.check([fee, cash, fee])
    assert [(p.field, "inv-1:payment:1" in str(p) or "inv-2" in str(p))
            for p in err.value.problems] == [("accounts.cash", True),
                                              ("accounts.gateway_fees", True)]


def test_an_obligations_own_revenue_account_is_used_and_the_rest_earn_into_revenue() -> None:
    amap = AccountMap.from_json(MAP)
    earned = entry("agr-1:revenue:audit:000001",
                   JournalLine.dr(Account.CONTRACT_LIABILITY, gbp("50.00")),
                   JournalLine.cr(Account.REVENUE, gbp("50.00")), obligation="audit")
    amap.check([earned])
    assert (amap.ref(Account.REVENUE, "audit").id, amap.ref(Account.REVENUE, "other").id,
            amap.ref(Account.REVENUE).id) == ("4010", "4000", "4000")


def test_a_document_of_one_rate_gets_its_code_and_one_of_none_the_no_tax_code() -> None:
    amap = AccountMap.from_json(MAP)
    vat = TaxLine("VAT", Decimal("0.2"), gbp("100.00"), gbp("20.00"))
    assert (amap.tax((vat,), "inv-1"), amap.tax((), "inv-1")) == (
        Ref("OUTPUT2", "20% (VAT on Income)"), Ref("NONE", "No VAT"))


def test_an_unmapped_rate_or_several_rates_on_one_document_are_refused() -> None:
    amap = AccountMap.from_json(MAP)
    gst = TaxLine("GST", Decimal("0.1"), gbp("100.00"), gbp("10.00"))
    vat = TaxLine("VAT", Decimal("0.2"), gbp("100.00"), gbp("20.00"))
    with pytest.raises(ValidationError) as unmapped:
        amap.tax((gst,), "inv-1")
    with pytest.raises(ValidationError) as several:
        amap.tax((vat, gst), "inv-1")
    assert (unmapped.value.field, several.value.field) == ("tax_rates.GST", "inv-1.tax_lines")


def test_a_map_file_is_read_from_disk_and_an_unreadable_one_named(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(json.dumps(MAP), encoding="utf-8")
    assert read_account_map(path).currency == Currency.of("GBP")
    with pytest.raises(ValidationError) as err:
        read_account_map(tmp_path / "missing.json")
    assert err.value.field == "accounts"
    assert "missing.json" in str(err.value)


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        AccountMap.from_json("{accounts: }")
    assert err.value.field == "account map"


ids = st.text(st.characters(codec="utf-8", categories=["L", "N", "P"]), min_size=1,
              max_size=12)


@given(st.dictionaries(st.sampled_from(list(Account)), st.builds(Ref, ids), min_size=1),
       st.dictionaries(ids, st.builds(Ref, ids), max_size=3))
def test_any_map_survives_its_json_round_trip(accounts: dict[Account, Ref],
                                              customers: dict[str, Ref]) -> None:
    amap = AccountMap(accounts, customers=customers)
    assert AccountMap.from_json(json.dumps(amap.to_json())) == amap
