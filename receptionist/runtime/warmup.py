"""Work a process does once at start so that no caller pays for it: the understanding's intent models
(trained from the corpus, or read from `<data folder>/models`, keyed by a hash of the corpus, the lexicon
and the settings, so a changed corpus is trained again and never read stale).

Called by the web server's master before it forks its workers (`webserver.on_starting`): the webhooks are
what understands words (calls, and the revocation check of texts); the job worker's jobs do not. Measured:
training about 8 s of CPU; reading the cache well under a second.
"""

from __future__ import annotations

from receptionist.config.settings import Settings
from receptionist.conversation import nlu

LANGUAGES = ("en", "es")  # a language without a corpus has no model and costs nothing


def warm_understanding(settings: Settings | None = None) -> None:
    home = (settings or Settings()).home
    nlu.warm(LANGUAGES, cache=home / "models")
