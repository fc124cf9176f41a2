"""The Paybox System protocol (docs/payments.md): the HMAC-signed PBX_* form and the RSA-signed reply.

Pure functions, no database: signing the outgoing form, verifying a notification over the raw
bytes exactly as received, reading its signed fields and mapping the response code.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# Names are our own labels; K (the signature) must come last (docs/payments.md).
RETOUR = "mt:M;ref:R;auto:A;err:E;appel:T;trans:S;date:W;heure:Q;carte:C;sign:K"
SIGN_NAME = "sign"
# Our own parameter on the browser return URLs: see read_notification for why it exists.
BROWSER_RETURN_MARKER = "canal=navigateur"
CURRENCY_EURO = "978"
HASHES = {
    "SHA512": hashlib.sha512,
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
    "SHA224": hashlib.sha224,
}

# Portal states of an attempt (PaymentAttempt.status).
PAID, PENDING, REFUSED, CANCELLED, EXPIRED, ERROR = (
    "payee",
    "en_attente",
    "refusee",
    "annulee",
    "expiree",
    "erreur",
)


def hmac_message(fields: list[tuple[str, str]]) -> str:
    """NAME=value joined by &, in form order, without URL-encoding (docs/payments.md)."""
    return "&".join(f"{name}={value}" for name, value in fields)


def compute_hmac(fields: list[tuple[str, str]], key_hex: str, algorithm: str = "SHA512") -> str:
    """Uppercase hex HMAC keyed with the hex key DECODED to bytes (the classic bug is the text)."""
    key = binascii.unhexlify(key_hex.strip())
    digest = hmac.new(key, hmac_message(fields).encode("utf-8"), HASHES[algorithm])
    return digest.hexdigest().upper()


def pbx_time(moment: dt.datetime) -> str:
    """ISO-8601 with seconds and an explicit offset, no microseconds."""
    return moment.replace(microsecond=0).isoformat()


def pbx_total(cents: int) -> str:
    """Cents, at least 3 digits (42,50 € -> 4250; 0,25 € -> 025)."""
    return f"{cents:03d}"


def sign_form(
    fields: list[tuple[str, str]], key_hex: str, algorithm: str = "SHA512"
) -> list[tuple[str, str]]:
    """The same ordered list with PBX_HMAC appended: the form and the MAC cannot disagree."""
    return [*fields, ("PBX_HMAC", compute_hmac(fields, key_hex, algorithm))]


def check_form(raw_body: bytes, key_hex: str) -> list[tuple[str, str]] | None:
    """What Paybox does with the posted form: recompute the HMAC over the fields as received.

    Returns the fields (without PBX_HMAC) when it matches, else None. Used by the simulator.
    """
    from urllib.parse import parse_qsl

    try:
        pairs = parse_qsl(raw_body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    given = [value for name, value in pairs if name == "PBX_HMAC"]
    fields = [(name, value) for name, value in pairs if name != "PBX_HMAC"]
    algorithm = dict(fields).get("PBX_HASH", "SHA512")
    if len(given) != 1 or algorithm not in HASHES:
        return None
    try:
        expected = compute_hmac(fields, key_hex, algorithm)
    except (binascii.Error, ValueError):
        return None
    return fields if hmac.compare_digest(expected, given[0].upper()) else None


# --- The reply: RSA-SHA1 over the raw bytes ------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    name: str
    key: rsa.RSAPublicKey


def load_public_key(path: Path | str) -> PublicKey:
    path = Path(path)
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path.name} n’est pas une clé publique RSA")
    return PublicKey(name=path.name, key=key)


def split_signed(raw: bytes, sign_name: str = SIGN_NAME) -> tuple[bytes, bytes] | None:
    """(signed data, signature) or None when the data is not signed as docs/payments.md requires:
    the LAST `&<sign>=` marker, nothing after the signature, strict base64 after percent-decoding
    (not plus-decoding: a '+' is base64)."""
    marker = b"&" + sign_name.encode("ascii") + b"="
    at = raw.rfind(marker)
    if at < 0:
        return None
    encoded = raw[at + len(marker) :]
    if b"&" in encoded or not encoded:
        return None
    try:
        signature = base64.b64decode(unquote_to_bytes(encoded), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw[:at], signature


def verify(
    raw: bytes, keys: list[PublicKey] | tuple[PublicKey, ...], *, sign_name: str = SIGN_NAME
) -> PublicKey | None:
    """The key whose signature covers EVERYTHING before the `&<sign>=` marker, or None.

    There is deliberately no second candidate span: reading fields from bytes other than those
    whose signature was checked is how a forged prefix once became a payment (docs/payments.md,
    « La notification »).
    """
    parts = split_signed(raw, sign_name)
    if parts is None:
        return None
    data, signature = parts
    for key in keys:
        try:
            key.key.verify(signature, data, padding.PKCS1v15(), hashes.SHA1())
        except InvalidSignature:
            continue
        return key
    return None


# A name exactly as Paybox writes it: our own PBX_RETOUR labels are plain ASCII words, so a
# percent-encoded or plus-encoded name can only come from someone else.
_NAME = re.compile(rb"[A-Za-z0-9_]{1,32}")
# Values are printable ASCII without spaces (Paybox URL-encodes them). They are signed, so this
# only keeps odd bytes out of the database; the names are what must be exact.
_VALUE = re.compile(rb"[\x21-\x7e]{0,400}")
MAX_NOTIFICATION_BYTES = 4096


class NotificationRefused(Exception):
    """The bytes are not a Paybox notification for this site; `reason` goes to the journal."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SignedNotification:
    key: PublicKey
    fields: dict[str, str]


def retour_names(retour: str = RETOUR) -> tuple[list[str], str]:
    """(the variable names in PBX_RETOUR order, the signature's name)."""
    names, sign = [], SIGN_NAME
    for item in retour.split(";"):
        name, _, letter = item.partition(":")
        if letter == "K":
            sign = name
            break
        names.append(name)
    return names, sign


def read_notification(
    raw: bytes,
    keys: list[PublicKey] | tuple[PublicKey, ...],
    *,
    retour: str = RETOUR,
    required: tuple[str, ...] = ("mt", "ref", "err"),
) -> SignedNotification:
    """The fields of a server-to-server notification, taken from exactly the signed bytes.

    What makes these bytes a notification and not a browser return: the return URLs we give
    Paybox (PBX_EFFECTUE...) carry our own `canal=navigateur` parameter, and Paybox signs a
    browser return over the WHOLE query string, so a return's signed bytes start with
    `canal=navigateur&`. PBX_REPONDRE_A carries no parameter, so a notification's signed bytes
    start with the first PBX_RETOUR variable. Hence the rules, each refusing the whole request:
    - the signed span starts at byte 0 with the first PBX_RETOUR name (nothing in front of it:
      neither our marker nor fields an attacker put before a genuine signed query);
    - every name is written literally (no percent- or plus-encoding), belongs to PBX_RETOUR and
      comes in its order, so a name can neither repeat nor be smuggled in under another spelling;
    - the signature covers that very span, and the fields returned are read from it alone.
    """
    names, sign_name = retour_names(retour)
    if not raw or len(raw) > MAX_NOTIFICATION_BYTES:
        raise NotificationRefused("format")
    parts = split_signed(raw, sign_name)
    if parts is None:
        raise NotificationRefused("signature")
    data = parts[0]
    if not data.startswith(names[0].encode("ascii") + b"="):
        raise NotificationRefused("format")
    position = {name: index for index, name in enumerate(names)}
    fields: dict[str, str] = {}
    last = -1
    for pair in data.split(b"&"):
        name, equals, value = pair.partition(b"=")
        if not equals or not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise NotificationRefused("format")
        index = position.get(name.decode("ascii"))
        if index is None or index <= last:  # unknown, repeated or out of PBX_RETOUR order
            raise NotificationRefused("format")
        last = index
        # '+' stays '+': Paybox percent-encodes spaces, and plus-decoding broke Lexik's verifier.
        try:
            fields[name.decode("ascii")] = unquote(value.decode("ascii"), errors="strict")
        except UnicodeDecodeError:
            raise NotificationRefused("format") from None
    if any(name not in fields for name in required):
        raise NotificationRefused("format")
    key = verify(raw, keys, sign_name=sign_name)
    if key is None:
        raise NotificationRefused("signature")
    return SignedNotification(key=key, fields=fields)


def sign_reply(
    fields: list[tuple[str, str]],
    private_key: rsa.RSAPrivateKey,
    sign_name: str = SIGN_NAME,
    prefix: bytes = b"",
) -> bytes:
    """What Paybox sends (used by the simulator and the tests): URL-encoded pairs, then
    `&sign=` and the percent-encoded base64 RSA-SHA1 signature."""
    from urllib.parse import quote

    data = prefix + "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in fields).encode(
        "ascii"
    )
    signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA1())
    return data + f"&{sign_name}=".encode() + quote(base64.b64encode(signature), safe="").encode()


# --- Response codes (docs/payments.md) -------------------------------------------------------

CONFIG_ERRORS = {"00006", "00010", "00011"}
REFUSALS = {"00004", "00008", "00021", "00029", "00033", "00040"}


def outcome_of(code: str) -> str:
    """The attempt state a response code leads to; only 00000 (with checks) means paid."""
    if code == "00000":
        return PAID
    if code == "99999":
        return PENDING
    if code == "00001":
        return CANCELLED
    if code == "00030":
        return EXPIRED
    if (len(code) == 5 and code.startswith("001")) or code in REFUSALS:
        return REFUSED
    return ERROR


def family_message(status: str) -> str:
    """What a parent reads; the bank's detail stays in the régisseur's view."""
    return {
        PAID: "Paiement confirmé.",
        PENDING: "Paiement en cours de confirmation.",
        REFUSED: "Paiement refusé par votre banque. Aucune somme n’a été débitée.",
        CANCELLED: "Paiement annulé. Aucune somme n’a été débitée.",
        EXPIRED: "Le délai de paiement est dépassé. Aucune somme n’a été débitée.",
        ERROR: "Le paiement n’a pas pu aboutir. Aucune somme n’a été débitée.",
    }.get(status, "État du paiement inconnu.")


def parse_paybox_date(day: str, time: str) -> dt.datetime | None:
    """W is DDMMYYYY and Q is HH:MM:SS, both Paris time (docs/payments.md)."""
    from ecp.clock import PARIS

    try:
        return dt.datetime.strptime(f"{day} {time}", "%d%m%Y %H:%M:%S").replace(tzinfo=PARIS)
    except ValueError:
        return None
