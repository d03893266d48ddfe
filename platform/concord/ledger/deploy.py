"""`concord contracts deploy`: put Concord's contracts on a chain once, through the outbox.

The deployment is a fixed list of steps (deploy a contract, or wire two together), each an
intent of the operator identified by the chain id and the step's name. Running it again
skips every confirmed step, finishes an interrupted one (its intent is still open) and
changes nothing on a chain that has them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from concord import clock
from concord.db import get_or_raise
from concord.ledger import outbox
from concord.ledger.artifacts import load_artifact
from concord.ledger.encoding import to_bytes32
from concord.ledger.models import OPEN_STATES, ChainIntent, ContractDeployment, IntentKind, IntentState, OrganizationKey
from concord.ledger.service import member_roles
from concord.tenancy.models import Organization

DEPLOYMENT_SUBJECT = "deployment"


class DeploymentError(RuntimeError):
    pass


@dataclass(frozen=True)
class Step:
    name: str
    contract: str  # the deployment created (deploy) or called (call)
    function: str | None  # None: deploy
    args: Callable[[dict[str, str]], list[Any]]  # from the addresses deployed so far


def plan(operator_address: str, operator_ref: bytes, operator_roles: int, currencies: tuple[str, ...], dispute_window: int) -> list[Step]:
    steps = [
        Step("Consortium", "Consortium", None, lambda a: [operator_address]),
        Step("Consortium.addMember(operator)", "Consortium", "addMember", lambda a: [operator_address, operator_ref, operator_roles]),
        Step("ReceivableRegistry", "ReceivableRegistry", None, lambda a: [a["Consortium"], operator_address]),
        Step(
            "DeliveryEscrow",
            "DeliveryEscrow",
            None,
            lambda a: [a["Consortium"], a["ReceivableRegistry"], operator_address, dispute_window],
        ),
        Step("ReceivableRegistry.linkEscrow", "ReceivableRegistry", "linkEscrow", lambda a: [a["DeliveryEscrow"]]),
        Step("ProvenanceAnchor", "ProvenanceAnchor", None, lambda a: [a["Consortium"]]),
        Step("ReceivableExchange", "ReceivableExchange", None, lambda a: [a["Consortium"], a["ReceivableRegistry"]]),
    ]
    for currency in currencies:
        steps += _token_steps(currency, operator_address)
    return steps


def _token_steps(currency: str, operator_address: str) -> list[Step]:
    """The settlement token of `currency`, held by the escrow and allowed by it; the registry
    and the exchange listed as holders too (a token's `transferFrom` needs its caller to be an
    allowed holder: the registry pulls open-account payments, the exchange advances)."""
    token = f"SettlementToken.{currency}"
    return [
        Step(token, token, None, lambda a: [f"Concord {currency} settlement token", f"c{currency}", currency, a["Consortium"], operator_address]),
        Step(f"{token}.listHolder(escrow)", token, "listHolder", lambda a: [a["DeliveryEscrow"]]),
        Step(f"DeliveryEscrow.allowToken({currency})", "DeliveryEscrow", "allowToken", lambda a: [a[token]]),
        Step(f"{token}.listHolder(registry)", token, "listHolder", lambda a: [a["ReceivableRegistry"]]),
        Step(f"{token}.listHolder(exchange)", token, "listHolder", lambda a: [a["ReceivableExchange"]]),
    ]


def _operator(session: Session):
    operator = session.execute(sa.select(Organization).where(Organization.is_operator.is_(True))).scalar_one_or_none()
    if operator is None:
        raise DeploymentError("There is no operator organization yet: create it first (`concord operator create` or `concord demo`).")
    key = session.get(OrganizationKey, operator.id)
    if key is None:
        raise DeploymentError("The operator organization has no signing key.")
    return operator, key


def deployments(session: Session, chain_id: int) -> dict[str, ContractDeployment]:
    rows = session.execute(sa.select(ContractDeployment).where(ContractDeployment.chain_id == chain_id)).scalars()
    return {row.name: row for row in rows}


def deploy(app, chain, worker: outbox.Worker, *, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """Run every step not yet confirmed on this chain; returns the names of the steps run."""
    chain_id = chain.chain_id
    sessionmaker = worker.sessionmaker
    with sessionmaker() as session:
        operator, key = _operator(session)
        operator_id, operator_address = operator.id, key.address
        steps = plan(
            operator_address,
            to_bytes32(operator.id),
            member_roles(operator.capabilities, is_operator=True),
            tuple(app.config["SETTLEMENT_CURRENCIES"]),
            int(app.config["DISPUTE_WINDOW_HOURS"]) * 3600,
        )
        for row in deployments(session, chain_id).values():
            if not chain.code(row.address):
                raise DeploymentError(
                    f"{row.name} is recorded at {row.address} on chain {chain_id}, but the chain has no code there: the chain was reset under this database."
                )
            if (built := load_artifact(row.artifact).source_hash) != row.source_hash:
                raise DeploymentError(
                    f"{row.name} at {row.address} on chain {chain_id} was built from other contract sources ({row.source_hash}) than this "
                    f"version of Concord's ({built}), and contracts are not upgraded in place. Start from a new chain and database "
                    "(for the embedded demo: remove `instance/` and run again), or deploy this version to another chain."
                )
    done: list[str] = []
    for step in steps:
        subject_id = f"{chain_id}:{step.name}"
        with sessionmaker() as session, session.begin():
            intents = list(
                session.execute(sa.select(ChainIntent).where(ChainIntent.subject_type == DEPLOYMENT_SUBJECT, ChainIntent.subject_id == subject_id)).scalars()
            )
            if any(i.state == IntentState.CONFIRMED for i in intents):
                continue
            if not any(i.state in OPEN_STATES for i in intents):
                addresses = {name: row.address for name, row in deployments(session, chain_id).items()}
                outbox.enqueue(
                    session,
                    organization_id=operator_id,
                    contract=step.contract,
                    function=step.function,
                    args=step.args(addresses),
                    purpose=f"Deploy: {step.name}",
                    subject=(DEPLOYMENT_SUBJECT, subject_id),
                    kind=IntentKind.DEPLOY if step.function is None else IntentKind.CALL,
                )
        log(f"  {step.name}")
        _settle(worker, subject_id)
        done.append(step.name)
    return done


def _settle(worker: outbox.Worker, subject_id: str, *, attempts: int = 20) -> None:
    """Drain the outbox until the step's intent is settled; fail loudly if it failed."""
    query = sa.select(ChainIntent).where(ChainIntent.subject_type == DEPLOYMENT_SUBJECT, ChainIntent.subject_id == subject_id).order_by(ChainIntent.seq.desc())
    for attempt in range(attempts):
        worker.drain()
        with worker.sessionmaker() as session:
            intent = session.execute(query.limit(1)).scalars().one()  # enqueued by the caller
            session.expunge(intent)
            session.rollback()
        if intent.state == IntentState.CONFIRMED:
            return
        if intent.state == IntentState.FAILED:
            raise DeploymentError(f"Deployment step {subject_id} failed: {intent.revert_reason or intent.last_error}")
        # Still open: the chain is unreachable or the receipt is late. Retry now, not at backoff.
        time.sleep(min(0.1 * 2**attempt, 5))
        with worker.sessionmaker() as session, session.begin():
            get_or_raise(session, ChainIntent, intent.seq, with_for_update=True).next_attempt_at = clock.utcnow()
    raise DeploymentError(f"Deployment step {subject_id} did not settle; last error: {intent.last_error}")
