"""The Paybox protocol itself: docs/payments.md's HMAC worked example and real Paybox signatures."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ecp.payments import paybox
from ecp.payments.config import SHIPPED_KEYS

DATA = Path(__file__).resolve().parents[2] / "data" / "paybox"
TEST_KEY = "0123456789ABCDEF" * 8
WORKED_EXAMPLE = [
    ("PBX_SITE", "1999888"),
    ("PBX_RANG", "32"),
    ("PBX_IDENTIFIANT", "107904482"),
    ("PBX_TOTAL", "4250"),
    ("PBX_DEVISE", "978"),
    ("PBX_CMD", "FAC-2026-000123"),
    ("PBX_PORTEUR", "parent@example.org"),
    ("PBX_RETOUR", "mt:M;ref:R;auto:A;err:E;appel:T;trans:S;sign:K"),
    ("PBX_HASH", "SHA512"),
    ("PBX_TIME", "2026-03-15T10:21:00+01:00"),
    ("PBX_REPONDRE_A", "https://portail.example.fr/paiement/paybox/ipn"),
]
EXPECTED = (
    "FADD3CCC028783C11A3689ED74DF82A25486C48359FB132455193677DDC380873A7BE7FC020788F4C5"
    "214EFB805E79CC7FA414D787094669B237DB5060C82B66"
)


def test_hmac_reproduces_the_worked_example():
    assert len(paybox.hmac_message(WORKED_EXAMPLE)) == 310
    assert paybox.compute_hmac(WORKED_EXAMPLE, TEST_KEY) == EXPECTED
    assert paybox.compute_hmac(WORKED_EXAMPLE, TEST_KEY.lower()) == EXPECTED


def test_hmac_depends_on_key_decoding_and_field_order():
    import hashlib
    import hmac

    text_key = (
        hmac.new(TEST_KEY.encode(), paybox.hmac_message(WORKED_EXAMPLE).encode(), hashlib.sha512)
        .hexdigest()
        .upper()
    )
    assert text_key.startswith("E247A3F40D91D88D")
    assert paybox.compute_hmac(sorted(WORKED_EXAMPLE), TEST_KEY).startswith("774F867A5D8C0EEA")


def test_omnipay_vector_without_pbx_hash():
    fields = [
        ("PBX_SITE", "1999888"),
        ("PBX_RANG", "32"),
        ("PBX_IDENTIFIANT", "107904482"),
        ("PBX_TOTAL", "1000"),
        ("PBX_DEVISE", "978"),
        ("PBX_CMD", "TEST zyxwv"),
        ("PBX_PORTEUR", "test@paybox.com"),
        ("PBX_RETOUR", "Mt:M;Ref:R;Auto:A;Erreur:E"),
        ("PBX_TIME", "2014-12-01T00:00:00+00:00"),
    ]
    mac = paybox.compute_hmac(fields, TEST_KEY)
    assert mac.startswith("7D15A9C93C4B1A3E") and mac.endswith("64FB55FD10")


def test_signed_form_is_checked_like_paybox_does():
    from urllib.parse import urlencode

    form = paybox.sign_form(WORKED_EXAMPLE, TEST_KEY)
    assert form[-1] == ("PBX_HMAC", EXPECTED)
    body = urlencode(form).encode()
    assert paybox.check_form(body, TEST_KEY) == WORKED_EXAMPLE
    assert paybox.check_form(body.replace(b"PBX_TOTAL=4250", b"PBX_TOTAL=0100"), TEST_KEY) is None
    assert paybox.check_form(body, "AB" * 64) is None


def test_amount_and_time_formats():
    import datetime as dt

    assert paybox.pbx_total(4250) == "4250" and paybox.pbx_total(25) == "025"
    moment = dt.datetime(2026, 3, 15, 10, 21, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert paybox.pbx_time(moment) == "2026-03-15T10:21:00+01:00"


def real_samples():
    return json.loads((DATA / "real-signatures.json").read_text())["samples"]


@pytest.fixture(scope="module")
def paybox_2014_key():
    return [paybox.load_public_key(SHIPPED_KEYS[0])]


@pytest.mark.parametrize("index", range(4))
def test_real_paybox_notifications_verify_with_the_2014_key(index, paybox_2014_key):
    raw = real_samples()[index]["query"].encode()
    key = paybox.verify(raw, paybox_2014_key)
    assert key is not None and key.name == "pubkey-rsa1024-2014.pem"
    # Both shipped keys configured: the 2014 key is still found.
    both = [paybox.load_public_key(p) for p in SHIPPED_KEYS]
    assert paybox.verify(raw, both).name == "pubkey-rsa1024-2014.pem"


# The PBX_RETOUR the omnipay samples were made with (their names, our letters).
SAMPLE_RETOUR = "Mt:M;Id:R;Ref:A;Erreur:E;sign:K"


@pytest.mark.parametrize(
    "index,fields",
    [
        (0, {"Mt": "100", "Id": "45", "Erreur": "00114"}),
        (1, {"Mt": "100", "Id": "47", "Ref": "601957", "Erreur": "00000"}),
        (2, {"Mt": "100", "Id": "43", "Ref": "XXXXXX", "Erreur": "00000"}),
    ],
)
def test_real_notifications_are_read_from_their_signed_bytes(index, fields, paybox_2014_key):
    raw = real_samples()[index]["query"].encode()
    note = paybox.read_notification(raw, paybox_2014_key, retour=SAMPLE_RETOUR, required=())
    assert note.fields == fields and note.key.name == "pubkey-rsa1024-2014.pem"


def test_a_real_browser_return_is_not_a_notification(paybox_2014_key):
    """Its signature covers the merchant's parameters in front of the Paybox variables."""
    raw = real_samples()[3]["query"].encode()
    assert paybox.verify(raw, paybox_2014_key) is not None  # genuinely signed...
    with pytest.raises(paybox.NotificationRefused) as refused:  # ...but not a notification
        paybox.read_notification(raw, paybox_2014_key, retour=SAMPLE_RETOUR, required=())
    assert refused.value.reason == "format"
    # Cutting the merchant's parameters off breaks the signature.
    stripped = raw[raw.index(b"Mt=") :]
    with pytest.raises(paybox.NotificationRefused) as refused:
        paybox.read_notification(stripped, paybox_2014_key, retour=SAMPLE_RETOUR, required=())
    assert refused.value.reason == "signature"


@pytest.mark.parametrize("index", range(4))
def test_one_changed_byte_in_the_signed_part_is_rejected(index, paybox_2014_key):
    raw = real_samples()[index]["query"].encode()
    signed_len = raw.rfind(b"&sign=")
    for position in range(signed_len):
        tampered = bytearray(raw)
        tampered[position] = ord("0") if tampered[position] != ord("0") else ord("1")
        assert paybox.verify(bytes(tampered), paybox_2014_key) is None, position


def test_unsigned_or_badly_signed_data_is_rejected(paybox_2014_key):
    raw = real_samples()[1]["query"].encode()
    data = raw[: raw.rfind(b"&sign=")]
    assert paybox.verify(data, paybox_2014_key) is None  # no signature at all
    assert paybox.verify(raw + b"&extra=1", paybox_2014_key) is None  # something after K
    assert paybox.verify(data + b"&sign=", paybox_2014_key) is None
    assert paybox.verify(data + b"&sign=%%%", paybox_2014_key) is None
    # The 2025 key alone does not verify a 2014 signature.
    assert paybox.verify(raw, [paybox.load_public_key(SHIPPED_KEYS[1])]) is None


def test_shipped_keys_are_the_published_ones():
    from cryptography.hazmat.primitives import serialization

    sizes = [paybox.load_public_key(p).key.key_size for p in SHIPPED_KEYS]
    assert sizes == [1024, 2048]
    spki = (
        paybox.load_public_key(SHIPPED_KEYS[1])
        .key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    assert "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA16QmkNXsa4XjKqhMCF9k" in spki


@pytest.fixture(scope="module")
def own_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


FIELDS = [
    ("mt", "4250"),
    ("ref", "ECP-abc_DEF"),
    ("auto", "XXXXXX"),
    ("err", "00000"),
    ("appel", "1"),
    ("trans", "2"),
    ("date", "15032026"),
    ("heure", "10:21:33"),
]


def refusal(raw: bytes, key) -> str:
    with pytest.raises(paybox.NotificationRefused) as refused:
        paybox.read_notification(raw, [key])
    return refused.value.reason


def test_rsa_2048_reply_round_trip_and_plus_in_signature(own_key):
    key = paybox.PublicKey("own", own_key.public_key())
    # A '+' in the base64 signature must not be read as a space. About one signature in two
    # hundred has none: sign variants of the reply (another transaction number) until one has.
    for trans in range(2, 40):
        fields = [(n, str(trans) if n == "trans" else v) for n, v in FIELDS]
        raw = paybox.sign_reply(fields, own_key)
        if b"%2B" in raw[raw.rfind(b"&sign=") + 6 :]:
            break
    else:
        raise AssertionError("no signature with a '+' in 38 tries")
    assert paybox.verify(raw, [key]) is key
    assert b"heure=10%3A21%3A33" in raw
    note = paybox.read_notification(raw, [key])
    assert note.fields == dict(fields) and note.key is key


def test_fields_put_in_front_of_a_signed_query_are_refused(own_key):
    """The forgery once accepted: a genuine cancellation with a success written before it."""
    key = paybox.PublicKey("own", own_key.public_key())
    cancelled = paybox.sign_reply(
        [("mt", "4250"), ("ref", "ECP-x"), ("auto", ""), ("err", "00001"), ("trans", "")], own_key
    )
    assert paybox.read_notification(cancelled, [key]).fields["err"] == "00001"
    for prefix in (b"err=00000&auto=XXXXXX&trans=777&", b"x=1&", b"&", b"mt=4250&"):
        assert paybox.verify(prefix + cancelled, [key]) is None
        assert refusal(prefix + cancelled, key) in ("format", "signature")
    # The signature does cover the prefix: still refused, because nothing may come first.
    marker = paybox.sign_reply(FIELDS, own_key, prefix=b"canal=navigateur&")
    assert paybox.verify(marker, [key]) is key
    assert refusal(marker, key) == "format"


def test_names_must_be_literal_unique_and_in_order_even_when_signed(own_key):
    """Each layout below is signed with the trusted key: the refusal comes from the layout."""
    key = paybox.PublicKey("own", own_key.public_key())

    def signed(data: bytes) -> bytes:
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        signature = own_key.sign(data, padding.PKCS1v15(), hashes.SHA1())
        return data + b"&sign=" + quote(base64.b64encode(signature), safe="").encode()

    good = b"mt=4250&ref=ECP-x&auto=XXXXXX&err=00000&trans=9"
    assert paybox.read_notification(signed(good), [key]).fields["trans"] == "9"
    for data in (
        b"mt=4250&%72ef=ECP-x&err=00000",  # percent-encoded name
        b"mt=4250&re%66=ECP-x&err=00000",
        b"%6Dt=4250&ref=ECP-x&err=00000",
        b"mt=4250&r+ef=ECP-x&err=00000",  # plus in a name
        b"mt=4250&ref=ECP-x&ref=ECP-y&err=00000",  # repeated name
        b"mt=4250&ref=ECP-x&err=00000&mt=1",
        b"mt=4250&err=00000&ref=ECP-x",  # out of PBX_RETOUR order
        b"mt=4250&ref=ECP-x&err=00000&extra=1",  # not a PBX_RETOUR variable
        b"mt=4250&ref=ECP-x&err=00000&sign=1",  # the signature's own name inside
        b"mt=4250&ref&err=00000",  # a name without value
        b"mt=4250&ref=ECP-x",  # err missing
        b"mt=4250&ref=EC P&err=00000",  # a raw space
        b"mt=4250&ref=%FF&err=00000",  # not UTF-8 once decoded
    ):
        assert refusal(signed(data), key) == "format", data


def test_unsigned_parameters_after_the_signature_are_refused(own_key):
    key = paybox.PublicKey("own", own_key.public_key())
    raw = paybox.sign_reply([("mt", "100"), ("ref", "r"), ("err", "00000")], own_key)
    assert refusal(raw + b"&mt=1", key) == "signature"
    assert refusal(raw + b"&", key) == "signature"
    assert refusal(b"", key) == "format"
    assert refusal(raw + b"A" * 5000, key) == "format"  # far bigger than any notification


@pytest.mark.parametrize(
    "code,status",
    [
        ("00000", "payee"),
        ("99999", "en_attente"),
        ("00001", "annulee"),
        ("00030", "expiree"),
        ("00105", "refusee"),
        ("00151", "refusee"),
        ("00177", "refusee"),
        ("00004", "refusee"),
        ("00021", "refusee"),
        ("00006", "erreur"),
        ("00015", "erreur"),
        ("12345", "erreur"),
    ],
)
def test_response_codes_map_to_states(code, status):
    assert paybox.outcome_of(code) == status


def test_paybox_dates_are_day_month_year_in_paris():
    moment = paybox.parse_paybox_date("15032026", "10:21:33")
    assert (moment.year, moment.month, moment.day, moment.hour) == (2026, 3, 15, 10)
    assert moment.utcoffset().total_seconds() == 3600
    assert paybox.parse_paybox_date("20260315", "10:21:33") is None
