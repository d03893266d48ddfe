"""A withdrawal from the escrow that an earlier one made moot.

A withdrawal takes everything the escrow credited its sender, so the payee's withdrawal
queued for one order may take the credit of the next order's release as well, when that
release is mined first (several workers send the buyer's releases and the supplier's
withdrawals side by side). The later withdrawal would then revert with nothing to
withdraw. A withdrawal is signed only once the sender's earlier intents are settled (the
outbox signs no withdrawal ahead of them), so what the escrow owes the sender when its
withdrawal is about to be signed is what that withdrawal would take: when it is nothing,
the withdrawal is not sent (wired by concord.bootstrap as a check before signing)."""

from __future__ import annotations

from eth_abi import decode as abi_decode
from eth_utils import to_checksum_address
from sqlalchemy.orm import Session

from concord.ledger.artifacts import load_artifact
from concord.ledger.chain import Chain
from concord.ledger.escrow import ESCROW, Step
from concord.ledger.models import ChainIntent, ContractDeployment


def is_withdrawal(intent: ChainIntent) -> bool:
    return intent.contract == ESCROW and intent.function == Step.WITHDRAW.value


def nothing_left(session: Session, intent: ChainIntent, chain: Chain) -> str | None:
    """Why `intent` need not be sent (a withdrawal of nothing), or None."""
    if not is_withdrawal(intent):
        return None
    deployment = session.get(ContractDeployment, (chain.chain_id, ESCROW))
    if deployment is None:
        return None
    contract = chain.contract(load_artifact(deployment.artifact).abi, deployment.address)
    data = contract.encode_abi("owedTo", args=[to_checksum_address(intent.sender), to_checksum_address(intent.args[0])])
    (owed,) = abi_decode(["uint256"], chain.call({"to": deployment.address, "data": data}))
    return None if owed else "nothing left to withdraw: an earlier withdrawal took this credit as well"
