"""What the receptionist says at the fixed points of a call, for every engine: the greeting with its
automated-assistant disclosure (the law asks for it: COMPLIANCE.md), the outbound opener, the apology after
a failed transfer. Written here once; neither engine nor a model phrases them."""

from __future__ import annotations

from receptionist.wording.spoken import clean, first_name_for_speech

HOW_CAN_I_HELP = "How can I help you today?"
ASSISTANT = "This is the automated assistant"


def inbound_greeting(practice: str, first_name: str | None, *, is_open: bool, hours: str) -> str:
    """ "Hi Tom, thank you for calling Brightsmile Dental. This is the automated assistant. How can I help
    you today?" (after hours: that the office is closed, its hours, and what the assistant can still do)."""
    practice, name = clean(practice), first_name_for_speech(first_name)
    hi = f"Hi {name}, thank you for calling {practice}." if name else f"Thank you for calling {practice}."
    if is_open:
        return f"{hi} {ASSISTANT}. {HOW_CAN_I_HELP}"
    return (
        f"{hi} {ASSISTANT}. Our office is closed right now. Our hours are {clean(hours)}. I can book an "
        f"appointment or take a message for the team. {HOW_CAN_I_HELP}"
    )


def outbound_opener(practice: str, first_name: str | None, question: str) -> str:
    """An AI call names the practice and says it is automated at its start, then offers a way out (FCC 24-17)."""
    practice, name = clean(practice), first_name_for_speech(first_name)
    hello = f"Hi {name}, this" if name else "Hello, this"
    return (
        f"{hello} is the automated assistant calling from {practice}. We'd love to see you again. {question} "
        "If you'd rather we didn't call, just say stop calling me."
    )


def transfer_failed_greeting(practice: str, first_name: str | None) -> str:
    """After nobody took a transfer: the apology, the callback, and the assistant's disclosure."""
    practice, name = clean(practice), first_name_for_speech(first_name)
    opener = f"Hi {name}, I'm sorry," if name else "I'm sorry,"
    return (
        f"{opener} nobody at the front desk could take your call right now. A member of our team will call "
        f"you back soon. This is the automated assistant for {practice}, and I can help you in the meantime. "
        f"{HOW_CAN_I_HELP}"
    )


def who_am_i(practice: str) -> str:
    """The honest answer to "who is this?" and "am I talking to a robot?"."""
    return f"I'm the automated assistant for {clean(practice)}."


def goodbye(direction: str) -> str:
    """The last words of a call: a caller is thanked for calling; a patient the practice called is thanked
    for their time (they did not call)."""
    return "Thanks for your time. Goodbye." if direction == "outbound" else "Thank you for calling. Goodbye."
