"""Receivables, financing offers, exposure limits, buyer-led programmes and open-account
payment: the API (thin; the rules live in receivables.py, financing.py, limits.py,
programmes.py and settlement.py)."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint

from concord import db, policy
from concord.api_common import PageArgsSchema, page_of, page_response
from concord.auth.web import current_principal
from concord.finance import financing, limits, programmes, receivables, settlement
from concord.finance import financing_schemas as schemas
from concord.finance.models import ExposureLimit, FinancingOffer, FinancingProgramme, Receivable
from concord.pagination import check_cursor

financing_api = Blueprint(
    "financing",
    __name__,
    url_prefix="/api/v1",
    description="Receivables registered on chain, financing offers from financier partners, exposure limits, buyer-led programmes and open-account payment.",
)
BLUEPRINTS = [financing_api]
OFFER_KEYS = [FinancingOffer.requested_at, FinancingOffer.id]


def _shown_offer(offer: FinancingOffer) -> dict:
    return financing.shown_offer(db.session(), current_principal(), offer)


def _shown_receivable(receivable: Receivable) -> dict:
    return financing.shown_receivable(db.session(), current_principal(), receivable)


def _shown_programme(programme: FinancingProgramme) -> dict:
    session, principal = db.session(), current_principal()
    return {
        **{
            key: getattr(programme, key)
            for key in (
                "id",
                "buyer_org_id",
                "financier_org_id",
                "currency",
                "state",
                "discount_rate",
                "limit_amount",
                "state_reason",
                "decided_at",
                "created_at",
            )
        },
        "outstanding": programmes.programme_outstanding(session, programme.id),
        "allowed_actions": programmes.allowed_actions(programme, programmes.side_of(programme, principal)),
    }


# -- receivables ------------------------------------------------------------------------------------


@financing_api.route("/invoices/<uuid:invoice_id>/receivable")
class InvoiceReceivable(MethodView):
    @financing_api.response(201, schemas.ReceivableSchema)
    def post(self, invoice_id: uuid.UUID):
        """Register the invoice as a receivable on chain (its supplier): a matched invoice whose
        order's escrow is still open, or an approved open-account invoice. The fingerprint
        (issuer, debtor, number, amount, currency, due date; bound to the chain and the
        registry) is registered once across every platform on the chain."""
        return _shown_receivable(receivables.register_invoice(db.session(), current_principal(), invoice_id))


@financing_api.route("/invoices/<uuid:invoice_id>/pay")
class InvoicePay(MethodView):
    @financing_api.response(202, schemas.ReceivableSchema)
    def post(self, invoice_id: uuid.UUID):
        """Pay an approved open-account invoice on chain (its buyer), at the due date or early:
        the tokens go to whoever holds the receivable then. Paid once the chain confirms it."""
        return _shown_receivable(settlement.pay_invoice(db.session(), current_principal(), invoice_id))


@financing_api.route("/invoices/<uuid:invoice_id>/early-payment")
class InvoiceEarlyPayment(MethodView):
    @financing_api.response(201, schemas.OfferSchema)
    def post(self, invoice_id: uuid.UUID):
        """Take early payment on an invoice the buyer approved (its supplier), under the
        buyer's open programme: the programme financier's offer, at the programme's terms,
        is made and accepted at once."""
        return _shown_offer(programmes.early_payment(db.session(), current_principal(), invoice_id))


@financing_api.route("/receivables")
class Receivables(MethodView):
    @financing_api.arguments(schemas.ReceivableFilterSchema, location="query")
    @financing_api.response(200, page_of(schemas.ReceivableSchema))
    def get(self, args):
        """Receivables you issued, owe, hold, or were asked to finance, newest first."""
        query = financing.receivables_query(current_principal(), state=args["state"])
        return page_response(query, [Receivable.created_at, Receivable.id], args, transform=_shown_receivable)


@financing_api.route("/receivables/<uuid:receivable_id>")
class ReceivableItem(MethodView):
    @financing_api.response(200, schemas.ReceivableDetailSchema)
    def get(self, receivable_id: uuid.UUID):
        """The receivable with its evidence, the buyer's record with the platform, the offers
        you may see, its settlement (not shown to the buyer) and its chain history."""
        return financing.receivable_detail(db.session(), current_principal(), receivable_id)


@financing_api.route("/receivables/<uuid:receivable_id>/offers")
class ReceivableOffers(MethodView):
    @financing_api.arguments(schemas.OfferFilterSchema, location="query")
    @financing_api.response(200, page_of(schemas.OfferSchema))
    def get(self, args, receivable_id: uuid.UUID):
        """The offers on the receivable you may see (all of them for its supplier, your own for a financier)."""
        check_cursor(args.get("cursor"), OFFER_KEYS)
        policy.get_visible(db.session(), Receivable, receivable_id, current_principal())
        query = financing.offers_query(current_principal(), receivable_id=receivable_id, state=args["state"])
        return page_response(query, OFFER_KEYS, args, transform=_shown_offer)

    @financing_api.arguments(schemas.OfferRequestSchema)
    @financing_api.response(201, schemas.OfferSchema(many=True))
    def post(self, data, receivable_id: uuid.UUID):
        """Ask financier partners for offers on a verified receivable (its supplier)."""
        offers = financing.request_offers(db.session(), current_principal(), receivable_id, data["financier_ids"])
        return [_shown_offer(offer) for offer in offers]


# -- offers -----------------------------------------------------------------------------------------


@financing_api.route("/financing-offers")
class Offers(MethodView):
    @financing_api.arguments(schemas.OfferFilterSchema, location="query")
    @financing_api.response(200, page_of(schemas.OfferSchema))
    def get(self, args):
        """Offers you asked for (supplier) or were asked for (financier), newest first."""
        query = financing.offers_query(current_principal(), state=args["state"])
        return page_response(query, OFFER_KEYS, args, transform=_shown_offer)


@financing_api.route("/financing-offers/<uuid:offer_id>")
class OfferItem(MethodView):
    @financing_api.response(200, schemas.OfferSchema)
    def get(self, offer_id: uuid.UUID):
        return _shown_offer(policy.get_visible(db.session(), FinancingOffer, offer_id, current_principal()))


@financing_api.route("/financing-offers/<uuid:offer_id>/offer")
class OfferAnswer(MethodView):
    @financing_api.arguments(schemas.OfferTermsSchema)
    @financing_api.response(200, schemas.OfferSchema)
    def post(self, data, offer_id: uuid.UUID):
        """Answer with terms (the financier): advance = amount × advance rate, discount =
        advance × annual rate × days to the due date / 365, claim = advance + discount + fees;
        refused beyond your exposure limits; made on chain."""
        return _shown_offer(financing.make_offer(db.session(), current_principal(), offer_id, data))


@financing_api.route("/financing-offers/<uuid:offer_id>/decline")
class OfferDecline(MethodView):
    @financing_api.arguments(schemas.FinancingReasonSchema)
    @financing_api.response(200, schemas.OfferSchema)
    def post(self, data, offer_id: uuid.UUID):
        """Decline to finance the receivable (the financier)."""
        return _shown_offer(financing.decline(db.session(), current_principal(), offer_id, data["reason"]))


@financing_api.route("/financing-offers/<uuid:offer_id>/withdraw")
class OfferWithdraw(MethodView):
    @financing_api.arguments(schemas.FinancingReasonSchema)
    @financing_api.response(200, schemas.OfferSchema)
    def post(self, data, offer_id: uuid.UUID):
        """Withdraw a request (the supplier) or an offer not yet accepted (either side; on chain too)."""
        return _shown_offer(financing.withdraw(db.session(), current_principal(), offer_id, data["reason"]))


@financing_api.route("/financing-offers/<uuid:offer_id>/accept")
class OfferAccept(MethodView):
    @financing_api.response(200, schemas.OfferSchema)
    def post(self, offer_id: uuid.UUID):
        """Accept the offer (the supplier): the exchange assigns the receivable to the financier
        and pays the advance in one transaction; every other offer is withdrawn."""
        return _shown_offer(financing.accept(db.session(), current_principal(), offer_id))


# -- limits and programmes --------------------------------------------------------------------------


@financing_api.route("/exposure-limits")
class ExposureLimits(MethodView):
    @financing_api.arguments(PageArgsSchema, location="query")
    @financing_api.response(200, page_of(schemas.ExposureLimitSchema))
    def get(self, args):
        """Your exposure limits (a financier), with what is outstanding and available."""
        query = limits.limits_query(current_principal())
        return page_response(query, [ExposureLimit.created_at, ExposureLimit.id], args, transform=lambda limit: limits.shown_limit(db.session(), limit))

    @financing_api.arguments(schemas.ExposureLimitInputSchema)
    @financing_api.response(200, schemas.ExposureLimitSchema)
    def put(self, data):
        """Set your limit on one buyer or one supplier in one currency (a financier)."""
        session = db.session()
        return limits.shown_limit(session, limits.set_limit(session, current_principal(), data))


@financing_api.route("/financing-programmes")
class Programmes(MethodView):
    @financing_api.arguments(schemas.ProgrammeFilterSchema, location="query")
    @financing_api.response(200, page_of(schemas.ProgrammeSchema))
    def get(self, args):
        """Programmes you run (a buyer) or finance (a financier)."""
        query = programmes.programmes_query(current_principal(), state=args["state"])
        return page_response(query, [FinancingProgramme.created_at, FinancingProgramme.id], args, transform=_shown_programme)

    @financing_api.arguments(schemas.ProgrammeInputSchema)
    @financing_api.response(201, schemas.ProgrammeSchema)
    def post(self, data):
        """Ask a financier partner (buyer_financier) to open a programme for your approved payables (a buyer)."""
        return _shown_programme(programmes.request(db.session(), current_principal(), data))


@financing_api.route("/financing-programmes/<uuid:programme_id>")
class ProgrammeItem(MethodView):
    @financing_api.response(200, schemas.ProgrammeSchema)
    def get(self, programme_id: uuid.UUID):
        return _shown_programme(policy.get_visible(db.session(), FinancingProgramme, programme_id, current_principal()))


@financing_api.route("/financing-programmes/<uuid:programme_id>/open")
class ProgrammeOpen(MethodView):
    @financing_api.arguments(schemas.ProgrammeOpenSchema)
    @financing_api.response(200, schemas.ProgrammeSchema)
    def post(self, data, programme_id: uuid.UUID):
        """Open the programme at your annual rate and limit (its financier)."""
        return _shown_programme(programmes.open_programme(db.session(), current_principal(), programme_id, data))


@financing_api.route("/financing-programmes/<uuid:programme_id>/decline")
class ProgrammeDecline(MethodView):
    @financing_api.arguments(schemas.FinancingReasonSchema)
    @financing_api.response(200, schemas.ProgrammeSchema)
    def post(self, data, programme_id: uuid.UUID):
        """Decline to open the programme (its financier)."""
        return _shown_programme(programmes.decline(db.session(), current_principal(), programme_id, data["reason"]))


@financing_api.route("/financing-programmes/<uuid:programme_id>/close")
class ProgrammeClose(MethodView):
    @financing_api.arguments(schemas.FinancingReasonSchema)
    @financing_api.response(200, schemas.ProgrammeSchema)
    def post(self, data, programme_id: uuid.UUID):
        """Close the programme (either side): no new early payments."""
        return _shown_programme(programmes.close(db.session(), current_principal(), programme_id, data["reason"]))
