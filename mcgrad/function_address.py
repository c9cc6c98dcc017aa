"""Compiled functions handed to the kernels by address: the first-class function arguments that cost nothing to pass.

Numba turns every dispatcher passed as a first-class function into a pointer on each kernel call, a signature
look-up of about 25 microseconds (2-core EPYC).  A :class:`FunctionAddress` does it once, when made, and
carries its function type, so passing it costs a dictionary look-up.  Calls through it go to the function's C
wrapper, which prints and swallows an exception instead of raising it: use it only for functions that never
raise and call nothing that might (the placeholders of a built-in objective's user-function slots, the empty
setup), never for a user's function or a block function that calls one.
"""

from __future__ import annotations

from numba.core.types.function_type import WrapperAddressProtocol
from numba.experimental.function_type import _get_wrapper_address
from numba.extending import typeof_impl


class FunctionAddress(WrapperAddressProtocol):
    """``dispatcher``, compiled for the function type ``kind``, as its address (see the module's notes)."""

    def __init__(self, dispatcher, kind) -> None:
        self.dispatcher = dispatcher  # keeps the compiled code alive
        self.kind = kind
        self._address = _get_wrapper_address(dispatcher, kind.signature)

    def __wrapper_address__(self) -> int:
        return self._address

    def signature(self):
        return self.kind.signature


@typeof_impl.register(FunctionAddress)
def _typeof_function_address(value: FunctionAddress, context):
    """Its function type, made once (Numba's own rule for such objects builds a new one on every call)."""
    return value.kind
