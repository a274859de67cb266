"""Extract the hashicorp/google and google-beta provider schemas from the CDKTF bindings' jsii assemblies.

The PyPI packages cdktf-cdktf-provider-google and -google-beta 16.12.1 are generated from the 6.50.0 providers; each
wheel carries a jsii assembly (`_jsii/*.jsii.tgz`, ~100 MB unpacked) that describes every resource and data source:
its arguments (required or optional) and nested blocks, recursively. This script keeps only those facts, compactly,
in infra/schema/provider_schema.json, which `dev/check_provider_schema.py` (and so `make test`) reads offline.

    python -m dev.provider_schema                    # downloads the hash-pinned wheels with pip, then extracts
    python -m dev.provider_schema --wheel A.whl ...  # extracts from wheels already at hand

The wheels are pinned by sha256 in infra/schema/requirements-provider-schema.txt (pip --require-hashes).
Computed-only attributes are not in a CDKTF config interface, so the schema lists what may be set, which is what
the check needs.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "infra" / "schema" / "provider_schema.json"
PINS = ROOT / "infra" / "schema" / "requirements-provider-schema.txt"

_TYPE_LINK = re.compile(r"/docs/(resources|data-sources)/[a-z0-9_]+ ([a-z0-9_]+)\}")
_ARG_LINK = re.compile(r"Docs at Terraform Registry: \{@link https://registry\.terraform\.io/providers/hashicorp/"
                       r"[a-z-]+/[0-9.]+/docs/[a-z-]+/[a-z0-9_]+#([a-z0-9_]+) ")
_VERSION = re.compile(r"registry\.terraform\.io/providers/hashicorp/([a-z-]+)/([0-9.]+)/")


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _struct_of(jtype: dict[str, Any], types: dict[str, Any]) -> tuple[str | None, bool]:
    """The nested struct a property refers to (directly, in a list, or in a union with IResolvable), and whether
    it is a single object (a block of at most one item) rather than a list."""
    if "fqn" in jtype:
        fqn = jtype["fqn"]
        return (fqn, True) if types.get(fqn, {}).get("datatype") else (None, False)
    if "collection" in jtype:
        inner, _ = _struct_of(jtype["collection"]["elementtype"], types)
        return inner, False
    if "union" in jtype:
        for option in jtype["union"]["types"]:
            inner, single = _struct_of(option, types)
            if inner:
                return inner, single
    return None, False


def _shape(fqn: str, types: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """{"a": {argument: 1 if required else 0}, "b": {block: {"r": required, "m": max one, "a":..., "b":...}}}."""
    if depth > 12:
        raise RuntimeError(f"{fqn}: nesting deeper than 12")
    attrs: dict[str, int] = {}
    blocks: dict[str, Any] = {}
    for prop in types[fqn].get("properties", []):
        links = _ARG_LINK.findall(json.dumps(prop["docs"]).replace("\\n", "\n"))
        name = links[-1] if links else _snake(prop["name"])
        required = 0 if prop.get("optional") else 1
        struct, single = _struct_of(prop["type"], types)
        if struct and prop["docs"].get("summary", "").endswith(" block."):
            block = _shape(struct, types, depth + 1)
            block["r"] = required
            if single:
                block["m"] = 1
            blocks[name] = block
        else:
            attrs[name] = required
    shape: dict[str, Any] = {}
    if attrs:
        shape["a"] = dict(sorted(attrs.items()))
    if blocks:
        shape["b"] = dict(sorted(blocks.items()))
    return shape


def extract(assembly: dict[str, Any]) -> dict[str, Any]:
    types = assembly["types"]
    out: dict[str, Any] = {"resources": {}, "data": {}}
    version = ""
    for fqn, t in types.items():
        base = t.get("base")
        if base == "cdktf.TerraformProvider":
            out["provider"] = _shape(t["initializer"]["parameters"][2]["type"]["fqn"], types)
            continue
        if base not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
            continue
        link = _TYPE_LINK.search(t["docs"]["summary"])
        if not link:
            raise RuntimeError(f"{fqn}: no registry link in its summary")
        version = _VERSION.search(t["docs"]["summary"]).group(2)  # type: ignore[union-attr]
        kind = "resources" if link.group(1) == "resources" else "data"
        config = t["initializer"]["parameters"][2]["type"]["fqn"]
        out[kind][link.group(2)] = _shape(config, types)
    out["resources"] = dict(sorted(out["resources"].items()))
    out["data"] = dict(sorted(out["data"].items()))
    out["provider_version"] = version
    return out


def _assembly(wheel: Path) -> tuple[str, dict[str, Any]]:
    with zipfile.ZipFile(wheel) as zf:
        [member] = [n for n in zf.namelist() if n.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(zf.read(member))) as tar:
            raw = tar.extractfile("package/.jsii").read()  # type: ignore[union-attr]
    assembly = json.loads(raw)
    return assembly["name"], assembly


def _download(dest: Path) -> list[Path]:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--require-hashes",
                    "--only-binary=:all:", "-d", str(dest), "-r", str(PINS)], check=True)
    return sorted(dest.glob("*.whl"))


def _dump(doc: dict[str, Any]) -> str:
    """Compact JSON with one resource type a line, so a provider bump reads as a diff per type."""
    lines = ["{", f'"_comment":{json.dumps(doc["_comment"])},', '"providers":{']
    for i, (provider, spec) in enumerate(doc["providers"].items()):
        lines.append(f'{json.dumps(provider)}:{{"package":{json.dumps(spec["package"])},'
                     f'"provider_version":{json.dumps(spec["provider_version"])},')
        lines.append(f'"provider":{json.dumps(spec["provider"], separators=(",", ":"))},')
        for j, kind in enumerate(("resources", "data")):
            lines.append(f'"{kind}":{{')
            items = list(spec[kind].items())
            lines.extend(f'{json.dumps(n)}:{json.dumps(s, separators=(",", ":"))}{"," if k < len(items) - 1 else ""}'
                         for k, (n, s) in enumerate(items))
            lines.append("}," if j == 0 else "}")
        lines.append("}," if i < len(doc["providers"]) - 1 else "}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", action="append", type=Path, help="a cdktf provider wheel already downloaded")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = args.wheel or _download(Path(tmp))
        providers: dict[str, Any] = {}
        for wheel in wheels:
            name, assembly = _assembly(wheel)
            provider = "google-beta" if name.endswith("google-beta") else "google"
            providers[provider] = {"package": f"{name}@{assembly['version']}", **extract(assembly)}
    doc = {
        "_comment": "Generated by `python -m dev.provider_schema` from the jsii assemblies of the CDKTF bindings pinned "
                    "in requirements-provider-schema.txt. a: arguments (1 = required), b: nested blocks (r: required, "
                    "m: at most one). Computed-only attributes are left out. Do not edit by hand.",
        "providers": dict(sorted(providers.items())),
    }
    args.out.write_text(_dump(doc))
    for p, s in providers.items():
        print(f"{p} {s['provider_version']} ({s['package']}): {len(s['resources'])} resources, {len(s['data'])} data sources")
    print(f"wrote {args.out.relative_to(ROOT)} ({args.out.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
