"""The ledger adapter: contract artifacts and their compiler, the chain gateway, custodial
keys, the transaction outbox and the indexer. Only this package imports web3 and its
relatives."""

import sys as _sys

_recursion_limit = _sys.getrecursionlimit()
import py_ecc  # noqa: E402,F401  (imported by eth_account; raises the recursion limit to 100000)

# A limit that high turns a deep recursion anywhere in the process (a parser fed hostile
# input, say) into a crash of the interpreter instead of a RecursionError. Concord uses no
# pairing arithmetic that would need it.
_sys.setrecursionlimit(_recursion_limit)
