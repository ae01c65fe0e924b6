"""Card readers behind one interface (CardReader): serial, emulated on a pty, and direct (no reader)."""

from terminal_agent.readers.base import (
           CHIP,
           CONTACTLESS,
           SWIPE,
           BadRead,
           CardRead,
           CardReader,
           read_with_retry,
)
from terminal_agent.readers.emulated import FAULTS, EmulatedReader
from terminal_agent.readers.serial_reader import SerialCardReader

__all__ = ["CHIP", "CONTACTLESS", "FAULTS", "SWIPE", "BadRead", "CardRead", "CardReader", "EmulatedReader",
           "SerialCardReader", "read_with_retry"]
