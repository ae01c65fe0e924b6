"""Reporters: a one-line progress bar on stderr, a readable summary, JUnit XML and JSON."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from terminal_agent.scenario.results import ERROR, FAILED, PASSED, RunResult, StepResult


class Progress:
    """On a terminal: one line redrawn in place (bar, count, current step). Elsewhere (CI logs): one line
    per failed step only, so logs stay short and still say what went wrong as it happens."""

    def __init__(self, total: int, stream: TextIO | None = None, width: int = 30) -> None:
        self.total, self.done, self.failed = max(total, 1), 0, 0
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, r: StepResult) -> None:
        self.done += 1
        if not r.passed:
            self.failed += 1
        if self.tty:
            filled = int(self.width * min(self.done, self.total) / self.total)
            bar = "#" * filled + "." * (self.width - filled)
            label = f"{r.scenario}: {r.name}"[:40]
            self.stream.write(f"\r\x1b[K[{bar}] {self.done}/{self.total} {self.failed} failed  {label}")
            if not r.passed:
                self.stream.write(f"\r\x1b[K{_status_word(r.status)} {r.scenario}: {r.name}: {r.failures[0]}\n")
        elif not r.passed:
            self.stream.write(f"{_status_word(r.status)} {r.scenario}: {r.name}: {r.failures[0]}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _status_word(status: str) -> str:
    return {PASSED: "PASS", FAILED: "FAIL", ERROR: "ERROR"}[status]


def summary(run: RunResult) -> str:
    """Readable summary: one line per scenario, the failures under it, totals at the end."""
    lines = [f"Target {run.target}"]
    for sc in run.scenarios:
        word = "PASS" if sc.passed else ("ERROR" if sc.error else "FAIL")
        lines.append(f"{word:5} {sc.name}  ({len(sc.steps)} steps, {sc.duration:.2f}s)  {sc.file}")
        if sc.error:
            lines.append(f"      {sc.error}")
        for st in sc.steps:
            if not st.passed:
                code = (st.response or {}).get("39")
                lines.append(f"      {_status_word(st.status)} {st.name} [{st.session}] "
                             f"({st.file}:{st.line}){' rc=' + code if code else ''}")
                lines.extend(f"        - {f}" for f in st.failures)
    t = run.totals()
    lines.append(f"{t['scenarios_passed']}/{t['scenarios']} scenarios passed; steps: {t['passed']} passed, "
                 f"{t['failed']} failed, {t['errors']} errors in {run.duration:.2f}s")
    return "\n".join(lines)


def junit_xml(run: RunResult) -> bytes:
    """JUnit XML: a testsuite per scenario, a testcase per step (classname = scenario file)."""
    t = run.totals()
    root = ET.Element("testsuites", name="acqsim scenarios", tests=str(t["steps"] + t["scenario_errors"]),
                      failures=str(t["failed"]), errors=str(t["errors"] + t["scenario_errors"]),
                      time=f"{run.duration:.3f}")
    for sc in run.scenarios:
        suite = ET.SubElement(root, "testsuite", name=sc.name, tests=str(len(sc.steps) or 1),
                              failures=str(sc.count(FAILED)), errors=str(sc.count(ERROR) + (sc.error is not None)),
                              time=f"{sc.duration:.3f}", timestamp=run.started, file=sc.file)
        if sc.error:
            case = ET.SubElement(suite, "testcase", classname=_classname(sc.file), name="load", time="0")
            ET.SubElement(case, "error", message=sc.error, type="ScenarioError").text = sc.error
        for st in sc.steps:
            name = st.name if st.session == "main" else f"{st.session}: {st.name}"
            case = ET.SubElement(suite, "testcase", classname=_classname(sc.file), name=name,
                                 time=f"{st.duration:.3f}", file=st.file, line=str(st.line))
            if st.status != PASSED:
                tag = "failure" if st.status == FAILED else "error"
                el = ET.SubElement(case, tag, message=st.failures[0] if st.failures else st.status,
                                   type="ExpectationFailed" if tag == "failure" else "StepError")
                el.text = "\n".join(st.failures)
            out = [f"{st.file}:{st.line} outcome={st.outcome} rc={(st.response or {}).get('39', '-')}"]
            out.extend(st.notes)
            ET.SubElement(case, "system-out").text = "\n".join(out)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _classname(file: str) -> str:
    p = Path(file)
    return ".".join(p.with_suffix("").parts[-2:])


def write_junit(run: RunResult, path: str | Path) -> None:
    Path(path).write_bytes(junit_xml(run))


def json_report(run: RunResult) -> str:
    return json.dumps(run.to_json(), indent=2)
