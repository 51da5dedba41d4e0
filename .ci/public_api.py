#!/usr/bin/env python3
"""The public API of livetel, one item a line, from rustdoc's JSON (nightly), compared with docs/public-api.txt.

    python3 .ci/public_api.py           # check: exit 1 with a diff when the API changed and the list did not
    python3 .ci/public_api.py --write   # regenerate docs/public-api.txt after an intended change

Also fails when a public enum, or a struct whose fields are all public, lacks `#[non_exhaustive]` (adding a
variant or a field to it would break users), unless it is in FROZEN below.

Needs the nightly toolchain (`rustup toolchain list`); rustdoc JSON is unstable, so this reads only the parts of
format 57 that have been stable for many versions (index, inner kinds, function signatures). All features on.
"""

import difflib
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, "docs", "public-api.txt")
# Types whose shape is settled: a new field or variant would be a new type.
FROZEN = {"livetel::Position", "livetel::http::HeaderExtractor", "livetel::http::HeaderInjector"}


def rustdoc_json():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    cmd = ["cargo", "+nightly", "rustdoc", "-q", "--lib", "--all-features", "--",
           "-Z", "unstable-options", "--output-format", "json"]
    subprocess.run(cmd, cwd=ROOT, check=True)
    with open(os.path.join(target, "doc", "livetel.json")) as f:
        return json.load(f)


def generic_args(a):
    if not a:
        return ""
    if "angle_bracketed" in a:
        ab = a["angle_bracketed"]
        parts = []
        for g in ab["args"]:
            if "type" in g:
                parts.append(ty(g["type"]))
            elif "lifetime" in g:
                parts.append(g["lifetime"])
            elif "const" in g:
                parts.append(str(g["const"].get("expr", "_")))
            else:
                parts.append("_")
        for c in ab.get("constraints", []):
            b = c.get("binding", {})
            val = ty(b["equality"]["type"]) if "equality" in b and "type" in b["equality"] else bounds(b.get("constraint", []))
            parts.append(f"{c['name']} = {val}")
        return "<" + ", ".join(parts) + ">" if parts else ""
    if "parenthesized" in a:
        p = a["parenthesized"]
        out = "(" + ", ".join(ty(t) for t in p["inputs"]) + ")"
        return out + (" -> " + ty(p["output"]) if p.get("output") else "")
    return ""


def path_of(p):
    return p["path"] + generic_args(p.get("args"))


def bounds(bs):
    out = []
    for b in bs:
        if "trait_bound" in b:
            out.append(path_of(b["trait_bound"]["trait"]))
        elif "outlives" in b:
            out.append(b["outlives"])
        else:
            out.append("?")
    return " + ".join(out)


def ty(t):
    if t is None:
        return "()"
    k, v = next(iter(t.items()))
    if k == "resolved_path":
        return path_of(v)
    if k in ("generic", "primitive"):
        return v
    if k == "borrowed_ref":
        lt = (v["lifetime"] + " ") if v.get("lifetime") else ""
        return "&" + lt + ("mut " if v["is_mutable"] else "") + ty(v["type"])
    if k == "tuple":
        return "(" + ", ".join(ty(x) for x in v) + ")"
    if k == "slice":
        return "[" + ty(v) + "]"
    if k == "array":
        return f"[{ty(v['type'])}; {v['len']}]"
    if k == "impl_trait":
        return "impl " + bounds(v)
    if k == "dyn_trait":
        return "dyn " + " + ".join(path_of(x["trait"]) for x in v["traits"])
    if k == "raw_pointer":
        return "*" + ("mut " if v["is_mutable"] else "const ") + ty(v["type"])
    if k == "qualified_path":
        return f"<{ty(v['self_type'])}>::{v['name']}"
    if k == "function_pointer":
        return "fn(" + ", ".join(ty(x[1]) for x in v["sig"]["inputs"]) + ") -> " + ty(v["sig"]["output"])
    return k


def sig(name, f):
    h = f["header"]
    pre = ("const " if h["is_const"] else "") + ("async " if h["is_async"] else "") + ("unsafe " if h["is_unsafe"] else "")
    params = [p for p in f["generics"]["params"] if not p["kind"].get("type", {}).get("is_synthetic")]
    gen = "<" + ", ".join(p["name"] for p in params) + ">" if params else ""
    args = []
    for n, t in f["sig"]["inputs"]:
        args.append(ty(t).replace("Self", "self", 1) if n == "self" and ty(t) in ("Self", "&Self", "&mut Self") else f"{n}: {ty(t)}")
    out = f" -> {ty(f['sig']['output'])}" if f["sig"]["output"] else ""
    return f"{pre}fn {name}{gen}({', '.join(args)}){out}"


class Api:
    def __init__(self, doc):
        self.idx = doc["index"]
        self.lines = set()
        self.problems = []

    def item(self, i):
        return self.idx.get(str(i))

    def walk_module(self, mod_id, path):
        for child in self.item(mod_id)["inner"]["module"]["items"]:
            it = self.item(child)
            if it is None or it["visibility"] != "public" and "use" not in it["inner"]:
                continue
            self.visit(it, path)

    def visit(self, it, path, name=None):
        kind, inner = next(iter(it["inner"].items()))
        name = name or it["name"]
        full = f"{path}::{name}"
        ne = " #[non_exhaustive]" if "non_exhaustive" in it.get("attrs", []) else ""
        if kind == "use":
            target = self.item(inner["id"]) if inner.get("id") is not None else None
            if target is None or target["crate_id"] != 0:
                self.lines.add(f"pub use {path}::{inner['name']} = {inner['source']}")
            elif inner["is_glob"]:
                self.walk_module(inner["id"], path)
            else:
                self.visit(target, path, inner["name"])
        elif kind == "module":
            self.lines.add(f"pub mod {full}")
            self.walk_module(it["id"], full)
        elif kind == "function":
            self.lines.add(f"pub {sig(full, inner)}")
        elif kind == "struct":
            self.lines.add(f"pub struct {full}{ne}")
            sk = inner["kind"]
            fields = sk.get("plain", {}).get("fields", []) if isinstance(sk, dict) else []
            if isinstance(sk, dict) and "tuple" in sk:
                fields = [f for f in sk["tuple"] if f is not None]
            for fid in fields:
                f = self.item(fid)
                self.lines.add(f"pub field {full}::{f['name']}: {ty(f['inner']['struct_field'])}")
            stripped = sk.get("plain", {}).get("has_stripped_fields", True) if isinstance(sk, dict) and "plain" in sk else True
            if isinstance(sk, dict) and "tuple" in sk:
                stripped = None in sk["tuple"]
            if fields and not stripped and not ne and full not in FROZEN:
                self.problems.append(f"{full}: a struct with only public fields needs #[non_exhaustive]")
            self.impls(inner["impls"], full)
        elif kind == "enum":
            self.lines.add(f"pub enum {full}{ne}")
            for vid in inner["variants"]:
                v = self.item(vid)
                self.lines.add(f"pub variant {full}::{v['name']}")
            if not ne and full not in FROZEN:
                self.problems.append(f"{full}: a public enum needs #[non_exhaustive]")
            self.impls(inner["impls"], full)
        elif kind == "trait":
            self.lines.add(f"pub trait {full}")
            for mid in inner["items"]:
                m = self.item(mid)
                mk, mi = next(iter(m["inner"].items()))
                if mk == "function":
                    self.lines.add(f"pub trait-fn {sig(full + '::' + m['name'], mi)}")
                else:
                    self.lines.add(f"pub trait-{mk} {full}::{m['name']}")
        elif kind in ("type_alias", "constant", "static"):
            self.lines.add(f"pub {kind} {full}")
        elif kind in ("macro", "proc_macro"):
            self.lines.add(f"pub macro {full}")
        else:
            self.lines.add(f"pub {kind} {full}")

    def impls(self, ids, full):
        for iid in ids:
            im = self.item(iid)["inner"]["impl"]
            if im["is_synthetic"] or im.get("blanket_impl") is not None:
                continue
            if im["trait"] is None:
                for mid in im["items"]:
                    m = self.item(mid)
                    if m["visibility"] == "public" and "function" in m["inner"]:
                        self.lines.add(f"pub {sig(full + '::' + m['name'], m['inner']['function'])}")
            else:
                self.lines.add(f"impl {path_of(im['trait'])} for {full}")


def main():
    doc = rustdoc_json()
    try:
        walk(doc)
    except (KeyError, TypeError, StopIteration) as e:
        sys.exit(f"rustdoc JSON format {doc.get('format_version')} not understood ({e!r}): this script reads "
                 f"format 57; adapt it to the nightly toolchain's format")


def walk(doc):
    api = Api(doc)
    root = next(k for k, v in api.idx.items() if v["crate_id"] == 0 and v["name"] == "livetel" and "module" in v["inner"])
    api.walk_module(root, "livetel")
    text = "\n".join(sorted(api.lines)) + "\n"
    ok = True
    if "--write" in sys.argv:
        with open(LIST, "w") as f:
            f.write(text)
        print(f"wrote {LIST}: {len(api.lines)} items")
    else:
        old = open(LIST).read() if os.path.exists(LIST) else ""
        if old != text:
            sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), text.splitlines(True), "docs/public-api.txt", "now"))
            print("public API changed: if intended, run `python3 .ci/public_api.py --write` and commit docs/public-api.txt")
            ok = False
        else:
            print(f"public API: {len(api.lines)} items, as docs/public-api.txt lists")
    for p in api.problems:
        print("non_exhaustive:", p)
    sys.exit(0 if ok and not api.problems else 1)


if __name__ == "__main__":
    main()
