"""What the receivable registry and exchange tests share: receivables registered on open
account or through an escrow, verified, and offers made to financiers."""

from __future__ import annotations

from typing import Any

from eth_utils import keccak

from tests.contracts.chain import UNIT, Concord, fund_escrow, struct

AMOUNT = 100 * UNIT
DUE = 1_800_000_000
PROOF = b"\x01" * 32
FINANCIER_FUNDS = 10_000 * UNIT


def fingerprint_named(name: str) -> bytes:
    """Stands for an invoice's fingerprint (the registry takes any non-zero one)."""
    return keccak(text=f"invoice:{name}")


def offer_named(name: str) -> bytes:
    return keccak(text=f"offer:{name}")


def receivable_of(concord: Concord, fp: bytes) -> dict[str, Any]:
    return struct(concord.registry.functions.receivableOf(fp))


def offer_of(concord: Concord, offer_id: bytes) -> dict[str, Any]:
    return struct(concord.exchange.functions.offerOf(offer_id))


def register_open_account(concord: Concord, fp: bytes, order: bytes, *, amount: int = AMOUNT, who: str = "supplier", debtor: str = "buyer", token=None):
    token = token if token is not None else concord.token
    function = concord.registry.functions.registerOpenAccount(fp, order, concord[debtor], token.address, amount, DUE)
    return concord.chain.transact(function, who)


def verified_open_account(concord: Concord, fp: bytes, order: bytes, **kwargs) -> None:
    """An open-account receivable the buyer acknowledged."""
    register_open_account(concord, fp, order, **kwargs)
    concord.chain.transact(concord.registry.functions.acknowledge(fp), kwargs.get("debtor", "buyer"))


def verified_escrowed(concord: Concord, fp: bytes, order: bytes, amount: int = AMOUNT, *, token=None) -> None:
    """An escrowed receivable whose buyer confirmed receipt of the whole amount."""
    chain, escrow = concord.chain, concord.escrow
    fund_escrow(concord, order, amount, token=token)
    chain.transact(concord.registry.functions.register(fp, order), "supplier")
    chain.transact(escrow.functions.attestDelivery(order, PROOF), "carrier")
    chain.transact(escrow.functions.confirmReceipt(order, amount), "buyer")


def fund_financier(concord: Concord, name: str = "financier", token=None, amount: int = FINANCIER_FUNDS) -> None:
    """The financier holds `amount` and lets the exchange take all of it."""
    token = token if token is not None else concord.token
    concord.chain.transact(token.functions.mint(concord[name], amount))
    concord.chain.transact(token.functions.approve(concord.exchange.address, amount), name)


def make_offer(concord: Concord, offer_id: bytes, fp: bytes, advance: int, claim: int, *, who: str = "financier", expires_in: int = 7 * 24 * 3600):
    expires_at = concord.chain.next_timestamp() + expires_in
    return concord.chain.transact(concord.exchange.functions.offer(offer_id, fp, advance, claim, expires_at), who)


def accept(concord: Concord, offer_id: bytes, fp: bytes, *, who: str = "supplier"):
    """The holder lets the exchange assign the receivable, then accepts."""
    concord.chain.transact(concord.registry.functions.approve(fp, concord.exchange.address), who)
    return concord.chain.transact(concord.exchange.functions.accept(offer_id), who)


def balance(concord: Concord, name: str, token=None) -> int:
    token = token if token is not None else concord.token
    address = concord[name] if name in concord.chain.accounts else name
    return token.functions.balanceOf(address).call()
