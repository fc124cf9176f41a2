"""PayFiP Régie web service (DGFiP): the second card-payment provider, beside Paybox.

The flow (docs/payments.md, « PayFiP »):

1. `create_operation` calls the SOAP operation `creerPaiementSecurise` (numcli, exer, refdet,
   montant in cents, mel, objet, saisie, urlnotif, urlredirect) and gets an `idOp`;
2. the family's browser goes to PayFiP's page with that idOp (`payment_url`);
3. PayFiP calls `urlnotif` with the idOp, and sends the browser back to `urlredirect`;
4. only then does the portal ask, server to server, `recupererDetailPaiementSecurise(idOp)`
   (`fetch_detail`): its answer, and nothing the browser or the notification carries, says
   whether the debt was paid. There is no signature: authenticity is that call, over TLS to the
   configured endpoint.

One debt (one invoice) per PayFiP operation. This module is the protocol and the SOAP client
(zeep, over httpx), no database: ecp.payments.payfip_services applies the answers.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import httpx
import zeep
import zeep.exceptions
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from ecp import clock
from ecp.payments import paybox
from ecp.payments.provider import Notification
from ecp.resources import TEMPLATES

NAMESPACE = (
    "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/"
    "contrat_paiement_securise/PaiementSecuriseService"
)
BINDING = f"{{{NAMESPACE}}}PaiementSecuriseServiceSoapBinding"
# Written from the documented interface and shipped (DGFiP's own refers to unreachable schemas).
WSDL = TEMPLATES / "soap" / "payfip-securite.wsdl"

NOTIFY_PATH = "/paiement/payfip/notification"
SIMULATOR_SERVICE_PATH = "/simulateur-payfip/services/securite"
SIMULATOR_PAGE_PATH = "/simulateur-payfip/paiement"
# The simulator's client number (the demo's): PayFiP publishes no shared test number.
TEST_NUMCLI = "999999"
# An idOp is usable about 15 minutes on PayFiP's side; after that a new one is asked for.
OPERATION_MINUTES = 15
MINIMUM_CENTS = 100
MAXIMUM_CENTS = 10_000_000  # 100 000 €

PROVIDER_LABELS = {
    "paybox": "Carte bancaire, sur la page de paiement de la banque",
    "payfip": "PayFiP, le service de paiement de la DGFiP (carte bancaire ou prélèvement unique)",
}

# resultrans -> the portal's attempt state. P (paid) and V (paid by single debit through
# PayFiP) settle; A is the payer's abandon; R and Z refusals. Anything else is an error.
RESULTS = {
    "P": paybox.PAID,
    "V": paybox.PAID,
    "A": paybox.CANCELLED,
    "R": paybox.REFUSED,
    "Z": paybox.REFUSED,
}
# Functional faults of PayFiP's web service (FonctionnelleErreur/code).
FAULT_UNKNOWN = "P1"  # unknown or purged idOp
FAULT_IN_PROGRESS = "P5"  # the payment is still under way: no result yet


@dataclass(frozen=True)
class PayfipConfig:
    numcli: str
    saisie: str
    service_url: str
    payment_url: str
    simulator: bool
    minimum_cents: int = MINIMUM_CENTS

    def problems(self) -> list[str]:
        found = []
        if not (self.numcli.isdigit() and len(self.numcli) == 6):
            found.append("ECP_PAYFIP_NUMCLI doit compter 6 chiffres.")
        if self.saisie not in ("T", "X", "W"):
            found.append("ECP_PAYFIP_SAISIE doit valoir T, X ou W.")
        if not self.simulator and not self.service_url.startswith("https://"):
            found.append("ECP_PAYFIP_SERVICE_URL doit commencer par https://.")
        return found

    @property
    def ready(self) -> bool:
        return not self.problems()


def payfip_config(settings) -> PayfipConfig:
    """The PayFiP part of these settings. With the simulator on, the SOAP endpoint and the
    payment page are this site's own simulator (whatever ECP_PAYFIP_*_URL say), in test mode."""
    if settings.payment_simulator:
        return PayfipConfig(
            numcli=settings.payfip_numcli or TEST_NUMCLI,
            saisie="T",
            service_url=settings.base_url.rstrip("/") + SIMULATOR_SERVICE_PATH,
            payment_url=SIMULATOR_PAGE_PATH,
            simulator=True,
        )
    return PayfipConfig(
        numcli=settings.payfip_numcli,
        saisie=settings.payfip_saisie,
        service_url=settings.payfip_service_url,
        payment_url=settings.payfip_payment_url,
        simulator=False,
    )


def card_providers(settings) -> list[str]:
    """The providers offered to families, in the order set, among those ready to take money."""
    offered = []
    for name in settings.payment_providers:
        if name == "paybox" and settings.paybox.ready:
            offered.append(name)
        elif name == "payfip" and payfip_config(settings).ready:
            offered.append(name)
    return offered


def _alnum(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]", "", plain)


def refdet_for(invoice_number: str, attempt_id: int) -> str:
    """The debt reference: the invoice number's letters and digits, then the attempt, so that
    a new attempt never reuses the reference of one PayFiP may still hold (30 characters)."""
    suffix = f"T{attempt_id}"
    return _alnum(invoice_number)[: 30 - len(suffix)] + suffix


def objet_for(invoice_number: str, commune: str) -> str:
    """`objet`: letters, digits and spaces only, 100 characters at most."""
    plain = unicodedata.normalize("NFKD", f"Facture {invoice_number} {commune}")
    plain = plain.encode("ascii", "ignore").decode()
    return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9 ]", " ", plain)).strip()[:100]


def payment_page(config: PayfipConfig, id_op: str) -> str:
    return f"{config.payment_url}?idop={id_op}"


@dataclass(frozen=True)
class Detail:
    """recupererDetailPaiementSecurise's answer."""

    id_op: str
    resultrans: str
    montant: int | None
    numauto: str = ""
    dattrans: str = ""
    heurtrans: str = ""
    refdet: str = ""
    numcli: str = ""
    exer: str = ""
    mel: str = ""
    objet: str = ""
    saisie: str = ""

    @property
    def status(self) -> str:
        return RESULTS.get(self.resultrans, paybox.ERROR)

    @property
    def paid_at(self) -> dt.datetime | None:
        """dattrans DDMMYYYY and heurtrans HHMM (or HHMMSS), Paris time."""
        try:
            day = dt.datetime.strptime(self.dattrans, "%d%m%Y").date()
            digits = (self.heurtrans or "0000").ljust(6, "0")[:6]
            moment = dt.time(int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
        except ValueError:
            return None
        return dt.datetime.combine(day, moment, tzinfo=clock.PARIS)

    def summary(self) -> str:
        """What is kept of the answer for the régisseur (PaymentNotification.raw_query)."""
        return (
            f"payfip idop={self.id_op} resultrans={self.resultrans} montant={self.montant} "
            f"numauto={self.numauto} dattrans={self.dattrans} heurtrans={self.heurtrans} "
            f"refdet={self.refdet} numcli={self.numcli} exer={self.exer} saisie={self.saisie}"
        )


class PayfipFault(Exception):
    """A FonctionnelleErreur from PayFiP (code P1, P5...), or an answer we cannot read."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code} {message}".strip())
        self.code = code
        self.message = message


def http_client(settings, app=None) -> httpx.AsyncClient:
    """The HTTP client of the SOAP calls: DGFiP over TLS, or with the simulator this very app,
    in process (the same SOAP endpoint the demo serves, without a network)."""
    if settings.payment_simulator and app is not None:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=settings.base_url, timeout=10.0
        )
    return httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0))


class Client:
    """The two operations, over zeep with the shipped WSDL and the configured endpoint."""

    def __init__(self, config: PayfipConfig, http: httpx.AsyncClient):
        self.config = config
        self._wsdl_http = httpx.Client()  # zeep reads the shipped file; this is never used
        transport = AsyncTransport(client=http, wsdl_client=self._wsdl_http)
        self._zeep = zeep.AsyncClient(wsdl=str(WSDL), transport=transport)
        # zeep's AsyncClient.create_service gives a synchronous proxy: build the async one.
        binding = self._zeep.wsdl.bindings[BINDING]
        self._service = AsyncServiceProxy(self._zeep, binding, address=config.service_url)

    def close(self) -> None:
        self._wsdl_http.close()

    async def create_operation(
        self,
        *,
        exer: int,
        refdet: str,
        montant: int,
        mel: str,
        objet: str,
        urlnotif: str,
        urlredirect: str,
    ) -> str:
        arg = {
            "exer": str(exer),
            "mel": mel,
            "montant": str(montant),
            "numcli": self.config.numcli,
            "objet": objet,
            "refdet": refdet,
            "saisie": self.config.saisie,
            "urlnotif": urlnotif,
            "urlredirect": urlredirect,
        }
        answer = await self._call("creerPaiementSecurise", arg)
        # zeep unwraps a one-field answer to the field itself.
        id_op = str((answer if isinstance(answer, str) else getattr(answer, "idOp", None)) or "")
        id_op = id_op.strip()
        if not id_op or len(id_op) > 64:
            raise PayfipFault("format", "idOp absent ou trop long")
        return id_op

    async def fetch_detail(self, id_op: str) -> Detail:
        answer = await self._call("recupererDetailPaiementSecurise", {"idOp": id_op})

        def value(name: str) -> str:
            return str(getattr(answer, name, None) or "").strip()

        try:
            montant = int(value("montant"))
        except ValueError:
            montant = None
        return Detail(
            id_op=value("idOp") or id_op,
            resultrans=value("resultrans").upper(),
            montant=montant,
            numauto=value("numauto"),
            dattrans=value("dattrans"),
            heurtrans=value("heurtrans"),
            refdet=value("refdet"),
            numcli=value("numcli"),
            exer=value("exer"),
            mel=value("mel"),
            objet=value("objet"),
            saisie=value("saisie"),
        )

    async def _call(self, operation: str, arg: dict):
        try:
            return await getattr(self._service, operation)(arg0=arg)
        except zeep.exceptions.Fault as fault:
            raise PayfipFault(*_fault_code(fault)) from None
        except (zeep.exceptions.XMLSyntaxError, zeep.exceptions.ValidationError) as error:
            raise PayfipFault("format", str(error)[:200]) from None


def _fault_code(fault: zeep.exceptions.Fault) -> tuple[str, str]:
    """(code, libellé) of a FonctionnelleErreur, read from the fault's detail."""
    code, label = "", fault.message or ""
    detail = fault.detail
    if detail is not None:
        for element in detail.iter():
            tag = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
            if tag == "code" and element.text:
                code = element.text.strip()
            elif tag == "libelle" and element.text:
                label = element.text.strip()
    return code or "inconnu", label


def notification(detail: Detail, *, reference: str) -> Notification:
    """The detail as the portal's Notification (ecp.payments.services.handle_notification):
    "signed" because it is the answer of our own call to PayFiP, the idOp as the transaction
    (one payment per operation), numauto as the authorisation."""
    authorisation = detail.numauto or ("prelevement" if detail.resultrans == "V" else "")
    return Notification(
        signed=True,
        raw=detail.summary()[:1200],
        key_name="PayFiP",
        reference=reference,
        amount_cents=detail.montant,
        code=detail.resultrans[:10],
        authorisation=authorisation,
        transaction=detail.id_op[:40],
        call_number=detail.refdet,
        paid_at=detail.paid_at,
        status=detail.status,
        fields={"idop": detail.id_op, "resultrans": detail.resultrans},
    )
