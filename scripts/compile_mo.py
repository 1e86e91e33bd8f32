"""Compile every locales/*/LC_MESSAGES/*.po of collective.cron into .mo (make i18n)."""

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from pathlib import Path


LOCALES = (
    Path(__file__).resolve().parents[1] / "src" / "collective" / "cron" / "locales"
)

for po in sorted(LOCALES.glob("*/LC_MESSAGES/*.po")):
    with po.open("rb") as source:
        catalog = read_po(source, locale=po.parts[-3], domain=po.stem)
    with po.with_suffix(".mo").open("wb") as target:
        write_mo(target, catalog)
    print(f"{po.relative_to(LOCALES)}: {len(catalog)} messages")
