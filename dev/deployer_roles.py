"""Print the gcloud commands that grant the deployer and the planner their roles, from infra/iam/deployer.json (the
table tests/infra/test_deployer_roles.py derives from the configuration's resource types). Review, then run them.

    python -m dev.deployer_roles --project P [--billing-account XXXXXX-XXXXXX-XXXXXX]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

TABLE = Path(__file__).resolve().parents[1] / "infra" / "iam" / "deployer.json"


def _condition(grant: dict[str, Any], project: str, grantable: list[str]) -> str:
    cond = grant.get("condition")
    if not cond:
        return "--condition=None"
    expression = cond["expression"].replace("${PROJECT_ID}", project)
    expression = expression.replace("GRANTABLE", ", ".join(json.dumps(r) for r in grantable))
    return f"--condition={shlex.quote(f'title={cond['title']},expression={expression}')}"


def commands(project: str, billing_account: str = "") -> list[str]:
    table = json.loads(TABLE.read_text())
    out = []
    for who in ("deployer", "planner"):
        member = f"serviceAccount:{who}@{project}.iam.gserviceaccount.com"
        for grant in table[who]:
            if grant.get("on") == "billing_account":
                account = billing_account or "BILLING_ACCOUNT_ID"
                out.append(f"gcloud billing accounts add-iam-policy-binding {account} --member={member} "
                           f"--role={grant['role']}")
                continue
            out.append(f"gcloud projects add-iam-policy-binding {project} --member={member} --role={grant['role']} "
                       f"{_condition(grant, project, table['grantable'])}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--project", required=True)
    parser.add_argument("--billing-account", default="")
    args = parser.parse_args(argv)
    sys.stdout.write("\n".join(commands(args.project, args.billing_account)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
