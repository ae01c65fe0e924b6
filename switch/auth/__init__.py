"""The authorisation pipeline: small named steps (steps_message, steps_card, steps_funds) run by
`Runner` over an `AuthContext`; `build_authorizer(engine, hsm, config)` plugs it into the switch Router.
"""

from switch.auth.authorizer import AUTH_MTIS, build_authorizer, build_services, register_authorizer
from switch.auth.context import AuthContext, Services
from switch.auth.runner import PIPELINES, Runner

__all__ = ["AUTH_MTIS", "PIPELINES", "AuthContext", "Runner", "Services", "build_authorizer", "build_services",
           "register_authorizer"]
