"""Invoice PDFs: WeasyPrint renders the same invoice markup as the detail page, tagged PDF/UA-1
(structure, language and title) so that a screen reader can read it."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from ecp.invoices import pdf_process
from ecp.resources import PACKAGE


def _env():
    from ecp.web.templating import environment

    return environment()


def how_to_pay(settings) -> dict:
    """What « Comment payer » prints on every invoice, wherever it is rendered (the family's
    download, the régie's paper invoices, the PES attachments): the régie's account for a
    virement (ECP_REGIE_*, the IBAN in groups of four) and the portal's address."""
    iban = settings.regie_iban
    return {
        "regie": {
            "iban": " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
            "bic": settings.regie_bic,
            "holder": settings.regie_holder or f"Régie de {settings.commune_name}",
        },
        "portal_url": settings.base_url,
    }


def render_html(context: dict) -> str:
    return _env().get_template("pdf/invoice.html").render(**context)


async def _write(html: str) -> bytes:
    # Relative URLs in the markup (none today) resolve inside the package, e.g. static/...
    return await pdf_process.write_pdf(html, str(PACKAGE))


# An invoice is downloaded again and again while its content stays the same: PDFs are kept
# under the hash of the markup they come from, so any change (a payment, a credit note, the
# commune's details) makes a new one and nothing has to be invalidated. Bounded in bytes.
CACHE_BYTES = 16 * 1024 * 1024
_cache: OrderedDict[str, bytes] = OrderedDict()
_cached_bytes = 0


def _remember(key: str, pdf: bytes) -> None:
    global _cached_bytes
    if key in _cache or len(pdf) > CACHE_BYTES:
        return
    _cache[key] = pdf
    _cached_bytes += len(pdf)
    while _cached_bytes > CACHE_BYTES:
        _key, old = _cache.popitem(last=False)
        _cached_bytes -= len(old)


async def invoice_pdf(context: dict) -> bytes:
    """Rendering takes tens of milliseconds of CPU: it runs in the renderer process
    (ecp.invoices.pdf_process), one document at a time."""
    html = render_html(context)
    key = hashlib.sha256(html.encode()).hexdigest()
    pdf = _cache.get(key)
    if pdf is not None:
        _cache.move_to_end(key)
        return pdf
    pdf = await _write(html)
    _remember(key, pdf)
    return pdf
