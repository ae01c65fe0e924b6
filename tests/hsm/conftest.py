import pytest

from hsm_emulator import Hsm


@pytest.fixture(scope="session")
def hsm() -> Hsm:
    return Hsm()


@pytest.fixture(scope="session")
def run(hsm):
    def _run(cmd: str | bytes) -> str:
        data = cmd.encode("latin-1") if isinstance(cmd, str) else cmd
        return hsm.execute(data).decode("latin-1")

    return _run
