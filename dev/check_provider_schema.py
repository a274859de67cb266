"""Offline check of infra/ against the real hashicorp/google and google-beta 6.50.0 provider schemas.

`terraform validate` needs the providers, which cannot be downloaded here; infra/schema/provider_schema.json holds
what validate would check them against (made by `python -m dev.provider_schema` from the CDKTF bindings' jsii
assemblies). Every resource, data and provider block of every .tf file is checked for:
- a resource or data source type that the provider it uses does not have;
- an argument or nested block the schema does not have, at any depth, inside `dynamic` blocks too;
- a block written as an argument (`x = {...}`) or an argument written as a block;
- a block that allows one item written more than once;
- a required argument or block that is missing (a `dynamic` block counts as present).

    python -m dev.check_provider_schema [DIR_OR_FILE ...]     # default: infra/
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "infra" / "schema" / "provider_schema.json"

_OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=True, strip_string_quotes=True)
_BLOCK = "__is_block__"
# Terraform's own arguments and blocks of every resource and data block (the language, not the provider).
META_ARGS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"resource": {"lifecycle", "provisioner", "connection"}, "data": {"lifecycle"}}
PROVIDER_META_ARGS = {"alias", "version"}


@dataclass(frozen=True)
class Finding:
    file: str
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.address}: {self.message}"


@cache
def load_schema(path: Path = SCHEMA) -> dict[str, Any]:
    return json.loads(path.read_text())["providers"]


def _is_block(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(_BLOCK) for v in value)


def _provider_of(body: dict[str, Any], rtype: str) -> str:
    """The provider a block uses: its `provider` argument, else the type's prefix (`google_x` -> google)."""
    ref = body.get("provider")
    if isinstance(ref, str):
        return ref.removeprefix("${").removesuffix("}").split(".")[0]
    return rtype.split("_")[0]


class _Checker:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.findings: list[Finding] = []
        self.blocks = 0
        self.file = ""

    def add(self, address: str, message: str) -> None:
        self.findings.append(Finding(self.file, address, message))

    def body(self, address: str, body: dict[str, Any], shape: dict[str, Any], meta_args: set[str],
             meta_blocks: set[str]) -> None:
        attrs: dict[str, int] = shape.get("a", {})
        blocks: dict[str, Any] = shape.get("b", {})
        present: set[str] = set()
        for key, value in body.items():
            if key == _BLOCK:
                continue
            if key == "dynamic" and isinstance(value, list) and all(isinstance(d, dict) for d in value):
                for dyn in value:  # [{label: {for_each, content, __is_block__}}]
                    for name, spec in dyn.items():
                        if name != _BLOCK and isinstance(spec, dict):
                            present.add(name)
                            self.dynamic(f"{address}.dynamic.{name}", name, spec, blocks)
                continue
            if key in meta_blocks and _is_block(value):
                continue
            if key in meta_args and not _is_block(value):
                continue
            present.add(key)
            if key in attrs:
                if _is_block(value):
                    self.add(address, f"`{key}` is an argument, written here as a block (use `{key} = ...`)")
            elif key in blocks:
                if not _is_block(value):
                    self.add(address, f"`{key}` is a block, written here as an argument (use `{key} {{ ... }}`)")
                    continue
                if blocks[key].get("m") and len(value) > 1:
                    self.add(address, f"block `{key}` allows one, written {len(value)} times")
                for i, item in enumerate(value):
                    self.body(f"{address}.{key}" + (f"[{i}]" if len(value) > 1 else ""), item, blocks[key], set(), set())
            else:
                kind = "block" if _is_block(value) else "argument"
                self.add(address, f"unknown {kind} `{key}`" + _suggest(key, [*attrs, *blocks]))
        for name, required in attrs.items():
            if required and name not in present:
                self.add(address, f"missing required argument `{name}`")
        for name, spec in blocks.items():
            if spec.get("r") and name not in present:
                self.add(address, f"missing required block `{name}`")

    def dynamic(self, address: str, name: str, spec: dict[str, Any], blocks: dict[str, Any]) -> None:
        if name not in blocks:
            self.add(address, f"unknown block `{name}` in a dynamic block" + _suggest(name, list(blocks)))
            return
        allowed = {"for_each", "iterator", "labels", "content", _BLOCK}
        for key in set(spec) - allowed:
            self.add(address, f"unknown argument `{key}` of a dynamic block")
        if "for_each" not in spec:
            self.add(address, "a dynamic block needs `for_each`")
        contents = spec.get("content")
        if not _is_block(contents) or len(contents) != 1:
            self.add(address, "a dynamic block needs exactly one `content` block")
            return
        self.body(f"{address}.content", contents[0], blocks[name], set(), set())

    def document(self, doc: dict[str, Any]) -> None:
        for kind, schema_key in (("resource", "resources"), ("data", "data")):
            for block in doc.get(kind, []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        if name == _BLOCK:
                            continue
                        self.blocks += 1
                        address = f"{'data.' if kind == 'data' else ''}{rtype}.{name}"
                        provider = _provider_of(body, rtype)
                        spec = self.schema.get(provider)
                        if spec is None:
                            self.add(address, f"provider `{provider}` has no schema here (google, google-beta)")
                            continue
                        shape = spec[schema_key].get(rtype)
                        if shape is None:
                            where = [p for p, s in self.schema.items() if rtype in s[schema_key]]
                            hint = f"; it is in {', '.join(where)}: set `provider`" if where else ""
                            self.add(address, f"{provider} {spec['provider_version']} has no {kind} type "
                                              f"`{rtype}`{hint}")
                            continue
                        self.body(address, body, shape, META_ARGS, META_BLOCKS[kind])
        for block in doc.get("provider", []):
            for provider, body in block.items():
                if provider in self.schema:
                    self.blocks += 1
                    self.body(f"provider.{provider}", body, self.schema[provider]["provider"], PROVIDER_META_ARGS, set())


def _suggest(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean `{close[0]}`?)" if close else ""


def check_paths(paths: list[Path], schema: dict[str, Any] | None = None) -> tuple[list[Finding], int]:
    """Findings over every .tf file under `paths`, and the number of blocks checked."""
    checker = _Checker(schema or load_schema())
    files = sorted({f for p in paths for f in ([p] if p.is_file() else p.rglob("*.tf")) if ".terraform" not in f.parts})
    for file in files:
        checker.file = str(file.relative_to(ROOT)) if file.is_relative_to(ROOT) else str(file)
        checker.document(hcl2.loads(file.read_text(), serialization_options=_OPTIONS))
    return checker.findings, checker.blocks


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    paths = [Path(a).resolve() for a in args] or [ROOT / "infra"]
    findings, blocks = check_paths(paths)
    versions = ", ".join(f"{p} {s['provider_version']}" for p, s in load_schema().items())
    for f in findings:
        print(f)
    print(f"provider schema check ({versions}): {len(findings)} finding(s) in {blocks} blocks")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
