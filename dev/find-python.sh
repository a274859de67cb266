#!/usr/bin/env bash
# Print the path of a working Python 3.12 interpreter, or explain what is missing and exit 1.
# A pyenv shim named python3.12 may exist without 3.12 being selected, so every candidate is actually run.
set -u
candidates=(python3.12)
if command -v pyenv >/dev/null 2>&1; then
  root="$(pyenv root 2>/dev/null)"
  for d in "$root"/versions/3.12*/bin/python3.12; do [ -x "$d" ] && candidates+=("$d"); done
fi
for d in "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/local/bin/python3.12 /usr/bin/python3.12 /opt/python*/bin/python3.12; do
  [ -x "$d" ] && candidates+=("$d")
done
for c in "${candidates[@]}"; do
  if out=$("$c" -c 'import sys, venv; assert sys.version_info[:2] == (3, 12); print(sys.executable)' 2>/dev/null); then
    echo "$out"
    exit 0
  fi
done
cat >&2 <<'MSG'
Python 3.12 is required (the functions deploy on the python312 runtime) and none was found.
Install it, for example:
  - pyenv:   pyenv install 3.12
  - Debian/Ubuntu with a 3.12 package:  apt-get install python3.12 python3.12-venv
then run the command again, or point PYTHON=/path/to/python3.12 at it.
MSG
exit 1
