"""The local PayFiP simulator's DGFiP side (demo and tests only, never in production): a SOAP
endpoint answering creerPaiementSecurise and recupererDetailPaiementSecurise from the shipped
WSDL, and the state of each operation it opened (PayfipSimulatorOperation).

It only opens operations for this site: the client number it was given, and notification and
return addresses that are this site's own PayFiP URLs, so it never sends a browser elsewhere.
"""

from __future__ import annotations

import re
import secrets
import uuid
from urllib.parse import urlsplit

from lxml import etree

from ecp import clock
from ecp.db import write_transaction
from ecp.payments.payfip import NAMESPACE, NOTIFY_PATH, WSDL, PayfipConfig
from ecp.payments.tables import PayfipSimulatorOperation

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_REQUEST_BYTES = 20_000
# Buttons of the simulator's payment page: result code and what it stands for.
CHOICES = {
    "payer": ("P", "Payer : paiement accepté"),
    "refuser": ("R", "Refuser : paiement refusé par la banque"),
    "abandonner": ("A", "Abandonner : retour au portail sans payer"),
}
NOTIFY_MODES = {
    "normal": "Envoyer la notification tout de suite (comportement normal)",
    "double": "Envoyer la notification deux fois",
    "aucune": "Ne pas envoyer de notification (perdue)",
}
RETURN_RE = re.compile(r"^/famille/paiements/ECP-[A-Za-z0-9_-]{1,60}/payfip/retour$")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def wsdl_text(address: str) -> bytes:
    """The shipped WSDL with this simulator's endpoint as the service address."""
    tree = etree.parse(str(WSDL), _PARSER)
    for node in tree.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
        node.set("location", address)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8")


class SoapRequestError(Exception):
    """Not a SOAP request the simulator understands (answered as a client fault)."""


def read_request(raw: bytes) -> tuple[str, dict[str, str]]:
    """(operation, fields of arg0) of a SOAP 1.1 request."""
    if not raw or len(raw) > MAX_REQUEST_BYTES:
        raise SoapRequestError("requête vide ou trop longue")
    try:
        root = etree.fromstring(raw, _PARSER)
    except etree.XMLSyntaxError:
        raise SoapRequestError("XML illisible") from None
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise SoapRequestError("pas de corps SOAP")
    call = body[0]
    operation = etree.QName(call).localname
    if etree.QName(call).namespace != NAMESPACE:
        raise SoapRequestError("espace de noms inconnu")
    arg = next((c for c in call if etree.QName(c).localname == "arg0"), None)
    fields = {}
    if arg is not None:
        for child in arg:
            fields[etree.QName(child).localname] = (child.text or "").strip()
    return operation, fields


def _envelope(content: etree._Element) -> bytes:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    body.append(content)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def answer(operation: str, values: dict[str, str]) -> bytes:
    wrapper = etree.Element(f"{{{NAMESPACE}}}{operation}Response", nsmap={"ns": NAMESPACE})
    result = etree.SubElement(wrapper, "return")
    for name, value in values.items():
        etree.SubElement(result, name).text = value
    return _envelope(wrapper)


def fault(code: str, label: str, *, client: bool = True) -> bytes:
    node = etree.Element(f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(node, "faultcode").text = "soap:Client" if client else "soap:Server"
    etree.SubElement(node, "faultstring").text = label
    detail = etree.SubElement(node, "detail")
    error = etree.SubElement(detail, f"{{{NAMESPACE}}}FonctionnelleErreur", nsmap={"ns": NAMESPACE})
    etree.SubElement(error, "code").text = code
    etree.SubElement(error, "descriptif").text = label
    etree.SubElement(error, "libelle").text = label
    etree.SubElement(error, "severite").text = "2"
    return _envelope(node)


class Refused(Exception):
    def __init__(self, code: str, label: str):
        super().__init__(label)
        self.code = code
        self.label = label


def _own_url(url: str, base_url: str, path_ok) -> bool:
    parts, base = urlsplit(url), urlsplit(base_url)
    return (
        parts.scheme == base.scheme
        and parts.netloc == base.netloc
        and not parts.query
        and not parts.fragment
        and path_ok(parts.path)
    )


async def create(config: PayfipConfig, base_url: str, fields: dict[str, str]) -> str:
    """creerPaiementSecurise: checks what PayFiP checks (and that the URLs are ours), opens the
    operation and returns its idOp."""
    if fields.get("numcli") != config.numcli:
        raise Refused("R1", "Numéro de client inconnu")
    if fields.get("saisie") not in ("T", "X", "W"):
        raise Refused("R2", "Mode de saisie invalide")
    if not re.fullmatch(r"[A-Za-z0-9]{1,30}", fields.get("refdet", "")):
        raise Refused("R3", "Référence de la dette invalide")
    if not re.fullmatch(r"\d{4}", fields.get("exer", "")):
        raise Refused("R4", "Exercice invalide")
    try:
        montant = int(fields.get("montant", ""))
    except ValueError:
        montant = 0
    if not 100 <= montant <= 10_000_000:
        raise Refused("R5", "Montant hors des limites (1 € à 100 000 €)")
    mel = fields.get("mel", "")
    if not 6 <= len(mel) <= 80 or "@" not in mel:
        raise Refused("R6", "Adresse électronique invalide")
    if not re.fullmatch(r"[A-Za-z0-9 ]{0,100}", fields.get("objet", "")):
        raise Refused("R7", "Objet invalide")
    base = base_url.rstrip("/")
    if not _own_url(fields.get("urlnotif", ""), base, lambda p: p == NOTIFY_PATH):
        raise Refused("R8", "Adresse de notification refusée")
    if not _own_url(fields.get("urlredirect", ""), base, RETURN_RE.fullmatch):
        raise Refused("R9", "Adresse de retour refusée")
    id_op = str(uuid.uuid4())
    async with write_transaction():
        await PayfipSimulatorOperation(
            id_op=id_op,
            numcli=fields["numcli"],
            exer=fields["exer"],
            refdet=fields["refdet"],
            montant=montant,
            mel=mel,
            objet=fields.get("objet", ""),
            saisie=fields["saisie"],
            urlnotif=fields["urlnotif"],
            urlredirect=fields["urlredirect"],
            created_at=clock.now(),
        ).save()
    return id_op


async def operation(id_op: str) -> dict | None:
    return (
        await PayfipSimulatorOperation.select()
        .where(PayfipSimulatorOperation.id_op == id_op[:64])
        .first()
    )


async def detail(id_op: str) -> dict[str, str]:
    """recupererDetailPaiementSecurise: P1 for an idOp it never opened, P5 while the payer has
    not finished on the payment page."""
    row = await operation(id_op)
    if row is None:
        raise Refused("P1", "Opération inconnue ou purgée")
    if not row["resultrans"]:
        raise Refused("P5", "Paiement en cours, résultat non encore connu")
    moment = (row["paid_at"] or row["created_at"]).astimezone(clock.PARIS)
    return {
        "dattrans": moment.strftime("%d%m%Y"),
        "exer": row["exer"],
        "heurtrans": moment.strftime("%H%M"),
        "idOp": row["id_op"],
        "mel": row["mel"],
        "montant": str(row["montant"]),
        "numauto": row["numauto"],
        "numcli": row["numcli"],
        "objet": row["objet"],
        "refdet": row["refdet"],
        "resultrans": row["resultrans"],
        "saisie": row["saisie"],
    }


async def decide(id_op: str, choice: str) -> dict | None:
    """The payer's choice on the simulator's page (once: a second choice changes nothing).
    Returns the operation, or None when there is no such open operation."""
    code = CHOICES[choice][0]
    async with write_transaction():
        row = await operation(id_op)
        if row is None:
            return None
        if not row["resultrans"]:
            await PayfipSimulatorOperation.update(
                {
                    PayfipSimulatorOperation.resultrans: code,
                    PayfipSimulatorOperation.numauto: (
                        f"{secrets.randbelow(10**6):06d}" if code == "P" else ""
                    ),
                    PayfipSimulatorOperation.paid_at: clock.now(),
                }
            ).where(PayfipSimulatorOperation.id == row["id"])
    return await operation(id_op)
