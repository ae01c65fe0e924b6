"""Every registered host command answers any body with a well-formed response and never raises."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hsm_emulator import Hsm
from hsm_emulator.commands import COMMANDS, response_code

HSM = Hsm()
PRINTABLE = st.text(alphabet="0123456789ABCDEFUXTYZR;&%\x19", max_size=120).map(lambda s: s.encode())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(code=st.sampled_from(sorted(COMMANDS)), body=st.one_of(PRINTABLE, st.binary(max_size=120)))
def test_any_body_gets_an_answer(code, body):
    out = HSM.execute(code.encode() + body)
    assert out[:2] == response_code(code).encode()
    assert out[2:4].isalnum() and len(out[2:4]) == 2


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=40))
def test_any_bytes_get_an_answer(data):
    out = HSM.execute(data)
    assert len(out) >= 4
