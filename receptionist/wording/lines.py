"""The receptionist's lines, per language, as data: `receptionist/languages/<code>/lines.toml` holds every
sentence the offline engine says, by key, with `{placeholders}`; Spanish is one more file, not more code.

    lines("en").say("booked", what="a cleaning", when="Tuesday December 15th at 10 AM")

A key missing in a language falls back to English (a test keeps every language complete and every
placeholder the same as English's). Values are plain sentences for text-to-speech; the `[text]` table holds
a line's written form for text messages (`write`: no "press 1", no spoken numbers, SMS-sized).
"""

from __future__ import annotations

import functools
import string
import tomllib
from importlib import resources
from typing import Any

DEFAULT = "en"


class Lines:
    def __init__(self, language: str, table: dict[str, str], fallback: Lines | None = None) -> None:
        self.language = language
        self.table = table
        self.fallback = fallback

    def say(self, key: str, **values: Any) -> str:
        template = self.table.get(key)
        if template is None:
            if self.fallback is None:
                raise KeyError(f"no line {key!r}")
            return self.fallback.say(key, **values)
        return template.format(**values) if values else template

    def write(self, key: str, **values: Any) -> str:
        """The written form of a line, for a text message: `text.<key>` in this language, else the spoken
        line in this language, else the fallback language's written form."""
        for name in (f"text.{key}", key):
            template = self.table.get(name)
            if template is not None:
                return template.format(**values) if values else template
        if self.fallback is None:
            raise KeyError(f"no line {key!r}")
        return self.fallback.write(key, **values)

    def has(self, key: str) -> bool:
        return key in self.table or (self.fallback is not None and self.fallback.has(key))


def placeholders(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


@functools.lru_cache(maxsize=8)
def lines(language: str = DEFAULT) -> Lines:
    code = language if _exists(language) else DEFAULT
    table = _load(code)
    return Lines(code, table, None if code == DEFAULT else lines(DEFAULT))


def languages() -> tuple[str, ...]:
    root = resources.files("receptionist.languages")
    return tuple(sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "lines.toml").is_file()))


def _exists(code: str) -> bool:
    return (resources.files("receptionist.languages") / code / "lines.toml").is_file()


def _load(code: str) -> dict[str, str]:
    text = (resources.files("receptionist.languages") / code / "lines.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    out: dict[str, str] = {}

    def walk(prefix: str, table: dict[str, Any]) -> None:
        for key, value in table.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            else:
                out[name] = " ".join(str(value).split())

    walk("", data)
    return out
