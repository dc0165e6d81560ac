#!/usr/bin/python3
"""man/authmilter-policy.5 documents every key of policy/schema.json
(by its dotted path, "sign.keys[].key_file"; the keys of "actions" by
their own names, under ACTION KEYS) and every action."""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import amtest  # noqa: E402

t = amtest.Tap()


def resolve(schema, node):
    while "$ref" in node:
        node = dict(schema["$defs"][node["$ref"].split("/")[-1]],
                    **{k: v for k, v in node.items() if k != "$ref"})
    return node


def keys(schema, node, prefix=""):
    node = resolve(schema, node)
    out = []
    for name, sub in node.get("properties", {}).items():
        out.append(prefix + name)
        out += keys(schema, sub, prefix + name + ".")
    if isinstance(node.get("items"), dict):
        out += keys(schema, node["items"], prefix[:-1] + "[].")
    return out


with open(amtest.src("policy", "schema.json"), encoding="utf-8") as f:
    schema = json.load(f)
with open(amtest.src("man", "authmilter-policy.5"), encoding="utf-8") as f:
    page = f.read()
# The words as a reader sees them: no font changes, no escaped hyphens.
text = re.sub(r"\\f[BIRP]", "", page).replace("\\-", "-").replace("\\&", "")

names = keys(schema, schema)
t.ok(len(names) > 50, "%d keys in the schema" % len(names))
for name in names:
    if name.startswith("actions."):
        found = re.search(r"^\.B %s$" % name[len("actions."):], page,
                          re.M) is not None
    else:
        found = name in text
    t.ok(found, "man page names %s" % name)
for action in schema["$defs"]["action"]["enum"]:
    t.ok(re.search(r"^\.B %s$" % action, page, re.M) is not None,
         "man page explains the action %s" % action)
t.ok("accept < tag < quarantine < tempfail < discard < reject" in text,
     "man page gives the order of severity")
t.done()
