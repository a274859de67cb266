"""The deploy builds' own steps, in Python with hash-locked libraries (locks/functions.txt), so the builds that hold
the deployer's credentials run no tool outside a hash lock and need no Cloud SDK image.

    python -m dev.release gate --project P --commit SHA [--wait-seconds N]
                                                                  a successful checks build exists for this commit
    python -m dev.release fetch-plan --bucket B --env E --build-id ID --sha256 H
                                                                  the approved plan bundle, verified, then unpacked
    python -m dev.release publish-web --bucket B [--dist web/dist] the built app under app/, stale files removed
"""

from __future__ import annotations

import argparse
import hashlib
import mimetypes
import re
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

CHECKS_TAG = "checks"
# Terraform writes app/config.json; publishing never replaces or deletes it.
KEEP = {"config.json"}
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def checks_filter(commit: str) -> str:
    """builds.list filter of the checks builds of this commit (Cloud Build REST v1, projects.builds.list:
    https://cloud.google.com/build/docs/api/reference/rest/v1/projects.builds/list , filtering by
    `substitutions.COMMIT_SHA`, `tags` and `status`: https://cloud.google.com/build/docs/view-build-results#filtering_build_results_using_queries)."""
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise ValueError("the commit must be a full 40-character sha")
    return f'substitutions.COMMIT_SHA="{commit}" AND tags="{CHECKS_TAG}"'


def gate(project: str, commit: str, session: Any = None, wait_seconds: float = 0, poll_seconds: float = 30) -> str:
    """The id of a successful checks build of `commit`. While one is still queued or running (both triggers start on
    the same push), waits for it up to `wait_seconds`; with none, or none that passed, the deploy stops here."""
    if session is None:
        import google.auth
        from google.auth.transport.requests import AuthorizedSession

        credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
        session = AuthorizedSession(credentials)
    url = f"https://cloudbuild.googleapis.com/v1/projects/{project}/builds"
    deadline = time.monotonic() + wait_seconds
    while True:
        resp = session.get(url, params={"filter": checks_filter(commit), "pageSize": 50}, timeout=30)
        resp.raise_for_status()
        builds = resp.json().get("builds", [])
        passed = [b["id"] for b in builds if b.get("status") == "SUCCESS"]
        if passed:
            return str(passed[0])
        running = [b for b in builds if b.get("status") in ("PENDING", "QUEUED", "WORKING")]
        if not running or time.monotonic() >= deadline:
            states = sorted({str(b.get("status")) for b in builds}) or ["none"]
            raise SystemExit(f"no successful '{CHECKS_TAG}' build for {commit} (found: {', '.join(states)}): the tests "
                             "and linters must pass first (trigger checks, cloudbuild-checks.yaml)")
        time.sleep(poll_seconds)


def verify_and_unpack(bundle: Path, sha256: str, dest: Path) -> None:
    """Unpacks the plan bundle only if it is the one whose checksum the approver saw."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise SystemExit("_PLAN_SHA256 must be the sha256 the plan build printed")
    digest = hashlib.sha256()
    with bundle.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise SystemExit(f"{bundle.name}: sha256 {digest.hexdigest()} is not the approved {sha256}; nothing applied")
    with tarfile.open(bundle) as tar:
        tar.extractall(dest, filter="data")  # no absolute paths, links out of dest or devices


def fetch_plan(client: Any, bucket: str, env: str, build_id: str, sha256: str, dest: Path) -> None:
    if not re.fullmatch(r"[0-9a-f-]{36}", build_id):
        raise SystemExit("_PLAN_BUILD_ID must name the plan build")
    bundle = dest / "plan-bundle.tgz"
    client.bucket(bucket).blob(f"plans/{env}/{build_id}/plan-bundle.tgz").download_to_filename(str(bundle))
    verify_and_unpack(bundle, sha256, dest)


def publish_web(client: Any, bucket: str, dist: Path, prefix: str = "app") -> dict[str, int]:
    """Uploads the built app under `prefix`/ (hashed assets immutable, index.html revalidated), then deletes what the
    new build no longer has, except Terraform's config.json. Uploads come first, so a page never misses an asset."""
    if not (dist / "index.html").is_file():
        raise SystemExit(f"{dist}/index.html is missing: build the app first (npm run build)")
    target = client.bucket(bucket)
    names = set()
    for path in sorted(p for p in dist.rglob("*") if p.is_file()):
        rel = path.relative_to(dist).as_posix()
        if rel in KEEP:
            continue
        name = f"{prefix}/{rel}"
        names.add(name)
        blob = target.blob(name)
        blob.cache_control = REVALIDATE if rel == "index.html" else IMMUTABLE
        blob.upload_from_filename(str(path), content_type=mimetypes.guess_type(rel)[0] or "application/octet-stream")
    deleted = 0
    for blob in client.list_blobs(bucket, prefix=f"{prefix}/"):
        if blob.name not in names and blob.name.removeprefix(f"{prefix}/") not in KEEP:
            blob.delete()
            deleted += 1
    return {"uploaded": len(names), "deleted": deleted}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("gate")
    g.add_argument("--project", required=True)
    g.add_argument("--commit", required=True)
    g.add_argument("--wait-seconds", type=float, default=0)
    f = sub.add_parser("fetch-plan")
    f.add_argument("--bucket", required=True)
    f.add_argument("--env", required=True)
    f.add_argument("--build-id", required=True)
    f.add_argument("--sha256", required=True)
    f.add_argument("--dest", type=Path, default=Path("."))
    w = sub.add_parser("publish-web")
    w.add_argument("--bucket", required=True)
    w.add_argument("--dist", type=Path, default=Path("web/dist"))
    args = parser.parse_args(argv)
    if args.command == "gate":
        print(f"checks build {gate(args.project, args.commit, wait_seconds=args.wait_seconds)} passed for {args.commit}")
        return 0
    from google.cloud import storage

    client = storage.Client()
    if args.command == "fetch-plan":
        fetch_plan(client, args.bucket, args.env, args.build_id, args.sha256, args.dest)
        print(f"plan bundle of build {args.build_id} verified (sha256 {args.sha256}) and unpacked")
    else:
        print(f"published {publish_web(client, args.bucket, args.dist)} to gs://{args.bucket}/app/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
