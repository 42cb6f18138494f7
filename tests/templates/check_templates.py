"""Checks on template.yaml and spoke.yaml that a linter cannot make:

1. No IAM action is "*" or "service:*", in any role or resource policy.
2. Each function's environment variables are exactly the variables its config reads
   (shared/src/config.rs: required, with_default and optional), so the template and the
   contract cannot drift apart.
3. One writer each: route-sync reserves no concurrency (its FIFO message group is the one
   writer), target-sync reserves exactly 1 (asynchronous invocations wait when throttled).
4. Least privilege: route-sync's API Gateway grants are exactly the calls it makes on the
   public API (never the API itself, never its stages); it assumes the spoke reader only in
   the allowed accounts; each spoke's ForwardRole trusts EventBridge for its own account.
5. One writer on a FIFO queue: the route queue and its dead-letter queue are FIFO with
   content-based deduplication on the route queue, a visibility timeout of six times the
   function timeout, every rule target into it names config.rs's message group, and
   route-sync takes batches of 10 with no batching window.
6. Deployable as documented: no RoleName on the hub's roles, private DNS off unless asked
   for, every function logs to a log group with retention (read after the SAM transform, so
   Globals are merged as SAM merges them) at a level that keeps the EMF metric lines, the
   public stage writes access logs, and each stack can make an optional trail whose bucket
   policy is bound to it.
7. Docs that match: the README's Configuration section names every variable config.rs reads
   and every FRONTDOOR_ variable the hub template sets.
8. The dashboard is JSON in every branch of its conditions and shows exactly the metrics the
   functions emit (shared/src/entry.rs), each under its function.
9. Cells (issue 23): the hub is checked as deployed with three cells (Cells=b,c), its
   Fn::ForEach loops expanded as cfn-lint expands them; every cell has what the first has
   (stage with access logs, /health, firewall, usage plan, retained API), route-sync's
   grants on it are exactly its calls, and its record (api-id:authorizer-id) evaluates to
   the right authorizer; with no cells, every cell resource is off; no loop entry starts
   with Condition and Rules use only the functions Rules take.

Usage: check_templates.py [--template HUB.yaml] [--spoke SPOKE.yaml]   (defaults: the repo's)
Prints "N passed, M failed" and exits non-zero on a failure.
"""

import argparse
import copy
import json
import os
import re
import sys
from fnmatch import fnmatchcase
from pathlib import Path

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[2]
results = []

# route-sync's calls on the public API (shared/src/routes/{observe,apply}.rs), as API Gateway
# authorizes them: the HTTP verb on the request path. ${Api} is the public API's id.
ROUTE_SYNC_APIGATEWAY = {
    ("GET", "/restapis/${Api}/resources"),  # GetResources (embed=methods, paged)
    ("POST", "/restapis/${Api}/resources/*"),  # CreateResource
    ("DELETE", "/restapis/${Api}/resources/*"),  # DeleteResource
    ("PUT", "/restapis/${Api}/resources/*/methods/*"),  # PutMethod, PutIntegration
    ("DELETE", "/restapis/${Api}/resources/*/methods/*"),  # DeleteMethod
    ("POST", "/restapis/${Api}/deployments"),  # CreateDeployment (stageName)
    ("GET", "/restapis/${Api}/deployments/*"),  # GetDeployment (what the stage serves)
    ("PATCH", "/restapis/${Api}/resources/*/methods/*"),  # UpdateMethod (hub policy)
    ("GET", "/restapis/${Api}/authorizers/*"),  # GetAuthorizer (its type)
    ("GET", "/restapis/${Api}/stages/${PublicStage}"),  # GetStage (method throttles)
    ("PATCH", "/restapis/${Api}/stages/${PublicStage}"),  # UpdateStage (method throttles)
}
PUBLIC_API = {"Fn::If": ["CreatePublicApi", {"Ref": "PublicApi"}, {"Ref": "ExistingPublicApiId"}]}
# Lambda files a JSON line without a "level" as INFO; these levels keep it.
LEVELS_THAT_KEEP_EMF = {"TRACE", "DEBUG", "INFO"}


def metrics_survive_any_level():
    """The EMF lines carry level FATAL and an RFC 3339 timestamp (shared/src/metrics.rs):
    then no ApplicationLogLevel drops them."""
    text = (ROOT / "shared/src/metrics.rs").read_text()
    return ('METRICS_LEVEL: &str = "FATAL"' in text
            and 'doc.insert("level".into(), json!(METRICS_LEVEL))' in text
            and 'doc.insert("timestamp".into()' in text)


def check(name, ok, detail=""):
    results.append((name, ok))
    print(f"{'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}")


def statements(node, where):
    """Every IAM statement under `node`, with where it was found."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("PolicyDocument", "AssumeRolePolicyDocument") and isinstance(value, dict):
                for st in as_list(value.get("Statement", [])):
                    yield where, st
            elif key == "Statement" and isinstance(value, (dict, list)):
                for st in as_list(value):
                    yield where, st
            else:
                yield from statements(value, where)
    elif isinstance(node, list):
        for item in node:
            yield from statements(item, where)


def as_list(x):
    return x if isinstance(x, list) else [x]


def actions(statement):
    return [a for a in as_list(statement.get("Action", [])) if isinstance(a, str)]


def ref(x):
    return x.get("Ref") if isinstance(x, dict) else None


def getatt(x):
    """("Resource", "Attr") of a GetAtt, else None."""
    if isinstance(x, dict) and "Fn::GetAtt" in x:
        v = x["Fn::GetAtt"]
        return tuple(v.split(".", 1)) if isinstance(v, str) else tuple(v)
    return None


def plain(node):
    """The template node as plain JSON values (cfn_yaml's node types compare awkwardly)."""
    return json.loads(json.dumps(node, default=str))


def sub_string(value):
    """The string of a Sub (long or short form), or the value itself."""
    if isinstance(value, dict) and "Fn::Sub" in value:
        v = value["Fn::Sub"]
        return (v if isinstance(v, str) else v[0]), ({} if isinstance(v, str) else v[1])
    return value, {}


def contract():
    """Variables each config reads, and route-sync's message group, from config.rs: the
    target config's block, and every variable of the VARIABLES table but the target group
    for route-sync (config.rs tests that the table is exactly what the configs read)."""
    text = (ROOT / "shared/src/config.rs").read_text()
    governance = (ROOT / "shared/src/governance.rs").read_text()
    names = dict(re.findall(r'pub const (\w+): &str = "(FRONTDOOR_\w+)";', text + governance))
    out = {}
    for block in re.finditer(r"impl (TargetSyncConfig) \{(.*?)\n\}", text, re.S):
        used = re.findall(r"vars\.(?:required|with_default|optional)\(\s*(\w+)", block.group(2))
        out[block.group(1)] = {names[u] for u in used}
    table = re.findall(r"Variable \{ name: (?:governance::)?(\w+),", text)
    out["RouteSyncConfig"] = {names[u] for u in table} - {names["TARGET_GROUP_ARN"]}
    group = re.search(r'pub const ROUTE_MESSAGE_GROUP: &str = "([^"]+)";', text)
    return out, group.group(1) if group else None


def evaluate(node, template, conditions=None):
    """`node` with parameters at their defaults and Fn::If / conditions decided."""
    params = template.get("Parameters", {})
    conds = template.get("Conditions", {})
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key == "Ref" and value in params:
            return str(params[value].get("Default", ""))
        if key == "Fn::Join":
            sep, items = value
            items = evaluate(items, template)
            items = items.split(",") if isinstance(items, str) else [evaluate(i, template) for i in items]
            return sep.join(str(i) for i in items)
        if key == "Fn::Equals":
            a, b = (evaluate(v, template) for v in value)
            return str(a) == str(b)
        if key == "Fn::Not":
            return not evaluate(value[0], template)
        if key == "Fn::And":
            return all(evaluate(v, template) for v in value)
        if key == "Fn::Or":
            return any(evaluate(v, template) for v in value)
        if key == "Condition":
            return evaluate(conds[value], template)
        if key == "Fn::If":
            name, yes, no = value
            return evaluate(yes if evaluate(conds[name], template) else no, template)
    return node


def functions(template):
    """{binary: (logical id, resource)} of the SAM functions."""
    out = {}
    for logical, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            binary = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            out[binary] = (logical, resource)
    return out


# The cells the hub is checked with: two named cells beside the first, so three in all.
THREE_CELLS = ["b", "c"]


def with_cells(template, cells):
    """The hub as CloudFormation sees it with `Cells` set to `cells`: its Fn::ForEach loops
    expanded (cfn-lint's AWS::LanguageExtensions transform, the one `sam validate --lint`
    runs), and DomainName given, which cells need. No cells is [""], as CloudFormation reads
    an empty list."""
    from cfnlint.template import Template
    from cfnlint.template.transforms._language_extensions import _Transform

    doc = plain(template)

    # cfn-lint cannot loop over an empty string: loop over a stand-in, then take it out.
    stand_in = "Zz0EmptyName0zZ"
    named = list(cells) or [stand_in]

    def fix_collections(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k.startswith("Fn::ForEach::") and isinstance(v, list) and v[1] == {"Ref": "Cells"}:
                    v[1] = named
                fix_collections(v)
        elif isinstance(node, list):
            for v in node:
                fix_collections(v)

    fix_collections(doc)
    doc["Parameters"]["Cells"]["Default"] = ",".join(cells)
    if cells:
        doc["Parameters"]["DomainName"]["Default"] = "api.example.com"
        doc["Parameters"]["CertificateArn"]["Default"] = "arn:aws:acm:us-east-1:111111111111:certificate/x"
    _, expanded = _Transform().transform(Template("template.yaml", doc, ["us-east-1"]))
    expanded = json.loads(json.dumps(plain(expanded)).replace(stand_in, ""))
    expanded["Transform"] = "AWS::Serverless-2016-10-31"
    return expanded


def sam_transform(template):
    """The template after the SAM transform (Globals merged as SAM merges them)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self):
            return {}

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    template = copy.deepcopy(plain(template))
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://bucket/key"  # sam build's job
    return transform(template, {}, NoManagedPolicies())


def check_common(label, template, expected):
    """IAM wildcards, env == contract, reserved concurrency; for either stack."""
    resources = template["Resources"]
    found = 0
    for logical, resource in resources.items():
        for where, st in statements(resource.get("Properties", {}), f"{label}:{logical}"):
            found += 1
            wild = [a for a in actions(st) if a == "*" or a.endswith(":*")]
            check(f"{where} {st.get('Sid', '')} has no * action", not wild, str(wild))
    check(f"{label} has IAM statements to check", found > 0)
    binaries = {"target-sync": "TargetSyncConfig", "route-sync": "RouteSyncConfig"}
    for binary, (logical, resource) in functions(template).items():
        props = resource["Properties"]
        env = set(props.get("Environment", {}).get("Variables", {}))
        want = set(expected.get(binaries.get(binary, ""), set()))
        check(f"{label}:{logical} ({binary}) env == config contract", env == want,
              f"extra {sorted(env - want)}, missing {sorted(want - env)}")
        reserved = props.get("ReservedConcurrentExecutions")
        if binary == "route-sync":
            check(f"{label}:{logical} reserves no concurrency (the FIFO group is the one writer)",
                  reserved is None, f"ReservedConcurrentExecutions: {reserved}")
        else:
            check(f"{label}:{logical} reserved concurrency 1", reserved == 1,
                  f"ReservedConcurrentExecutions: {reserved}")


def role_statements(template, role):
    props = template["Resources"].get(role, {}).get("Properties", {})
    for policy in props.get("Policies", []):
        yield from as_list(policy.get("PolicyDocument", {}).get("Statement", []))


def check_route_sync_iam(label, template):
    fns = functions(template)
    if "route-sync" not in fns:
        check(f"{label} has route-sync", False)
        return
    role = functions_role(template)
    stmts = [plain(s) for s in role_statements(template, role)]

    # API Gateway: exactly the calls route-sync makes, on the public API.
    grants, apis = apigateway_grants(stmts)
    check(f"{label}:{role} apigateway grants are exactly route-sync's calls",
          grants == ROUTE_SYNC_APIGATEWAY,
          f"extra {sorted(grants - ROUTE_SYNC_APIGATEWAY)}, missing {sorted(ROUTE_SYNC_APIGATEWAY - grants)}")
    check(f"{label}:{role} apigateway grants name the public API",
          bool(apis) and all(a == PUBLIC_API for a in apis), str(apis))
    # IAM globs: "*" matches any characters, "/" included.
    itself = [g for g in grants if fnmatchcase("/restapis/${Api}", g[1])]
    check(f"{label}:{role} apigateway never reaches /restapis/{{id}} itself", not itself, str(itself))
    stages = {g[1] for g in grants if "stages" in g[1] or fnmatchcase("/restapis/${Api}/stages/x", g[1])}
    check(f"{label}:{role} apigateway reaches the public stage only", 
          stages == {"/restapis/${Api}/stages/${PublicStage}"}, str(stages))

    # Cells: the domain's routing rules, each action of its own, writes only at frontdoor's
    # priorities (shared/src/routes/cells.rs FIRST_RULE_PRIORITY), so an operator's rule
    # below them is out of route-sync's reach. A statement may sit in an Fn::If (HasDomain).
    unwrapped = []
    for st in stmts:
        if isinstance(st, dict) and "Fn::If" in st:
            unwrapped.extend(b for b in st["Fn::If"][1:] if isinstance(b, dict) and "Effect" in b)
        else:
            unwrapped.append(st)
    rule_actions = {a.split(":", 1)[1]: st for st in unwrapped for a in actions(st)
                    if a.endswith("RoutingRule") or a.endswith("RoutingRules")}
    check(f"{label}:{role} routing rule actions are exactly route-sync's calls",
          set(rule_actions) == {"ListRoutingRules", "GetRoutingRule", "CreateRoutingRule",
                                "UpdateRoutingRule", "DeleteRoutingRule"}, str(sorted(rule_actions)))
    first = re.search(r"FIRST_RULE_PRIORITY: u32 = ([0-9_]+);",
                      (ROOT / "shared/src/routes/cells.rs").read_text())
    floor = int(first.group(1).replace("_", "")) if first else None
    keys = {"CreateRoutingRule": ("NumericGreaterThanEquals", ["apigateway:Request/Priority"]),
            "UpdateRoutingRule": ("NumericGreaterThanEquals",
                                  ["apigateway:Request/Priority", "apigateway:Resource/Priority"]),
            "DeleteRoutingRule": ("NumericGreaterThanEqualsIfExists", ["apigateway:Resource/Priority"])}
    for action, (operator, needed) in keys.items():
        cond = rule_actions.get(action, {}).get("Condition", {}).get(operator, {})
        check(f"{label}:{role} {action} only at priorities from {floor}",
              floor is not None and all(str(cond.get(k)) == str(floor) for k in needed), json.dumps(cond))
    for action, st in rule_actions.items():
        arns = [sub_string(r)[0] for r in as_list(st.get("Resource", []))]
        check(f"{label}:{role} {action} on the domain's routing rules only",
              bool(arns) and all(isinstance(a, str) and "/domainnames/${DomainName}/routingrules" in a
                                 and ":${AWS::AccountId}:" in a for a in arns), str(arns))

    # SSM: every parameter route-sync reads or writes (registry.rs, routes/owed.rs, the
    # cells' rule records and state: routes/cell_sync.rs, config.rs cell_state_prefix).
    want_ssm = {"/registry/apis", "/registry/apis/*", "/registry/deployment-owed",
                "/registry/deployment-owed/*", "/registry/resource-quota", "/registry/sweep-cursor",
                "/registry/rules", "/registry/rules/*", "/cells/*", "/apis/*"}
    ssm = set()
    for st in unwrapped:
        if st.get("Effect") == "Allow" and "ssm:PutParameter" in actions(st):
            for r in as_list(st.get("Resource", [])):
                arn, _ = sub_string(r)
                if isinstance(arn, str) and "parameter${SsmPrefix}" in arn:
                    ssm.add(arn.split("parameter${SsmPrefix}", 1)[1])
    check(f"{label}:{role} ssm grants are exactly route-sync's parameters", ssm == want_ssm,
          f"extra {sorted(ssm - want_ssm)}, missing {sorted(want_ssm - ssm)}")

    # The cells' records: read by path, never written (the stack writes them).
    reads = [st for st in unwrapped if st.get("Effect") == "Allow" and "ssm:GetParametersByPath" in actions(st)
             and "ssm:PutParameter" not in actions(st)]
    paths = {sub_string(r)[0].split("parameter${SsmPrefix}", 1)[-1]
             for st in reads for r in as_list(st.get("Resource", []))}
    check(f"{label}:{role} reads the cells' records by path, and writes none",
          paths == {"/registry/cells"} and all(actions(st) == ["ssm:GetParametersByPath"] for st in reads),
          f"{paths} {[actions(st) for st in reads]}")

    # sts:AssumeRole only in the allowed accounts.
    assume = [st for st in stmts
              if st.get("Effect") == "Allow" and "sts:AssumeRole" in actions(st)]
    want = {"Fn::Split": [",", {"Ref": "AllowedAccounts"}]}
    bound = [st.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceAccount") == want
             for st in assume]
    check(f"{label}:{role} sts:AssumeRole bound by aws:ResourceAccount = AllowedAccounts",
          bool(assume) and all(bound), json.dumps([st.get("Condition") for st in assume]))

    # SQS: consume the route queue, send only to it.
    queue = route_queue(template)
    sends = [r for st in stmts if st.get("Effect") == "Allow" and "sqs:SendMessage" in actions(st)
             for r in as_list(st.get("Resource", []))]
    check(f"{label}:{role} sqs:SendMessage on the route queue only",
          bool(sends) and all(getatt(r) == (queue, "Arn") for r in sends), json.dumps(sends))


def apigateway_grants(stmts, api=None):
    """{(verb, path)} an API Gateway control-plane grant allows, and the API each names:
    a Sub's `Api` variable, or with `api` given, the `${api}` in its string (read as ${Api})."""
    grants, apis = set(), []
    for st in stmts:
        verbs = [a.split(":", 1)[1] for a in actions(st) if a.startswith("apigateway:")]
        if st.get("Effect") != "Allow" or not verbs:
            continue
        for r in as_list(st.get("Resource", [])):
            s, mapping = sub_string(r)
            if api is not None and isinstance(s, str):
                apis.append(api if "${" + api + "}" in s else s)
                s = s.replace("${" + api + "}", "${Api}")
            else:
                apis.append(mapping.get("Api"))
            found = re.search(r"::(/.*)$", s) if isinstance(s, str) else None
            path = found.group(1) if found else str(s)
            grants |= {(v, path) for v in verbs}
    return grants, apis


def check_cells(label, template, cells):
    """Each named cell has what the first has, and route-sync's grants on its API alone."""
    resources = template["Resources"]
    outputs = template.get("Outputs", {})
    for c in cells:
        p = f"Cell{c}"
        r = {k: resources.get(p + k, {}) for k in ("Api", "Health", "HealthMethod", "Deployment",
                                                   "AccessLogs", "Stage", "WebAcl", "UsagePlan",
                                                   "RouteSyncGrants", "Record")}
        check(f"{label} cell {c}: every resource of a cell is there",
              all(r.values()), str([k for k, v in r.items() if not v]))
        if not all(r.values()):
            continue
        props = {k: v.get("Properties", {}) for k, v in r.items()}
        api = "${" + p + "Api}"
        check(f"{label} cell {c}: a regional REST API, retained when the name leaves Cells",
              r["Api"]["Type"] == "AWS::ApiGateway::RestApi"
              and all(r[k].get("DeletionPolicy") == "Retain" for k in ("Api", "Deployment", "Stage")),
              json.dumps({k: r[k].get("DeletionPolicy") for k in ("Api", "Deployment", "Stage")}))
        check(f"{label} cell {c}: GET /health answers from a mock, on the cell's API",
              props["Health"].get("PathPart") == "health"
              and props["Health"].get("RestApiId") == {"Fn::Sub": api}
              and props["HealthMethod"].get("Integration", {}).get("Type") == "MOCK",
              json.dumps(props["Health"]))
        stage = props["Stage"]
        logs = sub_string(stage.get("AccessLogSetting", {}).get("DestinationArn"))[0]
        check(f"{label} cell {c}: its stage is the public stage, with access logs to its own group",
              stage.get("StageName") == {"Ref": "PublicStage"}
              and isinstance(logs, str) and "${" + p + "AccessLogs}" in logs
              and "$context.requestId" in stage.get("AccessLogSetting", {}).get("Format", "")
              and props["AccessLogs"].get("RetentionInDays") == {"Ref": "LogRetentionDays"},
              json.dumps(stage.get("AccessLogSetting")))
        waf = sub_string(props["WebAcl"].get("ResourceArn"))[0]
        check(f"{label} cell {c}: the firewall guards its stage when WebAclArn is set",
              r["WebAcl"].get("Condition") == "CellsWebAcl"
              and props["WebAcl"].get("WebACLArn") == {"Ref": "WebAclArn"}
              and isinstance(waf, str) and waf.endswith(f"/restapis/{api}/stages/${{{p}Stage}}"),
              json.dumps(props["WebAcl"]))
        plan = props["UsagePlan"].get("ApiStages", [{}])[0]
        check(f"{label} cell {c}: a usage plan holds its stage when API keys are required",
              r["UsagePlan"].get("Condition") == "CellsUsagePlan"
              and plan == {"ApiId": {"Fn::Sub": api}, "Stage": {"Fn::Sub": "${" + p + "Stage}"}},
              json.dumps(plan))
        check(f"{label} cell {c}: every resource is made only with cells",
              all(v.get("Condition") in ("HasCells", "CellsWebAcl", "CellsUsagePlan")
                  for v in r.values()), json.dumps({k: v.get("Condition") for k, v in r.items()}))
        grants_policy = props["RouteSyncGrants"]
        stmts = [plain(s) for s in as_list(grants_policy.get("PolicyDocument", {}).get("Statement", []))]
        grants, apis = apigateway_grants(stmts, p + "Api")
        check(f"{label} cell {c}: route-sync's grants on it are exactly its calls",
              grants == ROUTE_SYNC_APIGATEWAY,
              f"extra {sorted(grants - ROUTE_SYNC_APIGATEWAY)}, missing {sorted(ROUTE_SYNC_APIGATEWAY - grants)}")
        check(f"{label} cell {c}: route-sync's grants name its API only, attached to route-sync's role",
              apis and all(a == p + "Api" for a in apis)
              and grants_policy.get("Roles") == [{"Ref": functions_role(template)}],
              f"{apis} {grants_policy.get('Roles')}")
        record = props["Record"]
        value, mapping = sub_string(record.get("Value"))
        check(f"{label} cell {c}: its record {{prefix}}/registry/cells/{c} is its API and authorizer, "
              "made after route-sync's grants on it",
              r["Record"]["Type"] == "AWS::SSM::Parameter"
              and record.get("Name") == {"Fn::Sub": "${SsmPrefix}/registry/cells/" + c}
              and value == api + ":${Authorizer}"
              and r["Record"].get("DependsOn") == p + "RouteSyncGrants", json.dumps(record))
        # The authorizer lookup, evaluated as CloudFormation would, for this cell.
        for given, want in ((f"{c}=auth{c}1", f"auth{c}1"), ("", ""),
                            (f"x{c}=wrong,{c}x=wrong2,{c}=right", "right"),
                            (f"{c}x=wrong", "")):
            got = evaluate_lookup(mapping.get("Authorizer"), given)
            check(f"{label} cell {c}: CellAuthorizers={given!r} gives authorizer {want!r}",
                  got == want, f"got {got!r}")
        out = outputs.get(f"Cell{c}ApiId", {})
        check(f"{label} cell {c}: output Cell{c}ApiId names its API",
              out.get("Value") == {"Fn::Sub": api} and out.get("Condition") == "HasCells", json.dumps(out))


def evaluate_lookup(node, cell_authorizers):
    """The value of the cell record's authorizer lookup (Fn::Select, Fn::Split, Fn::Sub over
    CellAuthorizers) with CellAuthorizers set to `cell_authorizers`; an error string when
    CloudFormation would fail it (an index out of range)."""
    if isinstance(node, str):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (key, value), = node.items()
        if key == "Fn::Sub":
            return value.replace("${CellAuthorizers}", cell_authorizers) if isinstance(value, str) else "?"
        if key == "Fn::Split":
            sep, s = (evaluate_lookup(v, cell_authorizers) for v in value)
            return s.split(sep) if isinstance(s, str) and isinstance(sep, str) else "?"
        if key == "Fn::Select":
            index, items = value[0], evaluate_lookup(value[1], cell_authorizers)
            return items[int(index)] if isinstance(items, list) and int(index) < len(items) else "error: out of range"
    return "?"


def check_loop_fragments(label, raw):
    """In a loop's fragment CloudFormation refuses Condition as an entry's first key (the
    Fn::ForEach docs, Conditions examples); Rules take only Ref and the rule functions."""
    first = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if str(k).startswith("Fn::ForEach::") and isinstance(v, list) and len(v) == 3:
                    for key, entry in (v[2] or {}).items():
                        if isinstance(entry, dict) and entry and next(iter(entry)) == "Condition":
                            first.append(str(key))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(plain(raw))
    check(f"{label} no loop entry has Condition first", not first, str(first))
    allowed = {"Ref", "Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Fn::Contains",
               "Fn::EachMemberEquals", "Fn::EachMemberIn", "Fn::RefAll", "Fn::ValueOf",
               "Fn::ValueOfAll", "Condition"}
    used = set()

    def functions_in(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "Ref" or k.startswith("Fn::") or k == "Condition":
                    used.add(k)
                functions_in(v)
        elif isinstance(node, list):
            for v in node:
                functions_in(v)

    for rule in plain(raw).get("Rules", {}).values():
        functions_in(rule.get("RuleCondition"))
        for a in rule.get("Assertions", []):
            functions_in(a.get("Assert"))
    check(f"{label} Rules use only Ref and the rule functions", used <= allowed, str(sorted(used - allowed)))


def functions_role(template):
    """Logical id of route-sync's role."""
    _, fn = functions(template)["route-sync"]
    return (getatt(fn["Properties"].get("Role")) or ("?",))[0]


def check_no_cells(label, template):
    """With Cells empty (CloudFormation's [""]), the loops still run once: every resource
    and output they make is off, and the domain still takes routing rules first."""
    made = {k: v for k, v in template["Resources"].items() if k.startswith("Cell")}
    outs = {k: v for k, v in template.get("Outputs", {}).items() if k.startswith("Cell")}
    check(f"{label} with no cells the loops make resources only under cell conditions",
          made and all(v.get("Condition") in ("HasCells", "CellsWebAcl", "CellsUsagePlan")
                       for v in list(made.values()) + list(outs.values())),
          json.dumps({k: v.get("Condition") for k, v in made.items()}))
    check(f"{label} with no cells the cell conditions are false",
          not evaluate({"Condition": "HasCells"}, template), "HasCells is true")
    domain = template["Resources"]["PublicDomain"]["Properties"].get("RoutingMode")
    check(f"{label} the domain takes routing rules first whether or not there are cells (none: "
          "the mapping serves all, as before; a removed cell's rules still reach it)",
          domain == "ROUTING_RULE_THEN_BASE_PATH_MAPPING", json.dumps(domain))


def route_queue(template):
    """Logical id of the queue route-sync's SQS event reads."""
    fns = functions(template)
    if "route-sync" not in fns:
        return None
    for event in fns["route-sync"][1]["Properties"].get("Events", {}).values():
        if event.get("Type") == "SQS":
            return (getatt(event["Properties"].get("Queue")) or (None,))[0]
    return None


def check_route_queue(label, template, group):
    resources = template["Resources"]
    logical, fn = functions(template).get("route-sync", (None, {"Properties": {}}))
    queue = route_queue(template)
    q = resources.get(queue, {}).get("Properties", {})
    check(f"{label}:{queue} route queue is FIFO with content-based deduplication",
          q.get("FifoQueue") is True and q.get("ContentBasedDeduplication") is True,
          f"FifoQueue {q.get('FifoQueue')}, ContentBasedDeduplication {q.get('ContentBasedDeduplication')}")
    redrive = q.get("RedrivePolicy", {})
    dlq = (getatt(redrive.get("deadLetterTargetArn")) or (None,))[0]
    d = resources.get(dlq, {}).get("Properties", {})
    check(f"{label}:{queue} dead-letter queue {dlq} is FIFO",
          d.get("FifoQueue") is True and isinstance(redrive.get("maxReceiveCount"), int),
          f"FifoQueue {d.get('FifoQueue')}, maxReceiveCount {redrive.get('maxReceiveCount')}")
    timeout = fn["Properties"].get("Timeout", 3)
    check(f"{label}:{queue} visibility timeout is six times route-sync's timeout",
          q.get("VisibilityTimeout") == 6 * timeout,
          f"VisibilityTimeout {q.get('VisibilityTimeout')}, Timeout {timeout}")
    targets, bad = 0, []
    for rule, resource in resources.items():
        if resource.get("Type") != "AWS::Events::Rule":
            continue
        for target in resource.get("Properties", {}).get("Targets", []):
            if getatt(target.get("Arn")) == (queue, "Arn"):
                targets += 1
                got = target.get("SqsParameters", {}).get("MessageGroupId")
                if got != group:
                    bad.append(f"{rule}: {got}")
    check(f"{label} every rule target into {queue} sets MessageGroupId {group}",
          targets > 0 and not bad and group is not None, f"{targets} targets, wrong: {bad}")
    events = [e["Properties"] for e in fn["Properties"].get("Events", {}).values()
              if e.get("Type") == "SQS"]
    check(f"{label}:{logical} SQS batches of 10, no batching window (FIFO)",
          len(events) == 1 and events[0].get("BatchSize") == 10
          and "MaximumBatchingWindowInSeconds" not in events[0], json.dumps(plain(events)))


def check_deployable(label, template, path):
    resources = template["Resources"]
    named = [k for k, r in resources.items()
             if r.get("Type") == "AWS::IAM::Role" and "RoleName" in r.get("Properties", {})]
    check(f"{label} hub roles have no RoleName (CAPABILITY_IAM suffices)", not named, str(named))

    endpoints = {k: r["Properties"].get("PrivateDnsEnabled") for k, r in resources.items()
                 if r.get("Type") == "AWS::EC2::VPCEndpoint"}
    bad = {k: v for k, v in endpoints.items()
           if v is True or str(v).lower() == "true" or evaluate(plain(v), template) not in (False, "false")}
    check(f"{label} PrivateDnsEnabled is not hard-coded true and is off by default",
          bool(endpoints) and not bad, json.dumps(plain(bad)))

    try:
        out = sam_transform(template)
    except Exception as e:  # noqa: BLE001 - report what the translator refused
        check(f"{label} SAM transform", False, str(e))
        return
    cfn = out["Resources"]
    lambdas = {k: r for k, r in cfn.items() if r.get("Type") == "AWS::Lambda::Function"}
    missing, levels = [], []
    for k, r in lambdas.items():
        cfg = r["Properties"].get("LoggingConfig", {})
        group = ref(cfg.get("LogGroup"))
        g = cfn.get(group, {})
        if g.get("Type") != "AWS::Logs::LogGroup" or g.get("Properties", {}).get("RetentionInDays") is None:
            missing.append(f"{k}: {cfg.get('LogGroup')}")
        level = evaluate(cfg.get("ApplicationLogLevel", "INFO"), template)
        if level not in LEVELS_THAT_KEEP_EMF and not metrics_survive_any_level():
            levels.append(f"{k}: {level}")
    check(f"{label} every function logs to a log group with retention",
          bool(lambdas) and not missing, str(missing))
    check(f"{label} every function's ApplicationLogLevel keeps the EMF lines (INFO or lower, "
          f"or any level while they are FATAL and timestamped)",
          bool(lambdas) and not levels, str(levels))

    stages = {k: r["Properties"].get("AccessLogSetting", {}) for k, r in resources.items()
              if r.get("Type") == "AWS::ApiGateway::Stage"}
    bad = [k for k, s in stages.items()
           if not s.get("DestinationArn") or "$context.requestId" not in str(s.get("Format", ""))]
    check(f"{label} the public stage writes access logs (AccessLogSetting)",
          bool(stages) and not bad, f"stages {sorted(stages)}, without: {bad}")
    check_governance(label, template)


def check_governance(label, template):
    """Issue 15: WAF on the public stage (optional), VPC link V2 by default, /health open."""
    resources = template["Resources"]
    # The first cell's; each other cell's is checked in check_cells.
    waf = [(k, r) for k, r in resources.items() if r.get("Type") == "AWS::WAFv2::WebACLAssociation"
           and not k.startswith("Cell")]
    want_arn = "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${PublicStage}"
    ok = [k for k, r in waf
          if r.get("Condition") == "HasWebAcl"
          and sub_string(plain(r["Properties"]["ResourceArn"]))[0] == want_arn
          and sub_string(plain(r["Properties"]["ResourceArn"]))[1].get("Api") == PUBLIC_API]
    check(f"{label} optional WAF web ACL on the public stage (its REST stage ARN)",
          len(waf) == 1 and ok == [waf[0][0]], json.dumps(plain(waf)))
    params = template.get("Parameters", {})
    v2 = [k for k, r in resources.items() if r.get("Type") == "AWS::ApiGatewayV2::VpcLink"]
    check(f"{label} a new stack makes a VPC link V2 by default",
          params.get("VpcLinkVersion", {}).get("Default") == "V2" and len(v2) == 1, str(v2))
    route_env = functions(template)["route-sync"][1]["Properties"]["Environment"]["Variables"]
    target = evaluate(plain(route_env.get("FRONTDOOR_INTEGRATION_TARGET_ARN")), template)
    link = evaluate(plain(route_env.get("FRONTDOOR_VPC_LINK_ID")), template)
    check(f"{label} by default route-sync gets the V2 link and the NLB as integration target",
          target == {"Ref": "LoadBalancer"} and link == {"Ref": v2[0] if v2 else "?"},
          f"link {link}, target {target}")
    # Issue 22: a V2 link is immutable and offered in some zones only: its own subnets
    # (default PrivateSubnetIds), and kept when replaced or deleted (the stage still uses it).
    link_v2 = resources.get(v2[0], {}) if v2 else {}
    subnets = plain(link_v2.get("Properties", {}).get("SubnetIds"))
    check(f"{label} the V2 link takes VpcLinkSubnetIds (default PrivateSubnetIds) and is retained",
          subnets == {"Fn::If": ["HasVpcLinkSubnets", {"Ref": "VpcLinkSubnetIds"},
                                 {"Ref": "PrivateSubnetIds"}]}
          and params.get("VpcLinkSubnetIds", {}).get("Default") == ""
          and link_v2.get("DeletionPolicy") == "Retain"
          and link_v2.get("UpdateReplacePolicy") == "Retain",
          json.dumps({"SubnetIds": subnets, "DeletionPolicy": link_v2.get("DeletionPolicy"),
                      "UpdateReplacePolicy": link_v2.get("UpdateReplacePolicy")}))
    stateful = ("AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::S3::Bucket",
                "AWS::ApiGateway::DomainName", "AWS::ApiGatewayV2::VpcLink")
    loose = [k for k, r in resources.items() if r.get("Type") in stateful
             and not (r.get("DeletionPolicy") and r.get("UpdateReplacePolicy"))]
    check(f"{label} every stateful resource says what deletion and replacement do",
          not loose, str(loose))
    health = [r["Properties"] for r in resources.values()
              if r.get("Type") == "AWS::ApiGateway::Method"
              and ref(r["Properties"].get("ResourceId")) == "HealthResource"]
    check(f"{label} /health is hand-made and open (no authorizer, no API key)",
          len(health) == 1 and health[0].get("AuthorizationType") == "NONE"
          and not health[0].get("ApiKeyRequired"), json.dumps(plain(health)))


def check_trail(label, template):
    """An optional trail (EnableTrail, default false) whose bucket is private, encrypted, and
    whose policy admits only this stack's trail."""
    resources = template["Resources"]
    params = template.get("Parameters", {})
    trails = {k: r for k, r in resources.items() if r.get("Type") == "AWS::CloudTrail::Trail"}
    problems = []
    if str(params.get("EnableTrail", {}).get("Default")) != "false":
        problems.append("EnableTrail must default to false")
    for k, r in trails.items():
        if evaluate({"Condition": r.get("Condition")}, template) if r.get("Condition") else True:
            problems.append(f"{k} is made with default parameters")
        p = r["Properties"]
        sel = p.get("EventSelectors", [{}])
        if not any(s.get("IncludeManagementEvents") is True and s.get("ReadWriteType") in ("WriteOnly", "All")
                   for s in sel):
            problems.append(f"{k} does not log management write events")
        bucket = ref(p.get("S3BucketName"))
        b = resources.get(bucket, {}).get("Properties", {})
        block = b.get("PublicAccessBlockConfiguration", {})
        if not all(block.get(x) is True for x in
                   ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")):
            problems.append(f"{bucket} public access not blocked")
        if not b.get("BucketEncryption"):
            problems.append(f"{bucket} not encrypted")
        policies = [r2["Properties"] for r2 in resources.values()
                    if r2.get("Type") == "AWS::S3::BucketPolicy" and ref(r2["Properties"].get("Bucket")) == bucket]
        allows = [st for pol in policies for st in as_list(pol["PolicyDocument"]["Statement"])
                  if st.get("Effect") == "Allow"]
        unbound = [st.get("Sid") for st in allows
                   if not any(k2 in ("aws:SourceArn", "aws:SourceAccount")
                              for cond in st.get("Condition", {}).values() for k2 in cond)]
        if not allows or unbound:
            problems.append(f"{bucket} policy statements without aws:SourceArn/aws:SourceAccount: {unbound}")
    check(f"{label} optional trail (EnableTrail) as CloudTrail requires",
          len(trails) == 1 and not problems, f"{len(trails)} trails; {problems}")


def check_spoke(label, template):
    resources = template["Resources"]
    forward = {k: r for k, r in resources.items() if r.get("Type") == "AWS::IAM::Role"
               and any("events.amazonaws.com" in as_list(st.get("Principal", {}).get("Service", []))
                       for st in as_list(r["Properties"]["AssumeRolePolicyDocument"]["Statement"]))}
    bad = []
    for k, r in forward.items():
        for st in as_list(r["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
            cond = plain(st.get("Condition", {}))
            if cond.get("StringEquals", {}).get("aws:SourceAccount") != {"Ref": "AWS::AccountId"}:
                bad.append(f"{k}: {cond}")
    check(f"{label} ForwardRole trust bound by aws:SourceAccount = its own account",
          bool(forward) and not bad, str(bad))


def check_readme(template, expected):
    """Issue 22: the README's Configuration section names every variable the configs read
    (config.rs's VARIABLES) and every variable a function's environment sets."""
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Configuration\n(.*?)^## ", readme, re.S | re.M)
    text = section.group(1) if section else ""
    named = set(re.findall(r"`(FRONTDOOR_\w+)`", text))
    read = set().union(*expected.values())
    set_by_template = set()
    for _, (_, fn) in functions(template).items():
        env = fn.get("Properties", {}).get("Environment", {}).get("Variables", {})
        set_by_template |= {k for k in env if k.startswith("FRONTDOOR_")}
    check("README's Configuration names every variable config.rs reads",
          read <= named, str(sorted(read - named)))
    check("README's Configuration names every FRONTDOOR_ variable the template sets",
          set_by_template <= named, str(sorted(set_by_template - named)))


def emitted_metrics():
    """Metric names the functions emit (shared/src/entry.rs: `Metric::count("X", ..)` and
    `name: "X"` of a Metric), by function."""
    text = (ROOT / "shared/src/entry.rs").read_text()
    out = {}
    for function in ("target-sync", "route-sync"):
        # Each function's metrics are built in the function before its `emit("{name}", ..)`.
        at = text.index(f'metrics::emit("{function}"')
        start = text.rfind("\npub async fn ", 0, at)
        body = text[start:at]
        names = set(re.findall(r'Metric::count\(\s*"(\w+)"', body))
        names |= set(re.findall(r'name: "(\w+)"', body))
        if "duration(started)" in body:
            names.add("ReconcileDuration")
        out[function] = names
    return out


def dashboard_body(template, branch):
    """The dashboard's JSON with every ${...} filled in: parameters and attributes by a
    placeholder, each widget variable by its `branch` (0: the condition true, 1: false)."""
    resources = template["Resources"]
    dash = [r for r in resources.values() if r.get("Type") == "AWS::CloudWatch::Dashboard"]
    if len(dash) != 1:
        return None
    body, variables = plain(dash[0]["Properties"]["DashboardBody"])["Fn::Sub"]

    def fill(text, extra):
        def value(m):
            name = m.group(1)
            if name in extra:
                return extra[name]
            return "300" if name == "ResourceQuota" else "x-" + name.replace(".", "-")
        return re.sub(r"\$\{([^}]+)\}", value, text)

    filled = {}
    for name, node in variables.items():
        if isinstance(node, dict) and "Fn::If" in node:
            chosen = node["Fn::If"][1 + branch]
            if isinstance(chosen, dict) and "Fn::Sub" in chosen:
                sub = chosen["Fn::Sub"]
                text, inner = (sub, {}) if isinstance(sub, str) else sub
                chosen = fill(text, {k: "x-" + k for k in inner})
            filled[name] = chosen if isinstance(chosen, str) else ""
        else:
            filled[name] = "x-" + name
    return json.loads(fill(body, filled))


def check_dashboard(label, template):
    """Issue 24: the dashboard parses in every branch, and its frontdoor metrics are exactly
    the ones the functions emit, each under the function that emits it."""
    emitted = emitted_metrics()
    for branch in (0, 1):
        try:
            body = dashboard_body(template, branch)
        except (ValueError, KeyError, TypeError) as e:
            check(f"{label} dashboard body is JSON (branch {branch})", False, str(e))
            return
        check(f"{label} has one dashboard, JSON in every branch ({branch})", body is not None)
        if body is None:
            return
        shown = {}
        for widget in body["widgets"]:
            previous = None
            for metric in widget.get("properties", {}).get("metrics", []):
                row = [m for m in metric if isinstance(m, str)]
                # "." repeats the row above; "..." repeats all but the last.
                if row and row[0] == "...":
                    row = previous[:-1] + row[1:]
                else:
                    row = [previous[i] if v == "." and previous else v for i, v in enumerate(row)]
                previous = row
                if len(row) >= 4 and row[0] == "frontdoor" and row[2] == "Function":
                    shown.setdefault(row[3], set()).add(row[1])
        for function, names in emitted.items():
            missing = names - shown.get(function, set())
            unknown = shown.get(function, set()) - names
            check(f"{label} dashboard shows every metric {function} emits (branch {branch})",
                  not missing, str(sorted(missing)))
            check(f"{label} dashboard names no metric {function} does not emit (branch {branch})",
                  not unknown, str(sorted(unknown)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml", help="the hub stack")
    parser.add_argument("--spoke", type=Path, default=ROOT / "spoke.yaml", help="the spoke stack")
    args = parser.parse_args()
    expected, group = contract()
    check("config.rs declares both configs",
          set(expected) == {"TargetSyncConfig", "RouteSyncConfig"}, str(expected))
    check("config.rs names route-sync's message group", group is not None)
    raw = cfn_yaml.load(str(args.template))
    hub = with_cells(raw, THREE_CELLS)
    spoke = cfn_yaml.load(str(args.spoke))
    hub_label, spoke_label = args.template.name, args.spoke.name
    check_loop_fragments(hub_label, raw)
    check_no_cells(f"{hub_label} (one cell)", with_cells(raw, []))
    check_cells(hub_label, hub, THREE_CELLS)
    check_common(hub_label, hub, expected)
    check_route_sync_iam(hub_label, hub)
    check_route_queue(hub_label, hub, group)
    check_deployable(hub_label, hub, args.template)
    check_trail(hub_label, hub)
    check_readme(hub, expected)
    check_dashboard(hub_label, hub)
    check_common(spoke_label, spoke, expected)
    check_spoke(spoke_label, spoke)
    check_trail(spoke_label, spoke)
    failed = sum(1 for _, ok in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
