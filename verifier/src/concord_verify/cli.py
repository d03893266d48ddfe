"""`concord-verify BUNDLE.json --rpc URL [--json]`: check a Concord proof bundle.

Prints one line per check and a verdict. Exit status: 0 when every check passes, 1 when
one fails, 2 when the input cannot be used (unreadable file, not JSON, node unreachable).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from concord_verify import checks
from concord_verify.bundle import Bundle, UnreadableBundle, load
from concord_verify.rpc import Client, RpcUnavailable

OK, FAILED, UNUSABLE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concord-verify",
        description="Check a Concord proof bundle (an EPCIS event or a document) against the chain: the event hash, "
        "the organization's signature, its membership at the anchoring block, the Merkle proof and the anchored root.",
        epilog="Exit status: 0 verified, 1 a check failed, 2 the bundle or the node could not be used.",
    )
    parser.add_argument("bundle", help="the proof bundle (JSON) downloaded from Concord")
    parser.add_argument(
        "--rpc", required=True, help="a JSON-RPC endpoint of the chain: your own node, or the platform's /api/v1/ledger/rpc for its embedded chain"
    )
    parser.add_argument(
        "--rpc-token",
        default=os.environ.get("CONCORD_RPC_TOKEN"),
        help="a bearer token for the JSON-RPC endpoint (the platform's asks for an API token of your organization); default: $CONCORD_RPC_TOKEN",
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for each JSON-RPC answer (default 30)")
    return parser


def _subject(bundle: Bundle) -> str:
    org = bundle.organization.name or bundle.organization.id
    if bundle.kind == "document" and bundle.document is not None:
        return f"The document {bundle.document.filename} ({bundle.document.kind}) of {org}"
    event_type = (bundle.event or {}).get("type", "event")
    return f"The {event_type} {bundle.event_hash_id} attested by {org}"


def verdict(bundle: Bundle | None, results: list[checks.Result]) -> str:
    failed = [r for r in results if not r.ok]
    if bundle is None:
        return "NOT VERIFIED. The bundle is not a well-formed Concord proof bundle, so nothing in it could be checked."
    subject = _subject(bundle)
    if not failed:
        where = f"chain {bundle.chain.chain_id}, ProvenanceAnchor {bundle.chain.provenance_anchor}"
        if bundle.kind == "document":
            return (
                f"VERIFIED. {subject} has exactly the content whose SHA-256 was anchored at block {bundle.batch.anchor_block} "
                f"({where}) by an active member of that organization."
            )
        return (
            f"VERIFIED. {subject} is exactly the event that was signed, the signer was an active member of the organization "
            f"at block {bundle.batch.anchor_block}, and the event is in the batch anchored there ({where})."
        )
    names = ", ".join(r.name for r in failed)
    return f"NOT VERIFIED. {subject}: {len(failed)} of {len(results)} checks failed ({names}). Do not rely on this bundle; the reasons are above."


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        data = load(args.bundle)
    except UnreadableBundle as error:
        return _unusable(args, str(error))
    try:
        client = Client(args.rpc, timeout=args.timeout, token=args.rpc_token)
        bundle, results = checks.run(data, client)
    except RpcUnavailable as error:
        return _unusable(args, f"the chain could not be asked: {error}")
    text = verdict(bundle, results)
    code = OK if all(r.ok for r in results) else FAILED
    if args.json:
        print(json.dumps({"verified": code == OK, "checks": [r.to_json() for r in results], "verdict": text}, indent=2))
    else:
        for result in results:
            print(f"{'✓' if result.ok else '✗'} {result.name:<19} {result.reason}")
        print()
        print(text)
    return code


def _unusable(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"verified": False, "error": message}))
    else:
        print(f"concord-verify: {message}", file=sys.stderr)
    return UNUSABLE


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
