"""`concord ledger verify` for supply-chain finance: every receivable the platform says is on
chain against ReceivableRegistry, and every financing it says was financed against
ReceivableExchange.

A receivable registered (or verified, financed, settled) must be on chain at the registry it
names, for the same amount, issued by the supplier's account, owed by the buyer's, held by
the account of the organization the platform says holds it, settled exactly when the
platform says it was paid and for what it says the holder received. A financed (or settled)
offer must be accepted (or settled) on the exchange, by that financier, for the same advance
and claim; a settled one with the same waterfall. A receivable with a step of its own, of
one of its offers or (escrowed) of its order's escrow still on its way, or mined after the
block the run reads, is checked again by the next run.

An incremental run checks the receivables written since the previous run and those it found
wrong or deferred (see concord.ledger.verification)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord.finance.models import FinancingOffer, OfferState, Receivable, ReceivableState, SettlementRecord
from concord.ledger import receivables as gateway
from concord.ledger.chain import Chain
from concord.ledger.escrow import ESCROW_SUBJECT
from concord.ledger.models import OPEN_STATES, ChainIntent, ContractDeployment, OrganizationKey
from concord.ledger.verification import Disagreement, Scope
from concord.orders.models import PurchaseOrder

ON_CHAIN = (ReceivableState.REGISTERED, ReceivableState.VERIFIED, ReceivableState.FINANCED, ReceivableState.SETTLED)
#: The exchange's state each financed offer state stands on.
EXPECTED_OFFER = {OfferState.FINANCED: "accepted", OfferState.SETTLED: "settled"}


def verify_receivables(session: Session, chain: Chain, scope: Scope) -> list[Disagreement]:
    exchange = session.get(ContractDeployment, (scope.chain_id, gateway.EXCHANGE))
    on_chain = sa.and_(Receivable.chain_id == scope.chain_id, Receivable.state.in_(ON_CHAIN))
    if not scope.full:
        again = [uuid.UUID(receivable_id) for receivable_id in scope.again("receivable")]
        on_chain = sa.and_(on_chain, sa.or_(Receivable.updated_at >= scope.changed_since, Receivable.id.in_(again)))
    receivable_ids = list(session.execute(sa.select(Receivable.id).where(on_chain).order_by(Receivable.created_at, Receivable.id)).scalars())
    addresses = dict(session.execute(sa.select(OrganizationKey.organization_id, OrganizationKey.address)).tuples().all())
    problems: list[Disagreement] = []
    for batch in scope.batches("receivables", receivable_ids):
        receivables = list(session.execute(sa.select(Receivable).where(Receivable.id.in_(batch)).order_by(Receivable.created_at, Receivable.id)).scalars())
        offers = _financed_offers(session, batch)
        escrow_amounts = dict(
            session.execute(
                sa.select(PurchaseOrder.id, PurchaseOrder.confirmed_total).where(PurchaseOrder.id.in_({r.order_id for r in receivables if r.escrowed}))
            )
            .tuples()
            .all()
        )
        moving = _moving(session, receivables, offers, scope.through_block)
        for receivable in receivables:
            if receivable.id in moving:
                scope.defer(f"receivable:{receivable.id}")
                continue
            problems.extend(_compare(chain, receivable, escrow_amounts, addresses))
            offer = offers.get(receivable.id)
            if offer is not None and exchange is not None:
                waterfall = session.execute(sa.select(SettlementRecord).where(SettlementRecord.offer_id == offer.id)).scalar_one_or_none()
                problems.extend(_compare_offer(chain, exchange.address, receivable, offer, waterfall, addresses))
    return problems


def _financed_offers(session: Session, receivable_ids: list[uuid.UUID]) -> dict[uuid.UUID, FinancingOffer]:
    rows = session.execute(
        sa.select(FinancingOffer).where(FinancingOffer.receivable_id.in_(receivable_ids), FinancingOffer.state.in_(list(EXPECTED_OFFER)))
    ).scalars()
    return {offer.receivable_id: offer for offer in rows}


def _moving(session: Session, receivables: list[Receivable], offers: dict[uuid.UUID, FinancingOffer], through_block: int) -> set[uuid.UUID]:
    """The receivables with a step (their own, an offer's, their escrow's) on its way or
    mined after `through_block`."""
    subjects: dict[tuple[str, str], uuid.UUID] = {}
    for receivable in receivables:
        subjects[(gateway.RECEIVABLE_SUBJECT, str(receivable.id))] = receivable.id
        if receivable.escrowed:
            subjects[(ESCROW_SUBJECT, str(receivable.order_id))] = receivable.id
    for offer in offers.values():
        subjects[(gateway.OFFER_SUBJECT, str(offer.id))] = offer.receivable_id
    rows = session.execute(
        sa.select(ChainIntent.subject_type, ChainIntent.subject_id).where(
            ChainIntent.subject_id.in_([subject_id for _type, subject_id in subjects]),
            sa.or_(ChainIntent.state.in_(OPEN_STATES), ChainIntent.block_number > through_block),
        )
    ).tuples()
    return {subjects[key] for key in ((str(subject_type), str(subject_id)) for subject_type, subject_id in rows) if key in subjects}


def _same_account(expected: str | None, actual: str | None) -> bool:
    return expected is not None and actual is not None and expected.lower() == actual.lower()


def _compare(chain: Chain, receivable: Receivable, escrow_amounts: dict[uuid.UUID, Decimal | None], addresses: dict[uuid.UUID, str]) -> list[Disagreement]:
    key = f"receivable:{receivable.id}"
    subject = f"receivable {receivable.fingerprint} ({receivable.id})"
    view = gateway.receivable_on_chain(chain, receivable.registry_address, receivable.fingerprint)
    if view is None:
        return [Disagreement(subject, f"{receivable.state} in the registry at {receivable.registry_address}", "never registered", key=key)]
    problems = []
    # An escrowed receivable is registered for what its order's escrow holds; the buyer owes
    # an open-account one its face value.
    expected = escrow_amounts[receivable.order_id] if receivable.escrowed else receivable.amount
    if view.amount != expected:
        problems.append(Disagreement(f"{subject} amount", f"{expected} {receivable.currency}", str(view.amount), key=key))
    for role, organization_id, address in (
        ("issuer", receivable.supplier_org_id, view.issuer),
        ("debtor", receivable.buyer_org_id, view.debtor),
        ("holder", receivable.holder_org_id, view.holder),
    ):
        if not _same_account(addresses.get(organization_id), address):
            problems.append(Disagreement(f"{subject} {role}", str(addresses.get(organization_id)), address, key=key))
    settled = receivable.state == ReceivableState.SETTLED
    if view.settled != settled:
        problems.append(Disagreement(subject, str(receivable.state), "settled" if view.settled else "not settled", key=key))
    elif settled and view.amount_paid != (receivable.amount_paid or Decimal(0)):
        problems.append(Disagreement(f"{subject} amount paid", f"{receivable.amount_paid} {receivable.currency}", str(view.amount_paid), key=key))
    if receivable.state in (ReceivableState.VERIFIED, ReceivableState.FINANCED) and not view.verified:
        problems.append(Disagreement(subject, str(receivable.state), "not verified", key=key))
    return problems


def _compare_offer(
    chain: Chain, exchange_address: str, receivable: Receivable, offer: FinancingOffer, waterfall: SettlementRecord | None, addresses: dict[uuid.UUID, str]
) -> list[Disagreement]:
    key = f"receivable:{receivable.id}"
    subject = f"financing {offer.id} of receivable {receivable.fingerprint}"
    view = gateway.offer_on_chain(chain, exchange_address, offer.id)
    expected = EXPECTED_OFFER[offer.state]
    if view is None or view.state != expected:
        return [Disagreement(subject, f"{offer.state} (exchange {expected})", f"exchange {view.state if view else 'none'}", key=key)]
    problems = []
    if (view.advance, view.claim) != (offer.advance, offer.claim):
        problems.append(
            Disagreement(f"{subject} terms", f"advance {offer.advance}, claim {offer.claim}", f"advance {view.advance}, claim {view.claim}", key=key)
        )
    if not _same_account(addresses.get(offer.financier_org_id), view.financier):
        problems.append(Disagreement(f"{subject} financier", str(addresses.get(offer.financier_org_id)), view.financier, key=key))
    if view.fingerprint.lower() != receivable.fingerprint.lower():
        problems.append(Disagreement(f"{subject} receivable", receivable.fingerprint, view.fingerprint, key=key))
    if offer.state == OfferState.SETTLED and waterfall is not None:
        recorded = (waterfall.amount_paid, waterfall.financier_share, waterfall.supplier_share)
        if recorded != (view.amount_paid, view.financier_share, view.supplier_share):
            problems.append(
                Disagreement(
                    f"{subject} waterfall",
                    "paid {}, financier {}, supplier {}".format(*recorded),
                    f"paid {view.amount_paid}, financier {view.financier_share}, supplier {view.supplier_share}",
                    key=key,
                )
            )
    return problems
