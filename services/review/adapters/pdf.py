"""A case's export (:mod:`.export`) as a PDF for a person to read: A4, with the reference on
every page and who exported it, when, and the page number in the footer; times in the trust's
zone. fpdf2 lays it out; a character the font lacks is shown plainly, never silently lost.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.review.adapters.export import (
    NEVER_THE_IMAGE,
    SHORT_HASH,
    CaseExport,
    CaseHeader,
    ChainCheck,
    ExportedEntry,
    TransferOut,
)
from services.review.domain.file_transfer import SECURE_METHODS

UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian, Ubuntu: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),  # Fedora, Alpine
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),  # Arch
)
"""Where a Unicode font is looked for. Without one, the PDF uses the PDF core font Helvetica,
which shows Latin-1 only: other characters are then written as ``[U+XXXX]`` (see
:func:`printable`), and the JSON export keeps the text exactly."""


_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2033": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2012": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u20ac": "EUR",
        "\u2122": "(TM)",
        # Letters with no decomposition to a base letter.
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0126": "H",
        "\u0127": "h",
        "\u0131": "i",
        "\u0152": "OE",
        "\u0153": "oe",
        "\u2009": " ",
        "\u202f": " ",
        "\t": "    ",
    }
)
"""Typographic characters and letters the core font lacks, as their plain equivalents."""


def printable(text: str, has_glyph: Callable[[str], bool]) -> str:
    """``text`` as a font with ``has_glyph`` can show it: a character it lacks becomes its
    plain equivalent (a curly quote a straight one, an accented letter its base letter) or,
    failing that, ``[U+XXXX]``, so that nothing is silently lost and nothing fails."""
    shown = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\n" or (char.isprintable() and has_glyph(char)):
            shown.append(char)
            continue
        plain = char.translate(_TYPOGRAPHY)
        if plain == char:
            base = unicodedata.normalize("NFKD", char)
            plain = "".join(c for c in base if not unicodedata.combining(c))
        if plain and plain != char and all(c.isprintable() and has_glyph(c) for c in plain):
            shown.append(plain)
        else:
            shown.append(f"[U+{ord(char):04X}]")
    return "".join(shown)


def unicode_font() -> Path | None:
    """The first of :data:`UNICODE_FONTS` on this machine, if any."""
    return next((p for p in UNICODE_FONTS if p.is_file()), None)


FONT = unicode_font()
"""The font exports use: looked for once, when the service starts."""

# fpdf2 subsets the font with fontTools on every export, and fontTools logs each step at INFO
# (a dozen lines an export, listing the glyphs used: which letters the case's text holds) and
# more at DEBUG. Only its warnings and errors are wanted in the service's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)


def render_pdf(export: CaseExport, *, font: Path | None = FONT) -> bytes:
    """The export as a PDF: A4, the case header, transfers, the hash chain's verification, then
    every entry; on every page the reference, and a footer with who exported it, when, and the
    page number. ``font``: a TrueType font (its bold beside it as ``<name>-Bold.ttf``, if there
    is one); None: the core font."""
    pdf = _CaseHistoryPdf(export, font)
    pdf.write_case()
    return bytes(pdf.output())


class _CaseHistoryPdf(FPDF):
    """The PDF layout of a case history."""

    MARGIN = 15.0

    def __init__(self, export: CaseExport, font: Path | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.export = export
        self.zone = ZoneInfo(export.timezone)
        if font is not None:
            bold = font.with_name(f"{font.stem}-Bold{font.suffix}")
            self.add_font("case", "", str(font))
            self.add_font("case", "B", str(bold if bold.is_file() else font))
            self.font_name = "case"
        else:
            self.font_name = "helvetica"
        self.set_margins(self.MARGIN, self.MARGIN, self.MARGIN)
        self.set_auto_page_break(auto=True, margin=self.MARGIN + 5)
        self.set_title(f"Case history {export.reference}")
        self.set_subject("Child-protection record: case history")
        self.set_author(export.exported_by)
        self.set_creator("safeguard review")
        self.set_lang("en-GB")
        self.set_creation_date(export.exported_at)

    # Text, whatever the font can show.

    def text_of(self, text: str) -> str:
        if self.font_name == "case":
            cmap: Any = self.current_font.cmap  # type: ignore[union-attr]
            return printable(text, lambda c: ord(c) in cmap)
        return printable(text, _latin1)

    def style(self, size: float, *, bold: bool = False, grey: bool = False) -> None:
        self.set_font(self.font_name, "B" if bold else "", size)
        self.set_text_color(*((90, 90, 90) if grey else (0, 0, 0)))

    def para(self, text: str, *, size: float = 9, bold: bool = False, grey: bool = False) -> None:
        self.style(size, bold=bold, grey=grey)
        self.multi_cell(
            0, size * 0.5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    def heading(self, text: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(3)
        self.para(text, size=12, bold=True)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(1.5)

    def field(self, name: str, value: str) -> None:
        self.style(9, bold=True)
        self.cell(48, 4.8, self.text_of(name))
        self.style(9)
        self.multi_cell(0, 4.8, self.text_of(value), align="L", new_x=XPos.LMARGIN)

    # Every page.

    def header(self) -> None:
        export = self.export
        self.style(7.5, grey=True)
        self.cell(
            0,
            4,
            self.text_of(
                f"Confidential: child-protection record. {export.reference}, {export.school}"
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.ln(2)

    def footer(self) -> None:
        export = self.export
        self.set_y(-self.MARGIN)
        self.style(7.5, grey=True)
        exported = (
            f"Exported by {export.exported_by} ({export.exported_by_role}) "
            f"at {_when(export.exported_at, self.zone)}"
        )
        self.cell(120, 4, self.text_of(exported))
        self.cell(0, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    # The document.

    def write_case(self) -> None:
        export, case = self.export, self.export.case
        self.add_page()
        self.para(f"Case history {export.reference}", size=16, bold=True)
        self.para(f"{export.school_name} ({export.school})", size=11)
        if export.as_of is not None:
            self.para(
                f"As the case stood at {_when(export.as_of, self.zone)}: only the entries on "
                "record then.",
                bold=True,
            )
        else:
            self.para(f"As the case stands at {_when(export.exported_at, self.zone)}.")
        self.para(
            f"{_zone_note(self.zone, export.exported_at)} {NEVER_THE_IMAGE}", size=8, grey=True
        )
        if self.font_name != "case":
            self.para(
                "Made without a Unicode font: a letter the core font lacks is shown without its "
                "accent, other characters as [U+code]; the JSON export holds the text exactly.",
                size=8,
                grey=True,
            )

        self.heading("The case")
        classification = _classification(case.classification, case.subtype)
        if case.classification_overridden:
            classification += " (the DSL's override)"
        for name, value in (
            ("School", f"{export.school_name} ({export.school})"),
            ("Reference", export.reference),
            ("Case id", str(export.case_id)),
            ("Status", case.status),
            ("Classification in force", classification),
            (
                "Classification computed",
                _classification(case.computed_classification, case.computed_subtype),
            ),
            ("Policy version", case.policy_version or "none yet"),
            ("DSL", case.dsl or "not yet assigned"),
            ("Disclosed", _disclosed(case, self.zone)),
            ("Review date", _review_date(case)),
            ("Open actions", _words_list(case.open_actions)),
            ("Overdue actions", _words_list(case.overdue_actions)),
        ):
            self.field(name, value)

        if export.transfers:
            self.heading("Child-protection file sent to a new school")
            for transfer in export.transfers:
                self.para(_transfer(transfer, self.zone))
                self.ln(1)

        self.heading("Hash chain")
        self.para(_verification(export.chain), bold=True)
        self.para(
            "Each entry's hash covers what it says and the hash of the entry before it, so an "
            "entry changed, removed or moved breaks the chain from there on. Each entry below "
            f"shows the first {SHORT_HASH} hex digits of its hash; the JSON export has them in "
            "full, with the payload each was computed from.",
            size=8,
            grey=True,
        )

        shown = len(export.entries)
        self.heading(f"Chronology: {shown} entries, in the order things happened")
        for entry in export.entries:
            self.write_entry(entry)
        self.ln(2)
        self.para(f"End of the case history of {export.reference}.", size=8, grey=True)

    def write_entry(self, entry: ExportedEntry) -> None:
        if self.will_page_break(16):
            self.add_page()
        self.style(9.5, bold=True)
        self.cell(140, 5, self.text_of(f"{entry.number}. {_words(entry.kind)}"))
        self.style(7.5, grey=True)
        self.cell(
            0, 5, f"hash {entry.hash[:SHORT_HASH]}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.para(
            f"Happened {_when(entry.occurred_at, self.zone)}; "
            f"recorded {_when(entry.recorded_at, self.zone)}; "
            f"by {entry.actor} ({entry.actor_role})",
            size=8,
            grey=True,
        )
        self.para(entry.summary)
        if entry.reason and entry.reason not in entry.summary:
            self.para(f"Reason: {entry.reason}")
        self.ln(1)
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_draw_color(0, 0, 0)
        self.ln(1.5)


def _latin1(char: str) -> bool:
    return ord(char) < 256


def _when(at: datetime, zone: ZoneInfo) -> str:
    """A time as the trust's staff read it: on their clocks, with the zone's abbreviation for
    that day (GMT in winter, BST in summer), so that an hour either side of a change is never
    in doubt."""
    return at.astimezone(zone).strftime("%d %b %Y %H:%M:%S %Z")


def _zone_note(zone: ZoneInfo, at: datetime) -> str:
    """Which time the PDF's times are in: the trust's zone, and the abbreviations its times
    carry in the year of ``at`` (winter's first)."""
    abbreviations = dict.fromkeys(
        datetime(at.year, month, 1, 12, tzinfo=zone).strftime("%Z") for month in (1, 7)
    )
    shown = " or ".join(a for a in abbreviations if a != zone.key)
    return f"All times are in the trust's time zone, {zone.key}" + (
        f" ({shown})." if shown else "."
    )


_ACRONYMS = {"dsl": "DSL", "ceop": "CEOP", "iwf": "IWF", "ncmec": "NCMEC", "pdf": "PDF"}


def _words(code: str) -> str:
    """An entry's kind in words: ``dsl_assigned`` is "DSL assigned"."""
    words = [_ACRONYMS.get(w, w) for w in code.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _words_list(codes: list[str]) -> str:
    return ", ".join(c.replace("_", " ") for c in codes) or "none"


def _classification(classification: str, subtype: str) -> str:
    return f"{classification}, {subtype.replace('_', ' ')}" if subtype else classification


def _disclosed(case: CaseHeader, zone: ZoneInfo) -> str:
    if case.opened_at is None:
        return "not yet on record"
    route = f", {case.disclosure_route.replace('_', ' ')}" if case.disclosure_route else ""
    return f"{_when(case.opened_at, zone)}{route}"


def _review_date(case: CaseHeader) -> str:
    if case.review_date is None:
        return "none yet"
    overdue = ", overdue" if case.review_overdue else ""
    return f"{case.review_date.isoformat()}{overdue}"


def _transfer(t: TransferOut, zone: ZoneInfo) -> str:
    sent = (
        f"Entry {t.number}: the file of {t.pseudonym} sent to {t.to_school}, for {t.to_whom}, "
        f"by {SECURE_METHODS.get(t.method, t.method)}, at {_when(t.sent_at, zone)} by {t.sent_by} "
        f"({t.sent_by_role}). Receipt due by {t.due_on.isoformat()}."
    )
    if t.confirmed_at is not None:
        late = " (late)" if t.confirmed_late else ""
        return (
            f"{sent} Receipt confirmed by {t.confirmed_by} at {_when(t.confirmed_at, zone)}{late}, "
            f"entry {t.confirmation_number}."
        )
    if t.overdue:
        return f"{sent} OVERDUE: receipt not confirmed."
    return f"{sent} Awaiting confirmation of receipt."


def _verification(chain: ChainCheck) -> str:
    if chain.intact:
        return (
            f"Hash chain verified intact when exported: all {chain.entries_verified} entries on "
            f"record follow from one another and match their hashes. Chain head: "
            f"{chain.head_hash}"
        )
    return (
        f"Hash chain BROKEN when exported, at entry {chain.broken_at}: {chain.problem}. Entries "
        "from there on cannot be shown to be as first recorded."
    )
