"""The one translation function every user-facing string goes through.

Strings are marked with `_()` (gettext's convention, so Babel/xgettext extract them into
`locale/moviechat.pot`). Catalogues are compiled `.mo` files under
`locale/<lang>/LC_MESSAGES/moviechat.mo`; a missing catalogue falls back to the English
source strings. `set_language()` is called once at start-up, before any screen is built.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

DOMAIN = "moviechat"
LOCALE_DIR = Path(__file__).parent.parent / "locale"

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def detect_language() -> str:
    """The language from the environment (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), e.g. 'ko'."""
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value and value not in ("C", "POSIX"):
            return value.split(":")[0].split(".")[0].split("_")[0].lower() or "en"
    return "en"


def set_language(language: str | None) -> str:
    """Switch the catalogue; returns the language actually in use."""
    global _translations, _language
    lang = (language or detect_language()).lower()
    _translations = gettext.translation(
        DOMAIN, localedir=LOCALE_DIR, languages=[lang], fallback=True
    )
    _language = lang if isinstance(_translations, gettext.GNUTranslations) else "en"
    return _language


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """Translate a user-facing string."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)
