"""Matchers for references to offered slots ("the first one", "the Friday one", "the 10 am") and for the
practice's providers, heard imperfectly ("Dr. Chan" -> "Dr. Chen": rapidfuzz's Jaro-Winkler similarity,
0.85 after a title or "with", 0.92 on its own)."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz.distance import JaroWinkler

from receptionist.conversation.nlu.dates import choosing, clock
from receptionist.conversation.nlu.lexicon import Lexicon, words_of
from receptionist.conversation.nlu.mentions import Mention, Scan
from receptionist.conversation.nlu.values import OfferRef, ProviderRef


def offer(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words = scan.lex, scan.words
    refs = "offer_refs"
    for key, ref in (("earliest", OfferRef(earliest=True)), ("latest", OfferRef(latest=True))):
        hit = lex.phrases(refs, key).match(words, i)
        if hit:
            return hit[0], [Mention("offer", i, i + hit[0], ref)]
    nouns = lex.words(refs, "nouns")
    # "option 2", "number two"
    if words[i] in lex.words(refs, "choice_words") and i + 1 < len(words):
        value = small_number(words[i + 1], lex)
        if value is not None and 1 <= value <= 9:
            return 2, [Mention("offer", i, i + 2, OfferRef(index=value - 1))]
    if words[i] not in lex.words(refs, "pointers"):
        return None
    j = i + 1
    if j >= len(words):
        return None
    said = lex.phrases(refs, "said")

    def tail(k: int) -> int:
        if k < len(words) and words[k] in nouns:
            k += 1
        hit = said.match(words, k)
        return k + hit[0] if hit else k

    # "the one on Friday", "the one at 10"
    if words[j] in lex.g("offer_one") and j + 2 <= len(words):
        k = j + 1
        if k < len(words) and words[k] in lex.g("offer_on"):
            wd = lex.table("weekdays").entries.get((words[k + 1],)) if k + 1 < len(words) else None
            if wd is not None:
                return k + 2 - i, [Mention("offer", i, k + 2, OfferRef(weekday=int(wd)))]
        if k < len(words) and words[k] in lex.g("offer_at"):
            found = clock(scan, k + 1)
            if found is not None:
                end = k + 1 + found[0]
                return end - i, [Mention("offer", i, end, OfferRef(minute=found[1]))]
    ordinal = lex.table("ordinals").entries.get((words[j],))
    if ordinal is not None:
        end = tail(j + 1)
        if end == j + 1:  # no noun: a bare "the 5th" is a date, "the first" a choice unless "on the first"
            is_word = words[j].isalpha()
            chosen = is_word or scan.expecting == "offer_choice" or choosing(scan, i)
            if not chosen or (i > 0 and words[i - 1] in lex.g("date_on")):
                return None
            if end < len(words) and (
                words[end] in lex.g("of_words") or lex.table("months").entries.get((words[end],))
            ):
                return None
        index = int(ordinal)
        return end - i, [Mention("offer", i, end, OfferRef(index=-1 if index < 0 else index - 1))]
    wd = lex.table("weekdays").entries.get((words[j],))
    if wd is not None and j + 1 < len(words) and words[j + 1] in nouns:
        end = tail(j + 1)
        return end - i, [Mention("offer", i, end, OfferRef(weekday=int(wd)))]
    found = clock(scan, j)
    if found is not None and (found[2] or scan.expecting == "offer_choice"):
        end = tail(j + found[0])
        if found[2] or end > j + found[0]:
            return end - i, [Mention("offer", i, end, OfferRef(minute=found[1]))]
    return None


def small_number(word: str, lex: Lexicon) -> int | None:
    if word.isdigit():
        return int(word)
    value = lex.table("numbers").entries.get((word,))
    if value is None:
        ordinal = lex.table("ordinals").entries.get((word,))
        return int(ordinal) if ordinal is not None and int(ordinal) > 0 else None
    return int(value)


@dataclass(frozen=True)
class _Provider:
    name: str
    role: str | None
    words: tuple[str, ...]


def _providers(scan: Scan) -> list[_Provider]:
    titles = scan.lex.table("titles")
    out = []
    for name in scan.providers:
        words = words_of(name.replace(".", " "))
        role = next((str(titles.entries[(w,)]) for w in words if (w,) in titles), None)
        out.append(_Provider(name, role, tuple(w for w in words if (w,) not in titles)))
    return out


def _match_provider(scan: Scan, word: str, cutoff: float) -> _Provider | None:
    if len(word) < 3 or not word.isalpha():
        return None
    best, best_score = None, cutoff
    for provider in _providers(scan):
        for w in provider.words:
            score = JaroWinkler.normalized_similarity(word, w)
            if score >= best_score:
                best, best_score = provider, score
    return best


def provider(scan: Scan, i: int) -> tuple[int, list[Mention]] | None:
    lex, words = scan.lex, scan.words
    title = lex.table("titles").match(words, i)
    if title:
        n, role = title
        j = i + n
        if j < len(words) and j not in scan.taken and words[j] not in lex.known_words:
            found = _match_provider(scan, words[j], 0.85)
            if found is not None:
                ref = ProviderRef(found.name, found.role or str(role))
            else:
                ref = ProviderRef(None, str(role), scan.raw[j].capitalize())
            return n + 1, [Mention("provider", i, j + 1, ref)]
        return n, [Mention("provider", i, j, ProviderRef(None, str(role)))]
    if words[i] in lex.known_words or not scan.providers:
        return None
    cue = i > 0 and words[i - 1] in lex.words("provider_cues", "words")
    found = _match_provider(scan, words[i], 0.85 if cue else 0.92)
    if found is None:
        return None
    return 1, [Mention("provider", i, i + 1, ProviderRef(found.name, found.role))]
