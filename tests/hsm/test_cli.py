"""`acqsim hsm serve` as a real process: the listening line, then the manual's NC example over a raw socket."""

import os
import signal
import socket
import struct
import subprocess
import sys

from switch.cli.main import main


def test_serve_port_zero_prints_listening_and_answers_nc():
    proc = subprocess.Popen([sys.executable, "-m", "switch.cli.main", "hsm", "serve", "--port", "0", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening hsm 127.0.0.1:"), line
        port = int(line.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(struct.pack(">H", 6) + b"1234NC")
            n = struct.unpack(">H", s.recv(2))[0]
            data = b""
            while len(data) < n:
                data += s.recv(n - len(data))
        assert data.startswith(b"1234ND00") and len(data) == 4 + 4 + 16 + 9
        out = subprocess.run([sys.executable, "-m", "switch.cli.main", "hsm", "command", f"127.0.0.1:{port}",
                              "BU0200406FBB23A5214DF", "--json"], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0 and '"data": "0035BBE340A4B763"' in out.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_import_key(capsys):
    assert main(["hsm", "import-key", "--type", "TPK", "0123456789ABCDEFFEDCBA9876543210"]) == 0
    out = capsys.readouterr().out.split()
    assert out[1] == "08D7B4" and out[0].startswith("U")


def test_import_key_bad_type(capsys):
    assert main(["hsm", "import-key", "--type", "XYZ", "0123456789ABCDEFFEDCBA9876543210"]) == 2
    assert "error" in capsys.readouterr().err


def test_serve_tls(tmp_path):
    """`acqsim hsm serve --tls-cert --tls-key --tls-ca`: mutual TLS, then a command through HsmClient."""
    from hsm_emulator import HsmClient
    from switch.security.certs import write_test_pki
    from switch.security.tls import ssl_client_context

    pki = write_test_pki(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "switch.cli.main", "hsm", "serve", "--port", "0", "--quiet",
                             "--tls-cert", str(pki.server_cert), "--tls-key", str(pki.server_key),
                             "--tls-ca", str(pki.ca_cert)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening hsm 127.0.0.1:"), line + proc.stderr.read()
        ctx = ssl_client_context(pki.ca_cert, pki.client_cert, pki.client_key)
        with HsmClient("127.0.0.1", int(line.rsplit(":", 1)[1]), timeout=5, ssl_context=ctx) as client:
            assert client.execute(b"NC").startswith(b"ND00")
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
