import socket

from switch.wire import FrameReader, Framing, load_dialect


class WireClient:
    """A blocking test terminal: frames and encodes with pyiso8583 specs directly, no acqsim client code."""

    def __init__(self, port, dialect="ascii87", framing="len2", tpdu=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.dialect = load_dialect(dialect)
        self.framing = Framing(framing, tpdu=tpdu is not None)
        self.tpdu = tpdu
        self.reader = FrameReader(self.framing)
        self.last_tpdu = None

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, msg):
        import iso8583

        raw, _ = iso8583.encode(dict(msg), self.dialect.spec)
        self.sock.sendall(self.framing.frame(bytes(raw), self.tpdu))

    def receive(self):
        import iso8583

        while True:
            frames = self.reader.feed(b"")
            if frames:
                break
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by server")
            frames = self.reader.feed(chunk)
            if frames:
                break
        self.last_tpdu, payload = frames[0]
        msg, _ = iso8583.decode(payload, self.dialect.spec)
        return msg

    def is_closed(self, timeout=3.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def close(self):
        self.sock.close()
