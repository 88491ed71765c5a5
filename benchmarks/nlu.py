#!/usr/bin/env python3
"""Understanding callers: the trained NLU against the weighted patterns it replaces, in the same run; JSON.

    .venv/bin/python benchmarks/nlu.py [--quick]

Two sets: the corpus's held-out 20% (fixed seed; the model is fitted on the other 80%, so no line it is
scored on was seen) and the hand-written paraphrases in benchmarks/nlu_paraphrases.tsv (word order,
fillers, recogniser errors, numbers as words). A turn counts as right when the top intent is one of its
labels. The old engine's intents are mapped onto the new labels as far as they go (its "emergency" counts
as right for urgent_dental and for medical_emergency; a label it has no intent for can only be missed).
Time per turn is CPU time (time.process_time) of each call of the entry points, `nlu.understand` (after
`warm()`; language detection and entities included) and the old `understand`, turn by turn alternating
so both meet the same machine. Accuracy is scored with the model fitted on 80% (the timed one is fitted
on all of the corpus; it costs the same per turn).
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from benchmarks.baseline_engine import understand as old  # noqa: E402
from receptionist.conversation import nlu  # noqa: E402
from receptionist.conversation.nlu import intents  # noqa: E402
from receptionist.conversation.nlu.lexicon import lexicon  # noqa: E402
from receptionist.conversation.nlu.text import tokens  # noqa: E402

NOW = dt.datetime(2026, 11, 17, 10, 0, tzinfo=ZoneInfo("America/New_York"))
PROVIDERS = ("Dr. Sarah Chen", "Dr. Rivera", "Hygienist Patel")
OLD_TO_NEW = {
    "emergency": ("urgent_dental", "medical_emergency"),
    "opt_out": ("opt_out",),
    "advice": ("advice",),
    "reschedule": ("reschedule",),
    "cancel": ("cancel",),
    "my_appointments": ("confirm_appointment",),
    "front_desk": ("human",),
    "human": ("human",),
    "message": ("message",),
    "callback": ("callback_request",),
    "book": ("book",),
    "hours": ("faq_hours",),
    "address": ("faq_address",),
    "who": ("robot",),
    "more": ("other_times",),
    "goodbye": ("goodbye",),
    "no": ("no",),
    "yes": ("yes",),
    "repeat": ("repeat",),
    "thanks": ("thanks",),
    "unsure": ("unsure",),
    "hello": ("greeting",),
}


def paraphrases() -> tuple[intents.Example, ...]:
    return intents.parse_corpus((ROOT / "benchmarks" / "nlu_paraphrases.tsv").read_text(encoding="utf-8"))


def score(examples, model) -> dict:
    """Top-intent accuracy and per-turn CPU time for both engines over `examples`."""
    lex = lexicon("en")
    covered = {label for labels in OLD_TO_NEW.values() for label in labels}
    ours_right = theirs_right = 0
    fair = fair_ours = fair_theirs = 0  # turns with a label the old engine has an intent for
    ours_t: list[float] = []
    theirs_t: list[float] = []
    for ex in examples:
        start = time.process_time()
        nlu.understand(ex.text, now=NOW, providers=PROVIDERS)
        ours_t.append(time.process_time() - start)
        found = model.predict(tokens(ex.text, lex))  # accuracy: the model fitted on the other 80%
        start = time.process_time()
        u = old.understand(ex.text, NOW)
        theirs_t.append(time.process_time() - start)
        ours_ok = bool(found) and found[0][0] in ex.labels
        theirs_ok = any(label in ex.labels for label in OLD_TO_NEW.get(u.intent, ()))
        ours_right += ours_ok
        theirs_right += theirs_ok
        if covered & set(ex.labels):
            fair, fair_ours, fair_theirs = fair + 1, fair_ours + ours_ok, fair_theirs + theirs_ok
    return {
        "turns": len(examples),
        "ours_accuracy": ours_right / len(examples),
        "old_accuracy": theirs_right / len(examples),
        "covered_turns": fair,
        "ours_covered_accuracy": fair_ours / max(fair, 1),
        "old_covered_accuracy": fair_theirs / max(fair, 1),
        "ours_ms": _percentiles(ours_t),
        "old_ms": _percentiles(theirs_t),
    }


def _percentiles(seconds: list[float]) -> dict:
    s = sorted(seconds)
    return {"p50": statistics.median(s) * 1000, "p95": s[int(len(s) * 0.95)] * 1000}


def main() -> None:
    quick = "--quick" in sys.argv[1:]
    train, test = intents.split(intents.corpus("en"), test_share=0.2, seed=0)
    start = time.process_time()
    model = intents.train(train)
    fit_s = time.process_time() - start
    start = time.process_time()
    nlu.warm()  # the process's own model (all of the corpus: what is timed), dateparser, lingua
    warm_s = time.process_time() - start
    if quick:
        test = test[::3]
    out = {
        "fit_s": fit_s,
        "warm_s": warm_s,
        "held_out": score(test, model),
        "paraphrases": score(paraphrases(), model),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
