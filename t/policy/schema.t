#!/usr/bin/python3
"""policy/schema.json: valid itself, accepts every policy we ship or
test as good, and names exactly the keys the loader's table knows.

The loader's keys are read from t/policy/good/all-keys/expected.json
(policy_dump of a case that sets every key), and its defaults from
t/policy/good/empty/expected.json (the dump of "{}"), so the schema, the
table in milter/policy_load.c and these cases cannot drift apart.
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402

t = amtest.Tap()
try:
    import jsonschema
except ImportError:
    msg = "python3-jsonschema is not installed"
    if amtest.IN_CI:
        t.bail(msg + " (CI must install every tool it uses)")
    t.skip_all(msg)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def resolve(schema, node):
    """Follow a local "$ref" (#/$defs/NAME); other keywords stay."""
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/$defs/"), ref
        merged = dict(schema["$defs"][ref[len("#/$defs/"):]])
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        node = merged
    return node


def schema_keys(schema, node, prefix=""):
    """Dotted key paths ("sign.keys[].domain") the schema describes."""
    node = resolve(schema, node)
    out = set()
    for name, sub in node.get("properties", {}).items():
        path = prefix + name
        out.add(path)
        out |= schema_keys(schema, sub, path + ".")
    items = node.get("items")
    if isinstance(items, dict):
        out |= schema_keys(schema, items, prefix[:-1] + "[].")
    return out


def schema_defaults(schema, node, prefix=""):
    """{dotted path: default} for every key that has one."""
    node = resolve(schema, node)
    out = {}
    for name, sub in node.get("properties", {}).items():
        sub_r = resolve(schema, sub)
        if "default" in sub_r:
            out[prefix + name] = sub_r["default"]
        out.update(schema_defaults(schema, sub, prefix + name + "."))
    return out


def dump_keys(value, prefix=""):
    """Dotted key paths present in a policy dump."""
    out = set()
    if isinstance(value, dict):
        for name, sub in value.items():
            out.add(prefix + name)
            out |= dump_keys(sub, prefix + name + ".")
    elif isinstance(value, list):
        for item in value:
            out |= dump_keys(item, prefix[:-1] + "[].")
    return out


def at(value, path):
    for part in path.split("."):
        value = value[part]
    return value


schema = load(amtest.src("policy", "schema.json"))
try:
    jsonschema.Draft202012Validator.check_schema(schema)
    t.ok(True, "schema.json is a valid draft 2020-12 schema")
except jsonschema.exceptions.SchemaError as e:
    t.ok(False, "schema.json is a valid draft 2020-12 schema")
    t.diag(str(e))
validator = jsonschema.Draft202012Validator(schema)

files = [amtest.src("policy", "default.json")]
files += sorted(glob.glob(amtest.src("policy", "examples", "*.json")))
files += sorted(glob.glob(amtest.src("t", "policy", "good", "*",
                                     "policy.json")))
t.ok(len(files) >= 1 + 5 + 8, "%d policies to validate" % len(files))
for path in files:
    name = os.path.relpath(path, amtest.SRCDIR)
    errors = list(validator.iter_errors(load(path)))
    t.ok(not errors, "schema accepts %s" % name)
    for e in errors:
        t.diag("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message))

# The schema and the loader's table name the same keys.
want = schema_keys(schema, schema)
got = dump_keys(load(amtest.src("t", "policy", "good", "all-keys",
                                "expected.json")))
t.is_(sorted(want - got), [], "every schema key is in the all-keys dump")
t.is_(sorted(got - want), [], "every key the loader dumps is in the schema")

# Every default in the schema is the loader's default.
empty = load(amtest.src("t", "policy", "good", "empty", "expected.json"))
defaults = schema_defaults(schema, schema)
t.ok(len(defaults) >= 20, "%d defaults in the schema" % len(defaults))
for path, value in sorted(defaults.items()):
    if "[]" in path:
        continue
    try:
        got = at(empty, path)
    except KeyError:
        got = "(absent)"
    t.is_(got, value, "default of %s" % path)

t.done()
