"""SMS-sized texts, pure: a reply is split at sentence ends (then at words) so every message fits one segment.

A segment holds 160 characters of the GSM 7-bit alphabet, or 70 when any character is outside it (UCS-2; most
accented Spanish vowels are): `limit_for`. Typographic quotes and dashes are written plainly first, so an
apostrophe never costs a message 90 characters. The healthcare exemption's 160-character rule (COMPLIANCE.md)
then holds for every message a text conversation sends.
"""

from __future__ import annotations

import re

SEGMENT = 160
UCS2_SEGMENT = 70
# The GSM 03.38 basic character set (the escape table's characters count twice and are left out).
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
                        "\u2026": "...", "\u00a0": " "})  # fmt: skip
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def plain(text: str) -> str:
    """Typographic punctuation written with its plain GSM equivalent, whitespace collapsed."""
    return " ".join(text.translate(_PLAIN).split())


def is_gsm(text: str) -> bool:
    return all(ch in _GSM for ch in text)


def limit_for(text: str) -> int:
    """How many characters one segment of this text holds."""
    return SEGMENT if is_gsm(text) else UCS2_SEGMENT


def split(text: str, limit: int | None = None) -> list[str]:
    """The text as messages of at most one segment each: whole sentences packed together, a sentence longer
    than a segment split between words (a word longer than a segment, between characters)."""
    text = plain(text)
    if not text:
        return []
    size = limit if limit is not None else limit_for(text)
    pieces: list[str] = []
    for sentence in _SENTENCE.split(text):
        if len(sentence) <= size:
            pieces.append(sentence)
            continue
        line = ""
        for word in sentence.split(" "):
            while len(word) > size:
                if line:
                    pieces.append(line)
                    line = ""
                pieces.append(word[:size])
                word = word[size:]
            candidate = f"{line} {word}" if line else word
            if len(candidate) <= size:
                line = candidate
            else:
                pieces.append(line)
                line = word
        if line:
            pieces.append(line)
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + 1 + len(piece) <= size:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out
