"""Every line the product says or writes to a patient, in one home, so no two places drift apart: spoken
times, dates and lists (`spoken`), the call's fixed lines with the automated-assistant disclosure (`calls`),
what a reactivation text, voicemail or email says (`contacts`), and "last visit ... ago".

"Last visit ... ago" is defined beside the score reasons in `scoring/` (which imports nothing of the
product), and used from here everywhere else."""

from scoring.reactivation import last_visit_text

__all__ = ["last_visit_text"]
