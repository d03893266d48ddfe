"""Countries by their ISO 3166-1 alpha-2 codes, from pycountry's copy of the standard."""

from __future__ import annotations

from functools import lru_cache

import pycountry
from marshmallow import ValidationError, fields

NOT_A_COUNTRY = "Use the ISO 3166-1 alpha-2 code of a country, such as DE for Germany."


@lru_cache(maxsize=1)
def names() -> dict[str, str]:
    """Every assigned alpha-2 code and the country's common (or official short) name."""
    return {country.alpha_2: getattr(country, "common_name", None) or country.name for country in pycountry.countries}


def options() -> list[tuple[str, str]]:
    """(code, "Name (CODE)") pairs sorted by name, for a select list."""
    return sorted(((code, f"{name} ({code})") for code, name in names().items()), key=lambda option: option[1].casefold())


def name_of(code: str | None) -> str:
    return names().get(code or "", code or "")


class CountryCode(fields.String):
    """An ISO 3166-1 alpha-2 code, in either case; stored upper case."""

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        code = text.strip().upper()
        if code not in names():
            raise ValidationError(NOT_A_COUNTRY)
        return code
