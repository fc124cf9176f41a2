"""The payment provider interface and its Paybox System implementation.

A provider turns an attempt into a redirect (URL, method, ordered fields) and an incoming
notification into a verified Notification; PayFiP (Régie web service) can be added beside it.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Protocol

from ecp import clock
from ecp.payments import paybox
from ecp.payments.config import IPN_PATH, PayboxConfig, public_keys

# What is kept of a notification's bytes for the régisseur (a genuine one is about 700 bytes).
RAW_KEPT = 1200


@dataclass(frozen=True)
class RedirectForm:
    url: str
    method: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True)
class Payer:
    email: str
    first_name: str = ""
    last_name: str = ""
    address1: str = ""
    address2: str = ""
    postcode: str = ""
    city: str = ""


@dataclass(frozen=True)
class Notification:
    """A notification whose signature was checked; nothing here is trusted before `signed`."""

    signed: bool
    raw: str
    key_name: str = ""
    reference: str = ""
    amount_cents: int | None = None
    code: str = ""
    authorisation: str = ""
    transaction: str = ""
    call_number: str = ""
    paid_at: dt.datetime | None = None
    status: str = paybox.ERROR
    fields: dict[str, str] = field(default_factory=dict)
    # Why an unsigned one was refused: "signature" (none, or none that verifies) or "format"
    # (bytes that are not laid out as a Paybox notification; see paybox.read_notification).
    refusal: str = ""


class PaymentProvider(Protocol):
    name: str

    async def redirect(
        self, *, reference: str, amount_cents: int, payer: Payer, base_url: str, return_path: str
    ) -> RedirectForm: ...

    def verify(self, *, method: str, raw_query: bytes, raw_body: bytes) -> Notification: ...


def _ascii_upper(text: str, length: int) -> str:
    """What Crédit Agricole's sample sends in the 3-D Secure XML: A-Z, digits and spaces."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()
    return re.sub(r"[^A-Z0-9 ]", " ", plain).strip()[:length]


_probe_cache: dict[tuple[str, ...], tuple[float, str]] = {}


async def _available_endpoint(endpoints: tuple[str, ...]) -> str:
    """The first host whose /load.html says OK (docs/payments.md), cached 5 minutes; the
    primary when no probe answers (the bank's page then explains itself to the parent)."""
    if len(endpoints) < 2:
        return endpoints[0]
    cached = _probe_cache.get(endpoints)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    from urllib.parse import urlsplit

    import httpx

    chosen = endpoints[0]
    async with httpx.AsyncClient(timeout=2.0) as http:
        for url in endpoints:
            parts = urlsplit(url)
            try:
                response = await http.get(f"{parts.scheme}://{parts.netloc}/load.html")
            except httpx.HTTPError:
                continue
            if response.status_code == 200 and re.search(
                r'id=["\']server_status["\'][^>]*>\s*OK', response.text
            ):
                chosen = url
                break
    _probe_cache[endpoints] = (time.monotonic() + 300, chosen)
    return chosen


RETURN_KINDS = {
    "PBX_EFFECTUE": "effectue",
    "PBX_REFUSE": "refuse",
    "PBX_ANNULE": "annule",
    "PBX_ATTENTE": "attente",
}


def return_urls(base_url: str, return_path: str) -> dict[str, str]:
    """The four browser return URLs of one attempt. Each carries our marker parameter, which
    makes a browser return's signature differ from a notification's (paybox.read_notification).
    """
    base = base_url.rstrip("/")
    return {
        name: f"{base}{return_path}/{kind}?{paybox.BROWSER_RETURN_MARKER}"
        for name, kind in RETURN_KINDS.items()
    }


class PayboxProvider:
    name = "paybox"

    def __init__(self, config: PayboxConfig):
        self.config = config

    async def redirect(
        self, *, reference: str, amount_cents: int, payer: Payer, base_url: str, return_path: str
    ) -> RedirectForm:
        c = self.config
        base = base_url.rstrip("/")
        billing = (
            '<?xml version="1.0" encoding="utf-8"?><Billing><Address>'
            f"<FirstName>{_ascii_upper(payer.first_name, 22) or 'X'}</FirstName>"
            f"<LastName>{_ascii_upper(payer.last_name, 22) or 'X'}</LastName>"
            f"<Address1>{_ascii_upper(payer.address1, 50) or 'X'}</Address1>"
            + (f"<Address2>{_ascii_upper(payer.address2, 50)}</Address2>" if payer.address2 else "")
            + f"<ZipCode>{_ascii_upper(payer.postcode, 16) or '00000'}</ZipCode>"
            f"<City>{_ascii_upper(payer.city, 50) or 'X'}</City>"
            "<CountryCode>250</CountryCode></Address></Billing>"
        )
        cart = (
            '<?xml version="1.0" encoding="utf-8"?><shoppingcart><total>'
            "<totalQuantity>1</totalQuantity></total></shoppingcart>"
        )
        # One canonical order: the HMAC string and the hidden inputs use this very list.
        fields = [
            ("PBX_SITE", c.site),
            ("PBX_RANG", c.rang),
            ("PBX_IDENTIFIANT", c.identifiant),
            ("PBX_TOTAL", paybox.pbx_total(amount_cents)),
            ("PBX_DEVISE", paybox.CURRENCY_EURO),
            ("PBX_CMD", reference),
            ("PBX_PORTEUR", payer.email),
            ("PBX_RETOUR", paybox.RETOUR),
            ("PBX_HASH", c.hash),
            ("PBX_TIME", paybox.pbx_time(clock.paris_now())),
            ("PBX_REPONDRE_A", base + IPN_PATH),
            *return_urls(base, return_path).items(),
            ("PBX_LANGUE", "FRA"),
            ("PBX_SHOPPINGCART", cart),
            ("PBX_BILLING", billing),
        ]
        url = await _available_endpoint(c.endpoints)
        return RedirectForm(
            url=url, method="post", fields=paybox.sign_form(fields, c.hmac_key, c.hash)
        )

    def verify(self, *, method: str, raw_query: bytes, raw_body: bytes) -> Notification:
        """The notification as Paybox sent it to PBX_REPONDRE_A: by GET in the query string, or
        by POST (PBX_RUF1=POST) in the body. Our notification URL has no query string of its
        own, so a POST that also carries one is not from Paybox."""
        if method.upper() == "POST":
            raw, stray = raw_body, bool(raw_query)
        else:
            raw, stray = raw_query, False
        text = raw.decode("ascii", errors="replace")[:RAW_KEPT]
        if stray:
            return Notification(signed=False, raw=text, refusal="format")
        try:
            signed = paybox.read_notification(raw, public_keys(self.config))
        except paybox.NotificationRefused as refused:
            return Notification(signed=False, raw=text, refusal=refused.reason)
        f = signed.fields
        try:
            amount = int(f.get("mt", ""))
        except ValueError:
            amount = None
        code = f.get("err", "")
        return Notification(
            signed=True,
            raw=text,
            key_name=signed.key.name,
            reference=f.get("ref", ""),
            amount_cents=amount,
            code=code,
            authorisation=f.get("auto", ""),
            transaction=f.get("trans", ""),
            call_number=f.get("appel", ""),
            paid_at=paybox.parse_paybox_date(f.get("date", ""), f.get("heure", "")),
            status=paybox.outcome_of(code),
            fields=f,
        )


def provider_for(config: PayboxConfig) -> PaymentProvider:
    return PayboxProvider(config)
