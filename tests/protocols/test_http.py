"""Strict parsing of HTTP-shaped messages (RFC 6749 §3.2 form bodies, RFC 8725 §3.7 JSON)."""

import pytest

from protocols.http import MAX_BODY_BYTES, HttpRequest, HttpResponse, MalformedBody, parse_json, parse_unique_pairs


def form_request(body: bytes, content_type="application/x-www-form-urlencoded"):
    return HttpRequest(method="POST", url="https://as.example/token", headers={"Content-Type": content_type}, body=body)


def test_form_drops_empty_values_and_keeps_utf8():
    assert form_request("a=1&b=&c=%C3%A9t%C3%A9".encode()).form() == {"a": "1", "c": "été"}


@pytest.mark.parametrize("body,content_type,fragment", [
    (b"a=1&a=2", "application/x-www-form-urlencoded", "repeated"),
    (b"a=%ff", "application/x-www-form-urlencoded", "UTF-8"),
    (b"a=\xff", "application/x-www-form-urlencoded", "UTF-8"),
    (b"a=" + b"x" * MAX_BODY_BYTES, "application/x-www-form-urlencoded", "exceeds"),
    (b'{"a":1}', "application/json", "x-www-form-urlencoded"),
])
def test_form_refuses_what_rfc_6749_forbids(body, content_type, fragment):
    with pytest.raises(MalformedBody, match=fragment):
        form_request(body, content_type).form()


def test_headers_are_case_insensitive_and_query_is_strict():
    request = HttpRequest.get("https://rs.example/a?x=1&y=2", headers={"X-Thing": "v"})
    assert request.header("x-thing") == "v" and request.header("missing") is None
    assert request.query_params() == {"x": "1", "y": "2"} and request.path == "/a"
    with pytest.raises(MalformedBody):
        parse_unique_pairs("x=1&x=1")


@pytest.mark.parametrize("body,fragment", [
    (b'{"a":1,"a":2}', "repeated"),
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "UTF-8"),
    (b"9" * 5000, "number too long"),
])
def test_json_is_strict(body, fragment):
    with pytest.raises(MalformedBody, match=fragment):
        parse_json(body)


def test_token_responses_are_not_cached():
    response = HttpResponse.json_body({"b": 1, "a": 2}, no_store=True)
    assert response.header("cache-control") == "no-store" and response.header("pragma") == "no-cache"
    assert response.body == b'{"a":2,"b":1}'
