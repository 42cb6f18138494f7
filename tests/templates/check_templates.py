"""Checks on template.yaml and spoke.yaml that a linter cannot make:

1. No IAM action is "*" or "service:*", in any role or resource policy.
2. Each function's environment variables are exactly the variables its config reads
   (shared/src/config.rs), so the template and the contract cannot drift apart.
3. Both functions run with reserved concurrency 1 (one writer each).

Prints "N passed, M failed" and exits non-zero on a failure.
"""

import re
import sys
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
results = []


def check(name, ok, detail=""):
    results.append((name, ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


def statements(node, where):
    """Every IAM statement under `node`, with where it was found."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("PolicyDocument", "AssumeRolePolicyDocument") and isinstance(value, dict):
                for st in value.get("Statement", []):
                    yield where, st
            elif key == "Statement" and isinstance(value, (dict, list)):
                for st in value if isinstance(value, list) else [value]:
                    yield where, st
            else:
                yield from statements(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from statements(item, where)


def actions(statement):
    a = statement.get("Action", [])
    return [a] if isinstance(a, str) else [x for x in a if isinstance(x, str)]


def contract():
    """Variables each config reads: {"TargetSyncConfig": {...}, "RouteSyncConfig": {...}}."""
    text = (ROOT / "shared/src/config.rs").read_text()
    names = dict(re.findall(r'pub const (\w+): &str = "(FRONTDOOR_\w+)";', text))
    out = {}
    for block in re.finditer(r"impl (\w+Config) \{(.*?)\n\}", text, re.S):
        used = re.findall(r"vars\.(?:required|with_default)\(\s*(\w+)", block.group(2))
        out[block.group(1)] = {names[u] for u in used}
    return out


def main():
    expected = contract()
    binaries = {"target-sync": "TargetSyncConfig", "route-sync": "RouteSyncConfig"}
    check("config.rs declares both configs", set(expected) == set(binaries.values()), str(expected))
    for file in ("template.yaml", "spoke.yaml"):
        template = cfn_yaml.load(str(ROOT / file))
        resources = template["Resources"]
        found = 0
        for logical, resource in resources.items():
            for where, st in statements(resource.get("Properties", {}), f"{file}:{logical}"):
                found += 1
                wild = [a for a in actions(st) if a == "*" or a.endswith(":*")]
                check(f"{where} {st.get('Sid', '')} has no * action", not wild, str(wild))
        check(f"{file} has IAM statements to check", found > 0)
        for logical, resource in resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            props = resource["Properties"]
            env = set(props.get("Environment", {}).get("Variables", {}))
            want = expected.get(binaries.get(binary, ""), set())
            check(f"{file}:{logical} ({binary}) env == config contract", env == want,
                  f"extra {sorted(env - want)}, missing {sorted(want - env)}")
            check(f"{file}:{logical} reserved concurrency 1", props.get("ReservedConcurrentExecutions") == 1)
    failed = sum(1 for _, ok in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
