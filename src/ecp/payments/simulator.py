"""The local Paybox simulator's bank side: its test RSA key pair and the replies it signs.

The key pair is generated at first use into a git-ignored directory (var/paybox-test-keys/) and
is trusted by the verifier only while ECP_PAYMENT_SIMULATOR is on.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ecp import clock
from ecp.payments import paybox

PRIVATE_NAME = "simulateur-prive.pem"

# Documented on the simulator page.
CARD_SUCCESS = "1111222233334444"
CARD_REFUSED = "4000000000000002"
CARD_PENDING = "5555666677778888"
CARDS = {
    CARD_SUCCESS: ("00000", "paiement accepté"),
    CARD_REFUSED: ("00105", "paiement refusé par la banque (code 00105)"),
    CARD_PENDING: ("99999", "paiement en attente de confirmation de la banque (code 99999)"),
}
CANCEL_CODE = "00001"
IPN_MODES = {
    "normal": "Envoyer la notification tout de suite (comportement normal)",
    "double": "Envoyer la notification deux fois",
    "tardive": "Envoyer la notification 5 secondes après le retour sur le portail",
    "aucune": "Ne pas envoyer de notification (perdue)",
}
LATE_SECONDS = 5


def _private_path(keys_dir: str) -> Path:
    return Path(keys_dir) / PRIVATE_NAME


def private_key(keys_dir: str) -> rsa.RSAPrivateKey:
    """Loads, or generates once, the simulator's RSA-2048 key (written atomically, mode 0600)."""
    return _private_key(str(Path(keys_dir).resolve()))


@lru_cache(maxsize=4)
def _private_key(keys_dir: str) -> rsa.RSAPrivateKey:
    path = _private_path(keys_dir)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.chmod(tmp, 0o600)
        # Two processes may race here: link() keeps the first key, so both end up using it.
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def test_public_key(config) -> paybox.PublicKey:
    return paybox.PublicKey(
        name="simulateur (clé de test)", key=private_key(config.test_keys_dir).public_key()
    )


def reply_fields(
    pbx: dict[str, str], code: str, *, now: dt.datetime | None = None
) -> list[tuple[str, str]]:
    """The PBX_RETOUR variables, in the merchant's order, as Paybox would fill them."""
    moment = (now or clock.now()).astimezone(clock.PARIS)
    paid = code == "00000"
    values = {
        "M": pbx.get("PBX_TOTAL", ""),
        "R": pbx.get("PBX_CMD", ""),
        "A": "XXXXXX" if paid else "",
        "E": code,
        "T": str(secrets.randbelow(10**9)),
        "S": str(secrets.randbelow(10**9)) if code != CANCEL_CODE else "",
        "W": moment.strftime("%d%m%Y"),
        "Q": moment.strftime("%H:%M:%S"),
        "C": "CB",
        "P": "CARTE",
        "J": "44",
        "N": "111122",
    }
    fields = []
    for item in pbx.get("PBX_RETOUR", "").split(";"):
        name, _, letter = item.partition(":")
        if letter == "K":
            break
        fields.append((name, values.get(letter, "")))
    return fields


def sign_name(pbx: dict[str, str]) -> str:
    for item in pbx.get("PBX_RETOUR", "").split(";"):
        name, _, letter = item.partition(":")
        if letter == "K":
            return name
    return paybox.SIGN_NAME


def signed_replies(
    pbx: dict[str, str], code: str, keys_dir: str, return_query: str
) -> tuple[bytes, bytes]:
    """(the notification's query, the browser return's query) for one answer, as Paybox signs
    them: the notification over the PBX_RETOUR variables alone, the browser return over its
    whole query string, which starts with the return URL's own parameters (our marker)."""
    fields = reply_fields(pbx, code)
    key = private_key(keys_dir)
    name = sign_name(pbx)
    notification = paybox.sign_reply(fields, key, name)
    browser = paybox.sign_reply(
        fields, key, name, prefix=(return_query + "&").encode("ascii") if return_query else b""
    )
    return notification, browser


def return_url(pbx: dict[str, str], code: str) -> str:
    status = paybox.outcome_of(code)
    name = {
        paybox.PAID: "PBX_EFFECTUE",
        paybox.PENDING: "PBX_ATTENTE",
        paybox.CANCELLED: "PBX_ANNULE",
    }.get(status, "PBX_REFUSE")
    return pbx[name]
