"""Rendering messages from Jinja2 files, one per event type and language.

``templates/<event type>.<lang>.j2`` defines three blocks: ``subject`` (one line),
``body`` (the email text) and ``sms`` (a short text, sent without diacritics so it
fits GSM-7 as Vietnamese brand-name SMS usually do). Variables: ``data`` (the
event's contract model), ``dossier_code``, ``name`` (the recipient), ``lookup_url``,
``supplement_url`` (intake's route for the applicant's supplement before reception: the
look-up link and ``/supplement``), and the helpers ``unit(code)``, ``procedure(code)``
and ``document(type, procedure)`` (never a raw code such as ``cadastral_extract``) that
give display names in the message's language. Filters: ``day`` (a date) and ``moment``
(a time, shown in Vietnam time) and ``vnd`` (an amount).
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from notification.domain import TEMPLATE_OF_OLD_VERSION
from shared.catalogue.loading import available_configurations, load_catalogue
from shared.catalogue.model import CatalogueError
from shared.envelope import Envelope
from shared.events.dossier import Language
from shared.events.registry import EventData

log = logging.getLogger(__name__)
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
BLOCKS = ("subject", "body", "sms")
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


class TemplateMissing(LookupError):
    """No template for this event type and language."""


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str
    sms: str


@dataclass(frozen=True)
class DisplayNames:
    """Unit and procedure names by code, in Vietnamese and English (codes when unknown)."""

    units: dict[str, tuple[str, str]] = field(default_factory=dict)
    procedures: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Document display names by (procedure, type): one type may be named per procedure.
    documents: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_catalogue(cls, data_dir: Path | None = None) -> DisplayNames:
        """Names from every catalogue configuration; empty if the catalogue cannot load."""
        names = cls()
        try:
            for configuration in available_configurations(data_dir):
                catalogue = load_catalogue(configuration, data_dir)
                for unit in catalogue.units:
                    names.units.setdefault(unit.code, (unit.name, unit.name_en))
                for procedure in catalogue.procedures:
                    names.procedures.setdefault(procedure.code, (procedure.name, procedure.name_en))
                    for doc in procedure.required_documents:
                        key = (procedure.code, doc.type)
                        names.documents.setdefault(key, (doc.name, doc.name_en))
        except CatalogueError as exc:  # names are a courtesy: codes still identify
            log.warning("catalogue unavailable; messages show codes", extra={"error": str(exc)})
        return names

    def unit(self, code: str, language: Language) -> str:
        pair = self.units.get(code)
        return code if pair is None else pair[language is Language.EN]

    def document(self, entry: str, procedure: str | None, language: Language) -> str:
        """A document's display name: by type code for the procedure, else the text as given
        (a unit may name a document that is not a catalogue type)."""
        pair = self.documents.get((procedure or "", entry))
        if pair is None:  # no procedure given: a type with one name across procedures
            found = {v for (_, t), v in self.documents.items() if t == entry}
            pair = found.pop() if len(found) == 1 else None
        if pair is None:
            return entry.replace("_", " ") if _looks_like_code(entry) else entry
        return pair[language is Language.EN]

    def procedure(self, code: str, language: Language) -> str:
        pair = self.procedures.get(code)
        return code if pair is None else pair[language is Language.EN]


def _looks_like_code(text: str) -> bool:
    return text.isascii() and "_" in text and " " not in text


def format_day(value: date, language: Language) -> str:
    """``05/12/2026`` in Vietnamese, ``5 December 2026`` in English."""
    if language is Language.EN:
        return f"{value.day} {MONTHS_EN[value.month - 1]} {value.year}"
    return value.strftime("%d/%m/%Y")


def format_vnd(amount: int, language: Language) -> str:
    """``1.500.000 đồng`` in Vietnamese, ``VND 1,500,000`` in English."""
    if language is Language.EN:
        return f"VND {amount:,}"
    return f"{amount:,} đồng".replace(",", ".")


def format_moment(value: datetime, language: Language) -> str:
    """A time of day and date in Vietnam time."""
    local = value.astimezone(VIETNAM_TIME)
    return f"{local:%H:%M} {format_day(local.date(), language)}"


def gsm_text(text: str) -> str:
    """Text without diacritics (đ becomes d), on one line."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


class Renderer:
    """Renders an event for one recipient in one language."""

    def __init__(
        self, names: DisplayNames, lookup_base_url: str, templates_dir: Path = TEMPLATES_DIR
    ) -> None:
        self._names = names
        self._lookup_base_url = lookup_base_url
        # One environment per language, so the date filters speak it.
        self._envs = {language: _environment(templates_dir, language) for language in Language}

    @staticmethod
    def template_name(event_type: str, language: Language) -> str:
        return f"{event_type}.{language.value}.j2"

    def render(
        self,
        envelope: Envelope,
        data: EventData,
        *,
        language: Language,
        recipient_name: str | None,
    ) -> RenderedMessage:
        """Subject, body and SMS text of this event for this recipient."""
        event_type = TEMPLATE_OF_OLD_VERSION.get(envelope.type, envelope.type)
        name = self.template_name(event_type, language)
        try:
            template = self._envs[language].get_template(name)
        except TemplateNotFound:
            raise TemplateMissing(f"no template {name}") from None
        lookup_url = f"{self._lookup_base_url}{envelope.subject}"
        variables = {
            "data": data,
            "dossier_code": envelope.subject,
            "name": recipient_name or "",
            "lookup_url": lookup_url,
            # Intake's applicant routes sit under the look-up (docs/intake.md): the token
            # the applicant holds opens both; it is never in a message.
            "supplement_url": f"{lookup_url}/supplement",
            "unit": lambda code: self._names.unit(code, language),
            "procedure": lambda code: self._names.procedure(code, language),
            "document": lambda entry, procedure=None: self._names.document(
                entry, procedure, language
            ),
        }
        context = template.new_context(variables)
        parts = {
            block: "".join(template.blocks[block](context)).strip()
            for block in BLOCKS
            if block in template.blocks
        }
        missing = [block for block in BLOCKS if not parts.get(block)]
        if missing:
            raise TemplateMissing(f"template {name} lacks block(s) {', '.join(missing)}")
        return RenderedMessage(
            subject=" ".join(parts["subject"].split()),
            body=parts["body"] + "\n",
            sms=gsm_text(parts["sms"]),
        )


def _environment(templates_dir: Path, language: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=False,  # plain-text messages, never HTML
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = lambda value: format_day(value, language)
    env.filters["moment"] = lambda value: format_moment(value, language)
    env.filters["vnd"] = lambda value: format_vnd(value, language)
    return env
