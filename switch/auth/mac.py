"""The bytes a terminal MACs (shared with the terminal agent): see switch.wire.mac."""

from switch.wire.mac import mac_input

__all__ = ["mac_input"]
