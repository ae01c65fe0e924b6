"""A self-contained HTML report: inline CSS, no scripts or external resources, so it opens from a CI
artefact store as a single file. Each step shows its request and answer as masked dumps (switch.wire.dump)."""

from __future__ import annotations

from html import escape
from pathlib import Path

from switch.hostsim.yamlmarks import digits
from switch.wire import dump, load_dialect, mask_pan
from terminal_agent.scenario.results import PASSED, RunResult, ScenarioResult, StepResult

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.2em 0 .4em}
.sum{display:flex;gap:1em;margin:.5em 0 1em}.sum div{padding:.4em .8em;border-radius:4px;background:#eee}
.pass{color:#16632b}.fail{color:#a01818}.bad{background:#fde8e8!important}.good{background:#e6f4ea!important}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;
vertical-align:top}th{background:#f5f5f5}
details{margin:.2em 0}summary{cursor:pointer}
pre{background:#f8f8f8;border:1px solid #e2e2e2;padding:.5em;overflow-x:auto;font-size:12px;margin:.3em 0}
.dumps{display:grid;grid-template-columns:1fr 1fr;gap:.5em}tr.good+tr.good td,tr.bad+tr.bad td{border-top:0}.muted{color:#777;font-size:12px}
"""


def render_html(run: RunResult, title: str = "acqsim scenario report") -> str:
    t = run.totals()
    verdict = "PASSED" if run.passed else "FAILED"
    parts = [
        "<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}: <span class=\"{'pass' if run.passed else 'fail'}\">{verdict}</span></h1>",
        f"<p class=\"muted\">target {escape(run.target)} &middot; started {escape(run.started)} &middot; "
        f"{run.duration:.2f}s &middot; card data masked (PAN 6+4; tracks, PIN blocks and ICC data hidden)</p>",
        "<div class=\"sum\">",
        f"<div class=\"{'good' if run.passed else 'bad'}\">{t['scenarios_passed']}/{t['scenarios']} scenarios</div>",
        f"<div>{t['passed']} steps passed</div><div>{t['failed']} failed</div><div>{t['errors']} errors</div>",
        "</div>", "<table><tr><th>scenario</th><th>result</th><th>steps</th><th>time</th></tr>",
    ]
    for i, sc in enumerate(run.scenarios):
        parts.append(f"<tr class=\"{'good' if sc.passed else 'bad'}\"><td><a href=\"#s{i}\">{escape(sc.name)}</a></td>"
                     f"<td>{'pass' if sc.passed else 'FAIL'}</td><td>{len(sc.steps)}</td><td>{sc.duration:.2f}s</td></tr>")
    parts.append("</table>")
    for i, sc in enumerate(run.scenarios):
        parts.append(_scenario(i, sc))
    parts.append("</body></html>")
    return "\n".join(parts)


def _scenario(i: int, sc: ScenarioResult) -> str:
    out = [f"<h2 id=\"s{i}\" class=\"{'pass' if sc.passed else 'fail'}\">{escape(sc.name)}</h2>",
           f"<p class=\"muted\">{escape(sc.file)} &middot; {sc.duration:.2f}s</p>"]
    if sc.error:
        out.append(f"<pre class=\"bad\">{escape(sc.error)}</pre>")
    out.append("<table><tr><th>#</th><th>step</th><th>session</th><th>outcome</th><th>rc</th><th>time</th>"
               "<th>result</th></tr>")
    for n, st in enumerate(sc.steps, 1):
        out.append(_step(n, st))
    out.append("</table>")
    return "\n".join(out)


def _step(n: int, st: StepResult) -> str:
    ok = st.status == PASSED
    code = (st.response or {}).get("39", "")
    failures = "".join(f"<div class=\"fail\">{escape(f)}</div>" for f in st.failures)
    notes = "".join(f"<div class=\"muted\">{escape(x)}</div>" for x in st.notes)
    req = _dump(st.request, "request")
    resp = _dump(st.response, "answer") if st.response else f"<pre>(no answer: {escape(st.outcome)})</pre>"
    row = "good" if ok else "bad"
    # The dumps get a full-width row of their own: side by side they need the whole page width.
    return (f"<tr class=\"{row}\"><td>{n}</td><td>{escape(st.name)}<div class=\"muted\">"
            f"{escape(st.kind)} &middot; {escape(st.file)}:{st.line}</div></td><td>{escape(st.session)}</td>"
            f"<td>{escape(st.outcome or st.status)}</td><td>{escape(code)}</td><td>{st.duration * 1000:.0f} ms</td>"
            f"<td>{failures}{notes}</td></tr>"
            f"<tr class=\"{row}\"><td></td><td colspan=\"6\"><details{'' if ok else ' open'}><summary>messages</summary>"
            f"<div class=\"dumps\">{req}{resp}</div></details></td></tr>")


def _dump(msg: dict | None, title: str) -> str:
    if msg is None:
        return "<pre>(none)</pre>"
    shown = dict(msg)
    for key in ("102", "103"):  # account ids: a transfer's cards
        if digits(shown.get(key, "")) and len(shown[key]) > 10:
            shown[key] = mask_pan(shown[key])
    for key in ("64", "128"):  # MACs: not card data, but nothing a reader needs either
        if key in shown:
            shown[key] = "*" * len(shown[key])
    return f"<pre>{escape(dump(shown, _spec(), title=title))}</pre>"


def _spec() -> dict | None:
    """Field names for the dumps (the ascii87 spec's descriptions; every dialect shares the numbering)."""
    try:
        return load_dialect("ascii87").spec
    except Exception:  # names are a nicety; a dump without them is still a dump
        return None


def write_html(run: RunResult, path: str | Path) -> None:
    Path(path).write_text(render_html(run), encoding="utf-8")
