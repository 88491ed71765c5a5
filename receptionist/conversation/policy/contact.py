"""How a caller wants to be reached, from their words: "text me instead of calling", "I'd rather get emails",
"calls are fine but no texts". Pure: words in, per-channel choices out.

A choice only counts as a preference when the caller asks for at least one channel; turning channels down
without asking for any ("stop texting me", "don't call me") is an opt-out, which the engines honour on every
channel (revoking calls also revokes texts: see the compliance rules).
"""

from __future__ import annotations

from collections.abc import Sequence

CHANNEL_WORDS = {
    "call": frozenset({"call", "calls", "calling", "phone", "phoning", "ring", "voicemail", "voicemails"}),
    "text": frozenset({"text", "texts", "texting", "sms", "txt", "message", "messages"}),
    "email": frozenset({"email", "emails", "emailing", "mail", "e-mail"}),
}
_NOT = frozenset({"no", "not", "dont", "never", "stop", "without", "hate"})
_OVER = frozenset({"instead", "than"})  # "... instead of calling", "texts than calls": the one turned down
_YES_BEFORE = frozenset({"prefer", "rather", "only", "just", "by", "via", "through", "want", "like"})
_YES_AFTER = frozenset({"instead", "rather", "better", "best", "fine", "ok", "okay", "works", "good", "only"})


def channel_of(word: str) -> str | None:
    return next((ch for ch, words in CHANNEL_WORDS.items() if word in words), None)


def preferences(words: Sequence[str]) -> dict[str, bool]:
    """The channels the caller asks for (True) and turns down (False); {} when they ask for none.

    "text me instead of calling" -> text yes, call no; "I'd rather get texts than phone calls" -> the same;
    "only email me" -> email yes, the others no; "calls are fine, no texts" -> call yes, text no; "please
    don't stop the reminder calls" -> calls yes. A channel word without such a cue ("your call list") says
    nothing.
    """
    out: dict[str, bool] = {}
    for i, word in enumerate(words):
        ch = channel_of(word)
        if ch is None:
            continue
        scope = words[max(0, i - 5) : i]  # how far back a "not" reaches
        before, after = set(words[max(0, i - 3) : i]), set(words[i + 1 : i + 4])
        kept = any(w in _NOT and nxt == "stop" for w, nxt in zip(scope, scope[1:], strict=False))
        if kept:  # "please don't stop the reminder calls"
            out.setdefault(ch, True)
        elif before & _OVER:
            out.setdefault(ch, False)
        elif after & {"instead", "rather"}:  # "don't call me, email me instead"
            out.setdefault(ch, True)
        elif set(scope) & _NOT and not before & {"only", "just", "rather"}:
            out.setdefault(ch, False)
        elif before & _YES_BEFORE or after & _YES_AFTER:
            out.setdefault(ch, True)
    if not any(out.values()):
        return {}
    if "only" in words or "just" in words:
        for ch in CHANNEL_WORDS:
            out.setdefault(ch, False)
    return out
