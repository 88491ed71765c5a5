"""TwiML built once per shape and filled per call parses exactly as the builders' own document."""

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from receptionist.telephony import twiml

# what XML 1.0 can carry (the builders write other characters through unescaped, and so does the fill)
TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t&<>\"'"), max_size=80)


def same(a: str, b: str) -> bool:
    return ET.tostring(ET.fromstring(a)) == ET.tostring(ET.fromstring(b))


@settings(max_examples=200)
@given(TEXT)
def test_listen_is_the_builders_document(text):
    args = {"action": "https://x.test/voice/gather", "on_silence": "https://x.test/voice/gather"}
    assert same(twiml.listen(text, **args), twiml._listen(text, **args))


@settings(max_examples=200)
@given(TEXT, st.text(alphabet='CA0123456789abcdef&"<', max_size=40))
def test_transfer_is_the_builders_document(text, sid):
    args = {
        "whisper": f"https://x.test/voice/whisper?call={sid}",
        "action": "https://x.test/voice/transfer-result",
    }
    numbers = ["+12025550111", "+12025550112"]
    assert same(twiml.transfer(text, numbers, **args), twiml._transfer(text, numbers, **args))
