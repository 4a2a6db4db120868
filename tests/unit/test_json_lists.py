"""Big JSON lists are encoded a batch at a time and joined once, with the same text as one call."""

from __future__ import annotations

import json

import pytest

from flamenco_pkg.manager.routes.common import encode_json, encode_json_list


@pytest.mark.parametrize("count", [0, 1, 2, 499, 500, 501, 1000, 1234])
def test_batches_make_the_same_list_as_one_call(count):
    items = [{"i": i, "name": f"t{i}", "w": None} for i in range(count)]
    text = encode_json_list("tasks", iter(items), dict, batch=500)
    assert text == encode_json({"tasks": items})
    assert json.loads(text) == {"tasks": items}
