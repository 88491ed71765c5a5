"""The webhook signature check accepts exactly what twilio's RequestValidator.validate accepts.

`Signatures.valid` stops at the first URL variant whose HMAC matches instead of computing both; these tests
hold it to the real validator for URLs with and without ports, default ports, queries and any form parameters.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from receptionist.telephony.signatures import Signatures, url_variants

TOKEN = "test-auth-token-0123456789abcdef"

hosts = st.sampled_from(["127.0.0.1", "localhost", "example.com", "reception.example-practice.org", "[::1]"])
ports = st.one_of(st.none(), st.sampled_from([80, 443, 8000, 5000, 65535, 1]), st.integers(1, 65535))
paths = st.lists(st.from_regex(r"\A[A-Za-z0-9_.~-]{1,12}\Z"), max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
queries = st.one_of(
    st.just(""), st.from_regex(r"\A[a-z]{1,6}=[A-Za-z0-9%._-]{0,20}(&[a-z]{1,6}=[A-Za-z0-9]{0,8})?\Z")
)
param_names = st.one_of(
    st.sampled_from(["CallSid", "From", "To", "CallStatus", "Digits", "SpeechResult"]),
    st.text(min_size=1, max_size=12),
)
params_st = st.dictionaries(param_names, st.text(max_size=40), max_size=8)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    port = draw(ports)
    netloc = draw(hosts) + (f":{port}" if port is not None else "")
    query = draw(queries)
    return f"{scheme}://{netloc}{draw(paths)}" + (f"?{query}" if query else "")


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], str]:
    """A token, URL, parameters and a signature: genuine for either URL variant, for something else, or junk."""
    token = draw(st.one_of(st.just(TOKEN), st.text(min_size=1, max_size=40)))
    url = draw(urls())
    params = draw(params_st)
    real = RequestValidator(token)
    kind = draw(st.sampled_from(["exact", "variant", "other_url", "other_params", "other_token", "junk"]))
    if kind == "exact":
        signature = real.compute_signature(url, params)
    elif kind == "variant":
        signature = real.compute_signature(draw(st.sampled_from(url_variants(url))), params)
    elif kind == "other_url":
        signature = real.compute_signature(draw(urls()), params)
    elif kind == "other_params":
        signature = real.compute_signature(url, draw(params_st))
    elif kind == "other_token":
        signature = RequestValidator(token + "x").compute_signature(url, params)
    else:
        signature = draw(st.text(max_size=40))
    return token, url, params, signature


@settings(max_examples=600, deadline=None)
@given(requests())
@example(
    (
        TOKEN,
        "http://127.0.0.1:8000/voice/inbound",
        {"CallSid": "CA1"},
        RequestValidator(TOKEN).compute_signature("http://127.0.0.1:8000/voice/inbound", {"CallSid": "CA1"}),
    )
)
@example(
    (
        TOKEN,
        "https://example.com/voice/inbound",
        {"CallSid": "CA1"},
        RequestValidator(TOKEN).compute_signature(
            "https://example.com:443/voice/inbound", {"CallSid": "CA1"}
        ),
    )
)
@example(
    (
        TOKEN,
        "https://example.com:443/voice/inbound",
        {"CallSid": "CA1"},
        RequestValidator(TOKEN).compute_signature("https://example.com/voice/inbound", {"CallSid": "CA1"}),
    )
)
@example(
    (
        TOKEN,
        "http://example.com/voice/status?attempt=7",
        {},
        RequestValidator(TOKEN).compute_signature("http://example.com:80/voice/status?attempt=7", {}),
    )
)
def test_accepts_exactly_what_the_request_validator_accepts(
    request_: tuple[str, str, dict[str, str], str],
) -> None:
    token, url, params, signature = request_
    assert Signatures(token).valid(url, params, signature) == RequestValidator(token).validate(
        url, params, signature
    )


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40), urls(), params_st)
def test_signatures_are_the_request_validators(token: str, url: str, params: dict[str, str]) -> None:
    assert Signatures(token).signature(url, params) == RequestValidator(token).compute_signature(url, params)


@given(urls())
def test_the_url_as_given_is_tried_first(url: str) -> None:
    variants = url_variants(url)
    assert 1 <= len(variants) <= 2 and len(set(variants)) == len(variants)
    if url in variants:
        assert variants[0] == url


def test_a_wrong_signature_is_refused_for_both_variants() -> None:
    signatures = Signatures(TOKEN)
    url = "http://127.0.0.1:8000/voice/inbound"
    good = RequestValidator(TOKEN).compute_signature(url, {"From": "+12025550143"})
    assert signatures.valid(url, {"From": "+12025550143"}, good)
    assert signatures.valid("http://127.0.0.1:8000/voice/inbound", {"From": "+12025550143"}, good)
    assert not signatures.valid(url, {"From": "+12025550144"}, good)
    assert not signatures.valid("http://127.0.0.1:8001/voice/inbound", {"From": "+12025550143"}, good)
    assert not signatures.valid(url, {"From": "+12025550143"}, good[:-1])
    assert not signatures.valid(url, {"From": "+12025550143"}, "")
