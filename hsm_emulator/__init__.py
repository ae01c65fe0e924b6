"""Software HSM speaking the Thales payShield host-command protocol, with an in-process API.

    from hsm_emulator import Hsm, HsmClient, HsmError
"""

from hsm_emulator import primitives as _primitives  # noqa: F401  (installs the psec/pyemv TripleDES shim first)
from hsm_emulator.errors import HsmError
from hsm_emulator.hsm import AuditRecord, Hsm
from hsm_emulator.lmk import Lmk

__all__ = ["Hsm", "HsmClient", "HsmError", "Lmk", "AuditRecord"]


def __getattr__(name: str):
    if name == "HsmClient":  # imported lazily: the client pulls in socket code the switch may not need
        from hsm_emulator.client import HsmClient

        return HsmClient
    raise AttributeError(name)
