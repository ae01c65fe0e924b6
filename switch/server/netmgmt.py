"""0800 network management answered by the switch itself: 001 sign-on, 002 sign-off, 301 echo, 101 key change."""

from __future__ import annotations

from switch.server.router import Handler, RequestContext

SIGN_ON, SIGN_OFF, KEY_CHANGE, ECHO = "001", "002", "101", "301"


class NetworkManagement:
    """Tracks which terminals are signed on; key change is delegated to the issuer side when plugged in."""

    def __init__(self, key_change: Handler | None = None):
        self.key_change = key_change
        self.signed_on: set[str] = set()

    def __call__(self, request: dict[str, str], ctx: RequestContext):
        code = request.get("70", "")
        tid = request.get("41", "").strip()
        if code == ECHO:
            return {"39": "00"}
        if code == SIGN_ON:
            ctx.session["signed_on"] = True
            if tid:
                self.signed_on.add(tid)
            return {"39": "00"}
        if code == SIGN_OFF:
            ctx.session["signed_on"] = False
            self.signed_on.discard(tid)
            return {"39": "00"}
        if code == KEY_CHANGE and self.key_change is not None:
            return self.key_change(request, ctx)
        if not code:
            return {"39": "30"}  # field 70 is mandatory in 0800
        return {"39": "12"}
