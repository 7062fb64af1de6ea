"""The documented file formats: proposals, agreements, amendments, engagements.

Each format is the JSON form of one value class, written and read by the
library's one JSON mechanism (money as ``{"amount": "12.30", "currency":
"USD"}``, decimals and dates as strings, enums by lower-case name, unions
tagged with ``"type"``, fields with defaults optional, unknown keys
refused), and each has a JSON Schema (draft 2020-12) generated from the same
type hints, so the schema and the reader cannot disagree:

========================  ======================================================
``proposal``              a :class:`~milestonebill.agreement.Proposal`
``agreement``             an agreement as signed (:class:`SignedTerms`): read as
                          an :class:`~milestonebill.agreement.Agreement`
``amendment``             an :class:`~milestonebill.agreement.Amendment`
``engagement``            an :class:`~milestonebill.engagement.Engagement`
========================  ======================================================

:func:`read` checks the data against the schema first (with ``jsonschema``,
imported only then) and reports every problem with its JSON path, then
builds the value, whose own checks name the path too.  :func:`write` is the
inverse; :func:`schema` and :func:`schema_text` give the schemas, which are
also shipped as ``milestonebill/schemas/<name>.json``.  TOML is read by
:func:`read_toml` (its dates may be written bare).  See ``docs/formats.md``.

The same functions read the request bodies of a service that wraps the
Biller (:data:`REQUESTS`, the values of :mod:`milestonebill.requests`:
``onboarding``, ``completion``, ``billing_run``...), so a service never
checks JSON by hand; their schemas come from :func:`schema` (no file is
shipped for them).

>>> amendment = read("amendment", {"id": "am-1", "operations": [
...     {"type": "RescheduleMilestone", "effective": "2026-05-01",
...      "milestone_id": "launch", "due_on": "2026-06-01"}]})
>>> amendment.effective, write(amendment)["operations"][0]["due_on"]
(datetime.date(2026, 5, 1), '2026-06-01')
>>> read("amendment", {"id": "am-1", "operations": [
...     {"type": "ChangeMilestoneAmount", "effective": "2026-05-01",
...      "milestone_id": "launch", "amount": {"amount": 12.5, "currency": "USD"}}]})
Traceback (most recent call last):
...
milestonebill.errors.ValidationError: 'operations[0].amount.amount' must be a decimal string such as '12.30' (got 12.5)
"""

from __future__ import annotations

import copy
import functools
import json
import tomllib
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any, Final, Literal, overload

import attrs

from milestonebill._json import CODEC, decode, encode
from milestonebill._validate import raise_all, utc_datetime
from milestonebill.agreement import (
    Agreement,
    AgreementId,
    Amendment,
    PaymentMethodRef,
    Proposal,
    Signed,
    sign,
)
from milestonebill.engagement import Engagement
from milestonebill.errors import ValidationError
from milestonebill.requests import (
    AmendmentDecision,
    AmendmentRequest,
    BillingRun,
    MilestoneCompletion,
    Onboarding,
    PreviewRequest,
    ProgressReport,
    ProposalStep,
    RecognitionRun,
    Request,
    WorkItemCompleted,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaError

__all__ = [
    "REQUESTS",
    "SCHEMAS",
    "SignedTerms",
    "read",
    "read_toml",
    "schema",
    "schema_text",
    "write",
]

#: The names of the formats, for :func:`schema`, :func:`read` and ``milestonebill schema``.
SCHEMAS: Final = ("agreement", "amendment", "engagement", "proposal")
#: The request bodies of a service wrapping the Biller (:mod:`milestonebill.requests`).
REQUESTS: Final = ("amendment_decision", "amendment_preview", "amendment_request",
                   "billing_run", "completion", "onboarding", "progress", "proposal_step",
                   "recognition_run", "work_item_completed")


def _signed_at(value: object) -> datetime:
    return utc_datetime(value, "signed_at")


def _addon_ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError("addons", "a list of add-on ids, not one string", value)
    return tuple(value)


@attrs.frozen
class SignedTerms:
    """An agreement as it was signed: the ``agreement`` format.

    The proposal, the package ``option`` chosen, the ``addons`` taken, who
    signed and when, and the payment method reference (gateway ids only; it
    is required when the proposal charges automatically).  :meth:`sign`
    gives the :class:`~milestonebill.agreement.Agreement` (its ``Signed``
    event has the default event id, so the same terms always give the same
    agreement); :meth:`of` takes the terms back from one.
    """

    agreement_id: AgreementId
    proposal: Proposal
    option: str
    signer: str
    signed_at: datetime = attrs.field(converter=_signed_at)
    payment_method: PaymentMethodRef | None = None
    addons: tuple[str, ...] = attrs.field(default=(), converter=_addon_ids)

    def __attrs_post_init__(self) -> None:
        problems: list[ValidationError] = []
        options = [o.id for o in self.proposal.options]
        if self.option not in options:
            problems.append(ValidationError("option", f"one of the proposal's options {options}",
                                            self.option))
        offered = [a.id for a in self.proposal.addons]
        for i, addon in enumerate(self.addons):
            if addon not in offered:
                problems.append(ValidationError(f"addons[{i}]",
                                                f"one of the proposal's add-ons {offered}", addon))
            elif addon in self.addons[:i]:
                problems.append(ValidationError(f"addons[{i}]", "an add-on not already taken",
                                                addon))
        until = self.proposal.valid_until
        if until is not None and self.signed_at.date() > until:
            problems.append(ValidationError(
                "signed_at", f"on or before the proposal's valid_until {until.isoformat()}",
                self.signed_at.isoformat()))
        raise_all(problems)

    def sign(self) -> Agreement:
        """The agreement these terms make (see :func:`~milestonebill.agreement.sign`).

        >>> from milestonebill.agreement import Collection
        >>> from milestonebill.testing.scenarios import proposal
        >>> offer = proposal([("launch", "1000.00")], collection=Collection.SEND_INVOICE)
        >>> terms = SignedTerms(AgreementId("agr-7"), offer, "std", "Ada",
        ...                     datetime.fromisoformat("2026-03-02T09:30:00+00:00"))
        >>> a = terms.sign()
        >>> a.id, a.version, SignedTerms.of(a) == terms
        ('agr-7', 1, True)
        """
        return sign(self.proposal, option=self.option, signer=self.signer,
                    signed_at=self.signed_at, payment_method=self.payment_method,
                    agreement_id=self.agreement_id, addons=self.addons)

    @classmethod
    def of(cls, agreement: Agreement) -> SignedTerms:
        """The terms ``agreement`` was signed on (later events are not part of them).

        Raises :class:`~milestonebill.errors.ValidationError` naming
        ``agreement`` when its first event is not ``Signed``.
        """
        first = agreement.events[0]
        if not isinstance(first, Signed):  # pragma: no cover - an Agreement starts signed
            raise ValidationError("agreement", "an agreement that starts with Signed", first)
        return cls(first.agreement_id, first.proposal, first.option_id, first.signer,
                   first.effective_at, first.payment_method, first.addon_ids)


_TYPES: Final[dict[str, type]] = {
    "agreement": SignedTerms,
    "amendment": Amendment,
    "engagement": Engagement,
    "proposal": Proposal,
    "amendment_decision": AmendmentDecision,
    "amendment_preview": PreviewRequest,
    "amendment_request": AmendmentRequest,
    "billing_run": BillingRun,
    "completion": MilestoneCompletion,
    "onboarding": Onboarding,
    "progress": ProgressReport,
    "proposal_step": ProposalStep,
    "recognition_run": RecognitionRun,
    "work_item_completed": WorkItemCompleted,
}
_DESCRIPTIONS: Final = {
    "agreement": "An agreement as signed: the proposal, the package option and add-ons "
                 "chosen, the signer, when, and the payment method reference.",
    "amendment": "An amendment to an agreement: typed operations, applied in order.",
    "engagement": "A billing schedule with the facts that date its milestones: when it "
                  "was signed and when milestones were completed.",
    "proposal": "What is offered to a client: package options, add-ons, validity and "
                "approval rules.",
    "amendment_decision": "A pending amendment approved: by whom and when.",
    "amendment_preview": "An amendment to price, as if approved on a day, before anything "
                         "is stored.",
    "amendment_request": "An amendment proposed to an agreement: the amendment, by whom "
                         "and when.",
    "billing_run": "Bill what is due by a day, or with dry_run only say what would be billed.",
    "completion": "A milestone delivered: by whom, on which day, with what evidence.",
    "onboarding": "A stored proposal signed for a client in one call: the option chosen, "
                  "the signer, the gateway customer and the payment method.",
    "progress": "Hours, costs or units delivered to date on an obligation measured by input.",
    "proposal_step": "A proposal sent, viewed, declined or withdrawn.",
    "recognition_run": "Post the revenue earned by the end of a day.",
    "work_item_completed": "A practice-management tool's notification that a work item "
                           "was completed, and the milestone it delivers.",
}


def _known(name: object) -> str:
    if not isinstance(name, str) or name not in _TYPES:
        raise ValidationError("name", f"one of {', '.join(map(repr, SCHEMAS + REQUESTS))}",
                              name)
    return name


@functools.cache
def _generated(name: str) -> dict[str, Any]:
    return CODEC.schema(_TYPES[name], title=f"milestonebill {name}",
                        description=_DESCRIPTIONS[name])


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the format ``name`` (one of :data:`SCHEMAS`).

    >>> s = schema("proposal")
    >>> s["$schema"], s["$ref"], s["$defs"]["Money"]["properties"]["amount"]["type"]
    ('https://json-schema.org/draft/2020-12/schema', '#/$defs/Proposal', 'string')
    >>> schema("invoice")
    Traceback (most recent call last):
    ...
    milestonebill.errors.ValidationError: 'name' must be one of 'agreement', 'amendment', 'engagement', 'proposal', 'amendment_decision', 'amendment_preview', 'amendment_request', 'billing_run', 'completion', 'onboarding', 'progress', 'proposal_step', 'recognition_run', 'work_item_completed' (got 'invoice')
    """
    return copy.deepcopy(_generated(_known(name)))


def schema_text(name: str) -> str:
    """The schema of ``name`` as the text shipped in ``milestonebill/schemas/<name>.json``.

    >>> schema_text("amendment").splitlines()[1]
    '  "$schema": "https://json-schema.org/draft/2020-12/schema",'
    """
    return json.dumps(schema(name), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- reading


@overload
def read(name: Literal["proposal"], data: object) -> Proposal: ...
@overload
def read(name: Literal["agreement"], data: object) -> Agreement: ...
@overload
def read(name: Literal["amendment"], data: object) -> Amendment: ...
@overload
def read(name: Literal["engagement"], data: object) -> Engagement: ...
@overload
def read(name: Literal["amendment_decision"], data: object) -> AmendmentDecision: ...
@overload
def read(name: Literal["amendment_preview"], data: object) -> PreviewRequest: ...
@overload
def read(name: Literal["amendment_request"], data: object) -> AmendmentRequest: ...
@overload
def read(name: Literal["billing_run"], data: object) -> BillingRun: ...
@overload
def read(name: Literal["completion"], data: object) -> MilestoneCompletion: ...
@overload
def read(name: Literal["onboarding"], data: object) -> Onboarding: ...
@overload
def read(name: Literal["progress"], data: object) -> ProgressReport: ...
@overload
def read(name: Literal["proposal_step"], data: object) -> ProposalStep: ...
@overload
def read(name: Literal["recognition_run"], data: object) -> RecognitionRun: ...
@overload
def read(name: Literal["work_item_completed"], data: object) -> WorkItemCompleted: ...
@overload
def read(name: str, data: object) -> Proposal | Agreement | Amendment | Engagement | Request: ...


def read(name: str, data: object) -> Proposal | Agreement | Amendment | Engagement | Request:
    """The value the JSON ``data`` (parsed, or JSON text) is the ``name`` format of.

    Every problem the schema finds is reported at once, each a
    :class:`~milestonebill.errors.ValidationError` whose ``field`` is its
    JSON path (several are raised together as an ``InvalidInputError``);
    then the value's own checks run.  ``agreement`` gives the signed
    :class:`~milestonebill.agreement.Agreement`.

    >>> read("engagement", '{"schedule": {"currency": "EUR"}, "client": "Acme"}').client
    'Acme'
    >>> read("engagement", {"schedule": {"currency": "eur"}, "signed": "2025-01-15"})
    Traceback (most recent call last):
    ...
    milestonebill.errors.InvalidInputError: 2 problems: 'schedule.currency' must be an ISO 4217 code such as 'USD' (got 'eur'); 'signed' must be a field of Engagement (got 'signed')
    """
    name = _known(name)
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValidationError(name, "JSON text", str(exc)) from None
        except RecursionError:
            raise ValidationError(name, "JSON text", "nested too deeply to read") from None
    raise_all(_problems(name, _validator(name).iter_errors(data)))
    value = decode(data, _TYPES[name])
    if isinstance(value, SignedTerms):
        return value.sign()
    return value  # type: ignore[no-any-return]


def read_toml(name: str, text: str
              ) -> Proposal | Agreement | Amendment | Engagement | Request:
    """Like :func:`read`, from TOML text.  TOML's own dates and times are taken as
    their ISO text; it has no null, so leave out what has no value.

    Raises :class:`~milestonebill.errors.ValidationError` naming the kind for text
    that is not TOML (or is nested too deeply), and whatever :func:`read` raises for
    the data.

    >>> read_toml("engagement", '''
    ... engagement = "Audit"
    ... signed_on = 2025-01-15
    ... [schedule]
    ... currency = "EUR"
    ... [[schedule.milestones]]
    ... id = "fieldwork"
    ... name = "Fieldwork"
    ... amount = {amount = "9000.00", currency = "EUR"}
    ... ''').signed_on
    datetime.date(2025, 1, 15)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(_known(name), "TOML text", str(exc)) from None
    except RecursionError:
        raise ValidationError(_known(name), "TOML text", "nested too deeply to read") from None
    return read(name, _iso_dates(data))


def _iso_dates(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _iso_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso_dates(v) for v in value]
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    return value


def write(value: Proposal | Agreement | SignedTerms | Amendment | Engagement | Request
          ) -> dict[str, Any]:
    """The JSON form of ``value`` (an agreement is written as its :class:`SignedTerms`).

    Raises :class:`~milestonebill.errors.ValidationError` naming ``value`` for a
    type this module does not write.

    >>> from milestonebill.testing.scenarios import proposal
    >>> offer = proposal([("launch", "1000.00")])
    >>> data = write(offer)
    >>> data["options"][0]["schedule"]["milestones"][0]["amount"]
    {'amount': '1000.00', 'currency': 'USD'}
    >>> read("proposal", data) == offer
    True
    """
    if isinstance(value, Agreement):
        value = SignedTerms.of(value)
    if not isinstance(value, tuple(_TYPES.values())):
        raise ValidationError("value", "a Proposal, Agreement, SignedTerms, Amendment, "
                              "Engagement or a request value", type(value).__name__)
    return encode(value)  # type: ignore[no-any-return]


# ---------------------------------------------------------------- schema errors


@functools.cache
def _validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_generated(name))


def _field(name: str, path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or name


_TYPE_WORDS: Final = {"string": "a string", "integer": "a whole number",
                      "boolean": "true or false", "array": "a list", "null": "null",
                      "number": "a number"}


def _problems(name: str, errors: Iterable[SchemaError]) -> list[ValidationError]:
    """Each schema error as the library's error, once each, by path (list items in order)."""
    found: dict[tuple[str, str], tuple[list[tuple[int, int, str]], ValidationError]] = {}
    for error in errors:
        for leaf in _leaves(error):
            for path, problem in _problem(name, leaf):
                order = [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in path]
                found.setdefault((problem.field, problem.expected), (order, problem))
    return [problem for _order, problem in sorted(found.values(), key=lambda x: x[0])]


def _leaves(error: SchemaError) -> list[SchemaError]:
    """The errors that say what is wrong: inside ``X or null``, the errors of ``X``."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    rule: Any = error.validator_value
    options: list[Any] = list(rule)
    branches: dict[int, list[SchemaError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    if error.instance is not None:
        branches = {i: errs for i, errs in branches.items() if options[i] != {"type": "null"}}
    if len(branches) == 1:
        return [leaf for sub in next(iter(branches.values())) for leaf in _leaves(sub)]
    from jsonschema.exceptions import best_match

    best = best_match(error.context)
    return [best] if best is not None else [error]


def _problem(name: str, e: SchemaError) -> list[tuple[list[str | int], ValidationError]]:
    """``e`` as the library's errors, each with its path (a missing or unknown key is
    one error per key, at the key's path)."""
    here: list[str | int] = list(e.absolute_path)
    schema_: dict[str, Any] = e.schema if isinstance(e.schema, dict) else {}
    rule: Any = e.validator_value
    if e.validator == "required" and isinstance(e.instance, dict):
        return [([*here, k], ValidationError(_field(name, [*here, k]), "present", None))
                for k in rule if k not in e.instance]
    if e.validator == "additionalProperties" and isinstance(e.instance, dict):
        known = schema_.get("properties", {})
        owner = schema_.get("title", "this object")
        return [([*here, k], ValidationError(_field(name, [*here, k]), f"a field of {owner}", k))
                for k in sorted(e.instance) if k not in known]
    title = schema_.get("title")
    if e.validator in ("type", "pattern") and "pattern" in schema_:
        expected = str(schema_.get("description", f"text matching {schema_['pattern']}"))
    elif e.validator == "type" and title == "Money":
        expected = "an object with 'amount' and 'currency'"
    elif e.validator == "type" and rule == "object":
        expected = f"an object for {title}" if title else "an object"
    elif e.validator in ("minItems", "maxItems") and "prefixItems" in schema_:
        expected = f"a list of {len(schema_['prefixItems'])} items"
    elif e.validator == "type":
        expected = _TYPE_WORDS.get(str(rule), f"of type {rule}")
    elif e.validator == "enum":
        expected = "one of " + ", ".join(repr(v) for v in rule)
    elif e.validator == "const":
        expected = repr(rule)
    else:
        expected = e.message
    return [(here, ValidationError(_field(name, here), expected, e.instance))]
