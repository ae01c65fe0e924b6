"""Host simulation rules: make the switch answer exactly as a firmware test wants.

Interface for the server (one RuleSet per listener; rules run before the real pipeline):

    from switch.hostsim import RuleSet, RulesError, execute

    rules = RuleSet.load(path)            # RulesError (file, line, key) on a bad file
    action = rules.match(request)         # re-reads the file when it changed; Action or None
    if action is None:
        ...                               # no rule: the real pipeline answers
    else:
        execute(action, request,
                answer=lambda req: router.dispatch(req, ctx),   # the pipeline's full answer (dict/Deferred)
                encode=dialect.encode,                          # dict -> bytes, no framing
                write=lambda data: proto.sendFrame(data, tpdu), # one framed message
                close=proto.transport.loseConnection,
                clock=reactor)                                  # -> Deferred, fires after the last write

Action kinds: respond (code, fields), delay (ms, then answer), no_answer, close, garble (undecodable
answer, framing intact), duplicate (the answer twice), late (answer after ms). File format: docs/scenarios.md.
"""

from switch.hostsim.actions import KINDS, Action, cents_code, execute, garble, response_mti
from switch.hostsim.rules import Rule, RulesError, RuleSet, parse_rules
from switch.hostsim.yamlmarks import ConfigError

__all__ = ["KINDS", "Action", "ConfigError", "Rule", "RuleSet", "RulesError", "cents_code", "execute", "garble",
           "parse_rules", "response_mti"]
