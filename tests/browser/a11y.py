"""axe-core (WCAG 2.x A and AA), keyboard and reflow checks for Playwright pages."""

from __future__ import annotations

from axe_playwright_python.base import AXE_SCRIPT

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BEST_PRACTICE = [*TAGS, "best-practice"]


async def axe_violations(page, best: bool = False) -> list[str]:
    """One line per violation and node, empty when axe finds nothing; `best`: axe's best
    practices too (landmarks, heading order, unique names...)."""
    # The script (half a megabyte) is sent once per document: a page checked again after an
    # htmx swap still has it. A navigation starts a new document, without it.
    if not await page.evaluate("() => typeof window.axe === 'object' && !!window.axe.run"):
        await page.evaluate(AXE_SCRIPT)
    result = await page.evaluate(
        "opts => axe.run(document, opts)",
        {
            "runOnly": {"type": "tag", "values": BEST_PRACTICE if best else TAGS},
            "resultTypes": ["violations"],
        },
    )
    lines = []
    for violation in result["violations"]:
        for node in violation["nodes"]:
            lines.append(f"{page.url} {violation['id']}: {violation['help']} at {node['target']}")
    return lines


async def assert_accessible(page) -> None:
    violations = await axe_violations(page)
    assert not violations, "\n".join(violations)


async def horizontal_overflow(page) -> int:
    """Pixels the page scrolls sideways (0 when it reflows)."""
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def assert_reflows_at_320(page) -> None:
    size = page.viewport_size
    await page.set_viewport_size({"width": 320, "height": 800})
    try:
        overflow = await horizontal_overflow(page)
        assert overflow <= 0, f"{page.url} scrolls {overflow}px sideways at 320px"
    finally:
        await page.set_viewport_size(size)


async def small_targets(page) -> list[str]:
    """Links and buttons under 44x44 CSS px (inline links inside text are exempt)."""
    return await page.evaluate("""() => {
      const out = [];
      for (const el of document.querySelectorAll('button, [role=button], input[type=submit], nav a, .button')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.height < 44 || r.width < 44) out.push(`${el.tagName} "${el.textContent.trim()}" ${Math.round(r.width)}x${Math.round(r.height)}`);
      }
      return out;
    }""")


async def tab_until(page, predicate_js: str, max_tabs: int = 60) -> list[str]:
    """Press Tab until the focused element satisfies predicate_js; returns the focus path."""
    path = []
    # One round trip per Tab for the description and the predicate, instead of two.
    probe = (
        "() => { const e = document.activeElement;"
        " const desc = e ? `${e.tagName}#${e.id}|${(e.textContent||'').trim().slice(0,40)}"
        "|${e.getAttribute('name')||''}` : '';"
        f" return [desc, !!({predicate_js})]; }}"
    )
    for _ in range(max_tabs):
        await page.keyboard.press("Tab")
        desc, reached = await page.evaluate(probe)
        path.append(desc)
        if reached:
            return path
    raise AssertionError("focus never reached the target; path: " + " > ".join(path))


async def focus_is_visible(page) -> bool:
    """The focused element draws an outline or a box-shadow ring."""
    return await page.evaluate("""() => { const e = document.activeElement; if (!e) return false;
      const s = getComputedStyle(e);
      return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none'; }""")


async def wait_for_focus(page, predicate_js: str) -> None:
    """Wait until the focused element satisfies predicate_js (`e` is the element).

    htmx moves focus in its afterSettle event, a few milliseconds after the new content is in the
    DOM, so asserting right after `wait_for_selector` races the settle step."""
    await page.wait_for_function(
        f"() => {{ const e = document.activeElement; return !!e && !!({predicate_js}); }}",
        timeout=5000,
    )


async def wait_for_error_summary_focus(page) -> None:
    await wait_for_focus(page, "e.classList.contains('error-summary')")


async def wait_for_error_title(page) -> None:
    """The swapped fragment's <title> starts with « Erreur : » (htmx sets it during the swap)."""
    await page.wait_for_function("() => document.title.startsWith('Erreur : ')", timeout=5000)
