"""Etag pre-image: Go encoding/json compatible (job-types.md §1.5)."""

from __future__ import annotations

from flamenco_pkg.manager.job_types.etag import compute_etag, etag_preimage, go_json

ECHO_SLEEP = {
    "label": "Echo Sleep Test",
    "name": "echo-sleep-test",
    "settings": [
        {"key": "message", "type": "string", "required": True},
        {"key": "sleep_duration_seconds", "type": "int32", "default": 1},
        {"key": "sleep_repeats", "type": "int32", "default": 1},
    ],
}


def test_upstream_vector():
    assert etag_preimage(ECHO_SLEEP) == (
        '{"etag":"","label":"Echo Sleep Test","name":"echo-sleep-test","settings":[{"key":"message",'
        '"required":true,"type":"string"},{"default":1,"key":"sleep_duration_seconds","type":"int32"},'
        '{"default":1,"key":"sleep_repeats","type":"int32"}]}')
    assert compute_etag(ECHO_SLEEP) == "eba586e16d6b55baaa43e32f9e78ae514b457fee"


def test_field_order_and_optional_fields():
    job_type = {
        "name": "n", "label": "L", "description": "D",
        "settings": [{
            "visible": "web", "type": "string", "subtype": "file_path", "required": False,
            "propargs": {"max": 3, "min": 0}, "label": "Lbl", "key": "k", "evalInfo": {"showLinkButton": True,
                                                                                     "description": "auto"},
            "eval": "C.x", "editable": False, "description": "", "default": 0, "choices": ["a", "b"],
        }, {"key": "bare", "type": "bool", "label": None}],
    }
    assert etag_preimage(job_type) == (
        '{"description":"D","etag":"","label":"L","name":"n","settings":['
        '{"choices":["a","b"],"default":0,"description":"","editable":false,"eval":"C.x",'
        '"evalInfo":{"description":"auto","showLinkButton":true},"key":"k","label":"Lbl",'
        '"propargs":{"max":3,"min":0},"required":false,"subtype":"file_path","type":"string","visible":"web"},'
        '{"key":"bare","type":"bool"}]}')


def test_key_and_type_always_present():
    assert etag_preimage({"name": "n", "label": "", "settings": [{}]}) == (
        '{"etag":"","label":"","name":"n","settings":[{"key":"","type":""}]}')


def test_go_string_escapes():
    assert go_json("<a & b>\u2028\u2029é\n\"\\") == '"\\u003ca \\u0026 b\\u003e\\u2028\\u2029é\\n\\"\\\\"'


def test_go_numbers():
    assert go_json(1.0) == "1"
    assert go_json(23.976) == "23.976"
    assert go_json(0.00001) == "0.00001"
    assert go_json(1e-7) == "1e-7"
    assert go_json(1e21) == "1e+21"
    assert go_json(1e19) == "10000000000000000000"
    assert go_json({"b": [1, 2.5, None, True], "a": {}}) == '{"a":{},"b":[1,2.5,null,true]}'


def test_editing_changes_etag():
    changed = {**ECHO_SLEEP, "label": "Echo Sleep Test!"}
    assert compute_etag(changed) != compute_etag(ECHO_SLEEP)
