"""keccak256, fast: pycryptodome's C sponge called directly, one state per thread reset
for each hash, instead of a hash object built and freed per call (eth-hash's way), which
costs about three times as long as the hashing of a Merkle leaf itself.

Results are eth-hash's `keccak` (checked when this module loads); where pycryptodome's
internals are not as expected, eth-hash is used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from eth_hash.auto import keccak as _eth_keccak

_RATE_CAPACITY_BYTES = 64  # keccak256: a capacity of 512 bits
_ROUNDS = 24
_PADDING = 0x01  # original Keccak, not SHA-3
_DIGEST = 32


def _direct() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    from Crypto.Hash.keccak import _raw_keccak_lib as lib  # type: ignore[attr-defined]
    from Crypto.Util._raw_api import SmartPointer, VoidPointer, c_size_t, c_ubyte, create_string_buffer, get_raw_buffer  # type: ignore[attr-defined]

    local = threading.local()

    def state():
        pointer = VoidPointer()
        if lib.keccak_init(pointer.address_of(), c_size_t(_RATE_CAPACITY_BYTES), c_ubyte(_ROUNDS)):
            raise RuntimeError("keccak_init failed")
        local.state = SmartPointer(pointer.get(), lib.keccak_destroy)  # freed with the thread's locals
        local.raw = local.state.get()
        local.out = create_string_buffer(_DIGEST)
        return local.raw, local.out

    reset, absorb, squeeze = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    digest_size, padding = c_size_t(_DIGEST), c_ubyte(_PADDING)

    def keccak256(data: bytes) -> bytes:
        raw, out = (local.raw, local.out) if hasattr(local, "raw") else state()
        reset(raw)
        absorb(raw, data, c_size_t(len(data)))
        squeeze(raw, out, digest_size, padding)
        return get_raw_buffer(out)

    def double_keccak256(data: bytes) -> bytes:
        raw, out = (local.raw, local.out) if hasattr(local, "raw") else state()
        reset(raw)
        absorb(raw, data, c_size_t(len(data)))
        squeeze(raw, out, digest_size, padding)
        reset(raw)
        absorb(raw, out, digest_size)
        squeeze(raw, out, digest_size, padding)
        return get_raw_buffer(out)

    return keccak256, double_keccak256


def _portable() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    return _eth_keccak, lambda data: _eth_keccak(_eth_keccak(data))


def _choose() -> tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]:
    try:
        single, double = _direct()
        samples = [b"", b"abc", bytes(range(256)) * 3]
        if all(single(s) == _eth_keccak(s) and double(s) == _eth_keccak(_eth_keccak(s)) for s in samples):
            return single, double
    except (ImportError, AttributeError, RuntimeError, TypeError):
        pass
    return _portable()


keccak256, double_keccak256 = _choose()
