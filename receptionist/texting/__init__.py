"""Two-way texting: a reply to any practice text is a conversation with the same understanding and policies as
a call (`conversation/`), in written, SMS-sized lines; what the AI hands over waits in the staff inbox, and
staff answer from it through Twilio within the same gates.

- `sms.py`: pure: every outgoing text split to one SMS segment (160 GSM characters, 70 otherwise).
- `threads.py`: the thread per patient (or per number) with its messages, and the conversation state kept
  between texts (Redis with an expiry, a durable copy on the thread row).
- `conversation.py`: one incoming text to the offline engine and back (`Texting.answer`).
- `replies.py`: staff replies: the rule (`reply_problem`, pure) and the send.
"""
