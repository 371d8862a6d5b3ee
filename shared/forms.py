"""Printable forms of the one-stop mechanism (Mẫu 01–06) as HTML, in Vietnamese.

Mechanism only: which number and title a form has on a date (dated data in
``data/forms/forms.json``, since later texts renumber them; a form takes the number in
force on the date of the act it records, and carries that date, not the print date),
Vietnamese date and time formats (``dd/mm/yyyy``), and one printable page layout (the
national heading, the issuing unit, the form number, the title, the legal basis). Each
service renders the forms whose data it owns from its own templates, which extend
``layout.html.j2``; text is HTML-escaped.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel, ConfigDict

FORMS_FILE = Path(__file__).resolve().parent.parent / "data" / "forms" / "forms.json"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
HTML_MEDIA_TYPE = "text/html; charset=utf-8"

LAYOUT = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{{ form.number }} – {{ form.title }} – {{ code }}</title>
<style>
 body { font-family: "Times New Roman", serif; font-size: 13pt; margin: 2cm; color: #000; }
 .head { display: flex; justify-content: space-between; text-align: center; }
 .head div { width: 48%; } .upper { text-transform: uppercase; font-weight: bold; }
 .number { text-align: right; font-style: italic; } h1 { text-align: center; font-size: 14pt; }
 table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #000; padding: 4px; }
 .sign { display: flex; justify-content: space-between; margin-top: 2em; text-align: center; }
 @media print { body { margin: 1cm; } }
</style></head><body>
<p class="number">{{ form.number }}</p>
<div class="head">
 <div><div class="upper">{{ unit_name }}</div><div>Số: {{ code }}</div></div>
 <div><div class="upper">Cộng hòa xã hội chủ nghĩa Việt Nam</div>
 <div><b>Độc lập - Tự do - Hạnh phúc</b></div><div><i>{{ place_date }}</i></div></div>
</div>
<h1>{{ form.title | upper }}</h1>
{% block content %}{% endblock %}
<p style="font-size:9pt">Căn cứ {{ form.source }}. Lịch làm việc: {{ calendar_version or "" }}</p>
</body></html>
"""


class FormInfo(BaseModel):
    """One form's number and official title, valid between two dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    number: str
    title: str
    source: str
    valid_from: date
    valid_to: date | None = None

    def in_force(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


class FormCatalogue(BaseModel):
    """Every numbering of every form, as published."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_version: int = 1
    version: str
    description: str = ""
    forms: tuple[FormInfo, ...]

    def form(self, key: str, on: date) -> FormInfo:
        """The number and title of form ``key`` on ``on``."""
        for info in self.forms:
            if info.key == key and info.in_force(on):
                return info
        raise LookupError(f"no form {key!r} in force on {on}")


def load_forms(path: Path = FORMS_FILE) -> FormCatalogue:
    """Read the dated form numbers."""
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    raw["schema_version"] = raw.pop("schema", 1)
    return FormCatalogue.model_validate(raw)


def vn_date(value: date | datetime | None) -> str:
    """``dd/mm/yyyy`` (a moment is shown in Vietnam time); empty when there is none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VIETNAM).date()
    return value.strftime("%d/%m/%Y")


def vn_moment(value: datetime | None) -> str:
    """``09 giờ 30 phút, ngày 02/03/2026`` in Vietnam time."""
    if value is None:
        return ""
    local = value.astimezone(VIETNAM)
    return f"{local:%H} giờ {local:%M} phút, ngày {local:%d/%m/%Y}"


def local_day(value: date | datetime) -> date:
    """The day in Vietnam of a moment (a date is itself): the date of an act on a form."""
    return value.astimezone(VIETNAM).date() if isinstance(value, datetime) else value


def place_date(on: date) -> str:
    """``ngày 02 tháng 03 năm 2026`` as written under the national heading."""
    return f"ngày {on:%d} tháng {on:%m} năm {on:%Y}"


def form_environment(templates_dir: Path) -> Environment:
    """A Jinja environment for a service's form templates, with the layout and filters."""
    env = Environment(
        loader=ChoiceLoader(
            [FileSystemLoader(templates_dir), DictLoader({"layout.html.j2": LAYOUT})]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = vn_date
    env.filters["moment"] = vn_moment
    env.filters["vnd"] = lambda amount: f"{amount:,} đồng".replace(",", ".")
    return env
