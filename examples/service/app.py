"""The HTTP endpoints: JSON in, JSON out, each a few lines over a Biller verb.

Every request body is read by :func:`milestonebill.formats.read` (problems
named by JSON path); every answer is a library value's ``to_json()`` (money
as ``{"amount", "currency"}``); every error is answered by
:func:`milestonebill.problems.problem_details` with the status of
:func:`milestonebill.problems.http_status`.  The Biller's calls block (a
database, the gateway), so each runs in Starlette's thread pool.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from examples.service.config import Service
from milestonebill import formats
from milestonebill.agreement import AgreementSummary
from milestonebill.engine import StoreBooks
from milestonebill.errors import NotFoundError, ValidationError
from milestonebill.ids import AgreementId, AmendmentId, InvoiceId, MilestoneId, ProposalId
from milestonebill.integrations.practice import (
    SIGNATURE_HEADER,
    import_time,
    karbon,
    keeper,
    parse_work_item,
    record_work_item,
)
from milestonebill.problems import http_status, problem_details
from milestonebill.proposals import ProposalSummary
from milestonebill.reports import REPORTS, run_report
from milestonebill.stores.base import WorkLink, parse_json_object

log = logging.getLogger("examples.service")

#: The header the gateway's webhook signature comes in (Stripe's; the in-memory
#: gateway signs the same way).
GATEWAY_SIGNATURE_HEADER = "Stripe-Signature"


@attrs.frozen
class Call:
    """One request as the handlers see it: path and query parameters, raw body, headers."""

    method: str
    path: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    headers: Mapping[str, str]

    @property
    def json(self) -> bytes:
        """The body to read as a request (an empty body is ``{}``: every field defaults)."""
        return self.body or b"{}"


Answer = tuple[int, Any]
Handler = Callable[[Service, Call], Answer]


# ---------------------------------------------------------------- proposals


def propose(s: Service, call: Call) -> Answer:
    record = s.biller.propose(formats.read("proposal", call.body))
    return 201, ProposalSummary.of(record).to_json()


def get_proposal(s: Service, call: Call) -> Answer:
    record = s.biller.load_proposal(ProposalId(call.path["proposal_id"]))
    return 200, ProposalSummary.of(record).to_json()


def proposal_step(s: Service, call: Call) -> Answer:
    pid, step = ProposalId(call.path["proposal_id"]), call.path["step"]
    req = formats.read("proposal_step", call.json)
    if step == "send":
        record = s.biller.send(pid, recipient=req.recipient, at=req.at)
    elif step == "view":
        record = s.biller.mark_viewed(pid, at=req.at)
    elif step == "decline":
        record = s.biller.decline(pid, reason=req.reason, at=req.at)
    elif step == "withdraw":
        record = s.biller.withdraw(pid, reason=req.reason, at=req.at)
    else:
        raise NotFoundError(f"no proposal step {step!r} (send, view, decline, withdraw)")
    return 200, ProposalSummary.of(record).to_json()


def onboard(s: Service, call: Call) -> Answer:
    req = formats.read("onboarding", call.json)
    a = s.biller.onboard(ProposalId(call.path["proposal_id"]), **req.arguments())
    return 200, AgreementSummary.of(a).to_json()


# ---------------------------------------------------------------- agreements


def _agreement(call: Call) -> AgreementId:
    return AgreementId(call.path["agreement_id"])


def _billed(s: Service, aid: AgreementId) -> Answer:
    """The agreement after billing what is due now, and what that billed."""
    billed = s.biller.bill(aid)
    return 200, {"agreement": AgreementSummary.of(s.biller.load(aid)).to_json(),
                 "billed": billed.to_json()}


def get_agreement(s: Service, call: Call) -> Answer:
    return 200, AgreementSummary.of(s.biller.load(_agreement(call))).to_json()


def complete(s: Service, call: Call) -> Answer:
    req, aid = formats.read("completion", call.json), _agreement(call)
    s.biller.complete_milestone(aid, MilestoneId(call.path["milestone_id"]), by=req.by,
                                completed_on=req.completed_on, evidence=req.evidence,
                                event_id=req.event_id, at=req.at)
    return _billed(s, aid)


def progress(s: Service, call: Call) -> Answer:
    req = formats.read("progress", call.json)
    a = s.biller.report_progress(_agreement(call), req.obligation_id, req.to_date,
                                 as_of=req.as_of, event_id=req.event_id, at=req.at)
    return 200, AgreementSummary.of(a).to_json()


def preview(s: Service, call: Call) -> Answer:
    req = formats.read("amendment_preview", call.json)
    quote = s.biller.preview_amendment(_agreement(call), req.amendment, as_of=req.as_of,
                                       through=req.through)
    return 200, quote.to_json()


def amend(s: Service, call: Call) -> Answer:
    req, aid = formats.read("amendment_request", call.json), _agreement(call)
    s.biller.propose_amendment(aid, req.amendment, by=req.by, at=req.at)
    return _billed(s, aid)


def approve(s: Service, call: Call) -> Answer:
    req, aid = formats.read("amendment_decision", call.json), _agreement(call)
    s.biller.approve_amendment(aid, AmendmentId(call.path["amendment_id"]), by=req.by,
                               at=req.at)
    return _billed(s, aid)


def get_invoice(s: Service, call: Call) -> Answer:
    iid = InvoiceId(call.path["invoice_id"])
    a = s.biller.agreement_of(iid)
    return 200, {"agreement_id": a.id, "balance": a.balance_of(iid).to_json(),
                 "invoice": a.invoice(iid).to_json()}


# ---------------------------------------------------------------- the firm


def run(s: Service, call: Call) -> Answer:
    req = formats.read("billing_run", call.json)
    done = s.biller.dry_run(req.as_of) if req.dry_run else s.biller.run(req.as_of)
    return 200, done.to_json()


def recognise(s: Service, call: Call) -> Answer:
    req = formats.read("recognition_run", call.json)
    return 200, s.biller.recognise(req.as_of).to_json()


def reconcile(s: Service, call: Call) -> Answer:
    return 200, {"reconciled": [c.to_json() for c in s.biller.reconcile()]}


def list_reports(s: Service, call: Call) -> Answer:
    return 200, {"reports": [{"name": r.name, "summary": r.summary,
                              "parameters": list(r.parameters), "required": list(r.required)}
                             for r in REPORTS.values()]}


def report(s: Service, call: Call) -> Answer:
    table = run_report(call.path["name"], StoreBooks(s.store), call.query,
                       today=s.clock.today(), policy=s.biller.retry_policy)
    return 200, table.to_json()


def schema(s: Service, call: Call) -> Answer:
    return 200, formats.schema(call.path["name"])


# ---------------------------------------------------------------- webhooks


def gateway_webhook(s: Service, call: Call) -> Answer:
    event = s.gateway.parse_webhook(call.body, call.headers.get(GATEWAY_SIGNATURE_HEADER, ""),
                                    s.clock.now())
    if event is None:
        return 200, {"ignored": True}
    recorded = s.biller.apply_gateway_event(event)
    return 200, {"event_id": event.event_id, "recorded": [e.event_id for e in recorded]}


def practice_webhook(s: Service, call: Call) -> Answer:
    if s.pm_secret is None:
        raise NotFoundError("the practice-management webhook is not configured")
    item = parse_work_item(call.body, call.headers.get(SIGNATURE_HEADER, ""),
                           secret=s.pm_secret, now=s.clock.now())
    return 200, record_work_item(s.biller, item, s.pm_links).to_json()


def karbon_webhook(s: Service, call: Call) -> Answer:
    if s.karbon_signing_key is None or s.karbon_reader is None:
        raise NotFoundError("the Karbon webhook is not configured")
    receipt = karbon.receive_notification(
        s.biller, call.body, call.headers.get(karbon.SIGNATURE_HEADER, ""),
        signing_key=s.karbon_signing_key, now=s.clock.now(), fetch_work_item=s.karbon_reader)
    return 200, receipt.to_json()


def keeper_webhook(s: Service, call: Call) -> Answer:
    if s.keeper_secret is None:
        raise NotFoundError("the Keeper webhook is not configured")
    receipt = keeper.receive_delivery(s.biller, call.body,
                                      call.headers.get(keeper.SIGNATURE_HEADER, ""),
                                      secret=s.keeper_secret, now=s.clock.now())
    return 200, receipt.to_json()


# ---------------------------------------------------------------- work links and time


def list_links(s: Service, call: Call) -> Answer:
    agreement = call.query.get("agreement_id")
    links = s.biller.work_links(source=call.query.get("source"),
                                agreement_id=None if agreement is None else AgreementId(agreement))
    return 200, {"links": [link.to_json() for link in links]}


def add_link(s: Service, call: Call) -> Answer:
    link = WorkLink.from_json(parse_json_object(call.json, "link"))
    stored = s.biller.link_work(link.source, link.external_id, link.agreement_id,
                                milestone_id=link.milestone_id, obligation_id=link.obligation_id)
    return 201, stored.to_json()


def remove_link(s: Service, call: Call) -> Answer:
    gone = s.biller.unlink_work(call.path["source"], call.path["external_id"])
    return 200, {"removed": None if gone is None else gone.to_json()}


def time_entries(s: Service, call: Call) -> Answer:
    try:
        text = call.body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("body", "a UTF-8 CSV export", "[bytes]") from None
    result = import_time(s.biller, io.StringIO(text),
                         source_name=call.query.get("source", "bigtime"),
                         date_format=call.query.get("date_format"),
                         dry_run=call.query.get("dry_run", "false") == "true")
    return (200 if result.ok else 422), result.to_json()


def no_endpoint(s: Service, call: Call) -> Answer:
    raise NotFoundError(f"no endpoint {call.method} /{call.path['rest']}")


# ---------------------------------------------------------------- the application


def problem(request: Request, exc: Exception) -> Response:
    """``exc`` answered as RFC 9457 problem details; an unexpected error is logged with
    its traceback here and shown to the client only as 'internal error'."""
    status = http_status(exc)
    if status == 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(problem_details(exc, instance=request.url.path), status_code=status,
                        media_type="application/problem+json")


def endpoint(service: Service, handler: Handler) -> Callable[[Request], Any]:
    """``handler`` as a Starlette endpoint: reads the request, runs it off the event
    loop, and answers with its JSON or with problem details."""

    async def respond(request: Request) -> Response:
        try:
            call = Call(request.method, request.path_params, dict(request.query_params),
                        await request.body(), request.headers)
            status, data = await run_in_threadpool(handler, service, call)
        except Exception as exc:
            return problem(request, exc)
        return JSONResponse(data, status_code=status)

    return respond


ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("POST", "/proposals", propose),
    ("GET", "/proposals/{proposal_id}", get_proposal),
    ("POST", "/proposals/{proposal_id}/onboard", onboard),
    ("POST", "/proposals/{proposal_id}/{step}", proposal_step),
    ("GET", "/agreements/{agreement_id}", get_agreement),
    ("POST", "/agreements/{agreement_id}/milestones/{milestone_id}/complete", complete),
    ("POST", "/agreements/{agreement_id}/progress", progress),
    ("POST", "/agreements/{agreement_id}/amendments/preview", preview),
    ("POST", "/agreements/{agreement_id}/amendments", amend),
    ("POST", "/agreements/{agreement_id}/amendments/{amendment_id}/approve", approve),
    ("GET", "/invoices/{invoice_id}", get_invoice),
    ("POST", "/run", run),
    ("POST", "/recognise", recognise),
    ("POST", "/reconcile", reconcile),
    ("GET", "/reports", list_reports),
    ("GET", "/reports/{name}", report),
    ("GET", "/schemas/{name}", schema),
    ("POST", "/webhooks/gateway", gateway_webhook),
    ("POST", "/webhooks/practice", practice_webhook),
    ("POST", "/webhooks/karbon", karbon_webhook),
    ("POST", "/webhooks/keeper", keeper_webhook),
    ("GET", "/links", list_links),
    ("POST", "/links", add_link),
    ("DELETE", "/links/{source}/{external_id:path}", remove_link),
    ("POST", "/time-entries", time_entries),
)


def create_app(service: Service) -> Starlette:
    """The Starlette application serving ``service``."""
    routes = [Route(path, endpoint(service, handler), methods=[method])
              for method, path, handler in ROUTES]
    routes.append(Route("/{rest:path}", endpoint(service, no_endpoint),
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    app = Starlette(routes=routes)
    app.state.service = service
    return app
