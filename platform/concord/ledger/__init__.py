"""The ledger adapter: contract artifacts and the compiler that makes them (the chain
gateway, custodial keys, outbox and indexer join them here). Only this package imports
web3 and its relatives."""
