"""Invoice PDFs: WeasyPrint renders the same invoice markup as the detail page, tagged PDF/UA-1
(structure, language and title) so that a screen reader can read it."""

from __future__ import annotations

from functools import lru_cache

import anyio

from ecp.settings import ROOT


@lru_cache(maxsize=1)
def _env():
    from ecp.web.templating import create_environment

    return create_environment()


def render_html(context: dict) -> str:
    return _env().get_template("pdf/invoice.html").render(**context)


def _write(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url=str(ROOT)).write_pdf(pdf_variant="pdf/ua-1")


async def invoice_pdf(context: dict) -> bytes:
    """Rendering takes tens of milliseconds of CPU: it runs in a worker thread."""
    html = render_html(context)
    return await anyio.to_thread.run_sync(_write, html)
