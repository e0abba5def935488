"""axe-core, the accessibility engine, run inside a page that Playwright drives; and the keyboard alone.

axe-core is pinned in bot/web/package-lock.json and installed by `make widget` (npm ci --prefix bot/web).
Its script is evaluated through the DevTools protocol (Playwright's `page.evaluate`), which the page's
Content-Security-Policy does not govern: the page is audited exactly as served, under its own CSP and
Trusted Types, with no `bypass_csp` context (which would also let styles or scripts the CSP blocks apply,
so the audit would look at a page no visitor sees). Only findings of impact serious or critical fail a test.
"""
from __future__ import annotations

from functools import cache

from playwright.sync_api import Locator, Page

from bot.config import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "bot" / "web" / "node_modules" / "axe-core" / "axe.min.js"
FAILING_IMPACTS = ("serious", "critical")
# WCAG 2.1 A and AA, and axe's best practices (landmarks, one banner, headings): what the issue asks for.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def _source() -> str:
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} is missing: run `make widget` (npm ci --prefix bot/web installs axe-core)")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Page, context: str | None = None,
               impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[dict]:
    """axe's violations of these impacts (minor, moderate, serious, critical) in the page, or in the elements
    the CSS selector `context` matches; each as axe reports it: id, impact, help, the nodes with their
    selector and summary."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())  # defines window.axe; evaluated, not a <script>: see the module's docstring
    result = page.evaluate(
        """async ([context, tags]) => {
            const found = await window.axe.run(context ? {include: [[context]]} : document,
                                               {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return found.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target, summary: n.failureSummary, html: n.html})),
            }));
        }""",
        [context, TAGS],
    )
    return [found for found in result if found["impact"] in impacts]


def describe(found: list[dict]) -> str:
    """The violations, one a line with where they are, for an assertion's message."""
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']}: {violation['id']}: {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node['html'][:160]}\n      {node['summary']}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Page, context: str | None = None) -> None:
    """No serious or critical accessibility violation in the page (or in `context`, a CSS selector)."""
    found = violations(page, context)
    assert not found, f"axe-core finds on {page.url}:\n{describe(found)}"


def tab_to(target: Locator, *, backwards: bool = False, limit: int = 40) -> None:
    """Press Tab (or Shift+Tab) until `target` has the focus, as a person using only the keyboard does; fails if
    it never does (it cannot be reached from the keyboard)."""
    for _ in range(limit):
        target.page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} never took the focus in {limit} presses of the Tab key")
