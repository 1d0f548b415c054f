"""`plughost tools` output, checked with the `jsonschema` package: the generated schemas are
valid JSON Schema, accept what the host accepts and reject what it rejects."""
import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

PLUGHOST = os.environ.get("PLUGHOST_BIN", str(pathlib.Path(__file__).resolve().parents[2] / ".build" / "debug" / "plughost"))


def tools(fmt, *extra):
    r = subprocess.run([PLUGHOST, "tools", "text", "sig", "--format", fmt, *extra], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "left out sig.id_ptr" in r.stderr
    return json.loads(r.stdout)


def call(tool, args):
    """What the host says about these arguments: plughost call, by declared order."""
    plugin, function = tool.split("_", 1)
    r = subprocess.run([PLUGHOST, "call", plugin, function, "--engine", "memory", *[str(a) for a in args]],
                       capture_output=True, text=True, timeout=60)
    return r.returncode


@pytest.mark.parametrize("fmt", ["mcp", "openai", "json-schema"])
def test_every_definition_is_a_valid_schema(fmt):
    defs = tools(fmt, "--memory-tools")
    names = set()
    for d in defs:
        if fmt == "mcp":
            name, schema = d["name"], d["inputSchema"]
        elif fmt == "openai":
            assert d["type"] == "function"
            name, schema = d["function"]["name"], d["function"]["parameters"]
        else:
            name, schema = d["title"], d
            assert d["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert len(name) <= 64 and all(c.isalnum() or c in "_-" for c in name), name
        names.add(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert {"text_keywords", "sig_add3", "memory_write", "memory_recall", "memory_forget", "memory_clusters"} <= names
    assert "sig_id_ptr" not in names


def test_schemas_agree_with_the_host_on_ranges_and_types():
    defs = {d["function"]["name"]: d for d in tools("openai")}
    schema = lambda n: defs[n]["function"]["parameters"]
    ok = lambda n, a: jsonschema.Draft202012Validator(schema(n)).is_valid(a)
    for name, good, bad in [
        ("sig_id_i8", {"v": 127}, {"v": 128}),
        ("sig_id_i8", {"v": -128}, {"v": -129}),
        ("sig_id_u8", {"v": 255}, {"v": -1}),
        ("sig_id_u16", {"v": 65535}, {"v": 65536}),
        ("sig_id_i32", {"v": 2**31 - 1}, {"v": 2**31}),
        ("sig_id_u64", {"v": 2**64 - 1}, {"v": 2**64}),
    ]:
        assert ok(name, good), (name, good)
        assert not ok(name, bad), (name, bad)
        assert call(name, [good["v"]]) == 0, (name, good)
        assert call(name, [bad["v"]]) != 0, (name, bad)
    assert not ok("sig_add3", {"a": 1, "b": 2})  # missing c
    assert not ok("sig_add3", {"a": 1, "b": 2, "c": 3, "d": 4})  # unknown argument
    assert not ok("sig_add3", {"a": "1", "b": 2, "c": 3})  # wrong type
    assert not ok("sig_id_bool", {"v": 1})
    assert ok("sig_add3", {"a": 1, "b": 2, "c": 3, "goal": "g"})
    assert ok("text_keywords", {"text": "a b", "k": 3})


def test_declared_metadata_reaches_the_schemas():
    defs = {d["name"]: d for d in tools("mcp")}
    kw = defs["text_keywords"]
    k = kw["inputSchema"]["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 50, 10)
    assert kw["inputSchema"]["required"] == ["text"]
    assert kw["outputSchema"]["properties"]["result"]["description"].startswith("The keywords, most frequent first")
    assert "Returns: The keywords" in kw["description"]
    # A string result that carries JSON: its declared schema is the result's contentSchema, and
    # a real result validates against it.
    sq = defs["sig_square_json"]["outputSchema"]["properties"]["result"]
    assert sq["type"] == "string" and sq["contentMediaType"] == "application/json"
    content_schema = sq["contentSchema"]
    jsonschema.Draft202012Validator.check_schema(content_schema)
    out = subprocess.run([PLUGHOST, "call", "sig", "square_json", "12", "--engine", "memory"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    jsonschema.validate(json.loads(out.stdout), content_schema)
    assert json.loads(out.stdout) == {"n": 12, "square": 144}
