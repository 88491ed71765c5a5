"""Language data, one folder per language code (`en/`, `es/`): files only, no code.

- `intents.tsv`: labelled caller utterances, `labels<TAB>text`, labels `;`-separated, `#` starts a comment.
  The intent model of `receptionist.conversation.nlu.intents` is trained from it; a language without it
  has no intents (its callers are still told apart by `lexicon.toml`'s marker words).
- `lexicon.toml`: the closed vocabularies the entity reader needs (weekdays, months, number words, parts of
  the day, negators, relations, symptoms, visit kinds, ...). A table a language lacks is read as empty.

Adding a language is adding its folder; nothing in Python names a language's words.
"""
