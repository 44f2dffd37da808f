//! Checks of `infra/template.yaml` that need no AWS account (cfn-lint, run by `.ci/run`, checks
//! the CloudFormation schema; these check what it cannot see):
//!
//! - the ASL's `${…}` placeholders are exactly the state machine's `DefinitionSubstitutions`,
//!   each wired to the function whose zip holds that binary, and `DefinitionUri` is the real file;
//! - no IAM statement anywhere in the template has a wildcard action (the one exception: the
//!   bucket policy's TLS-only Deny), and `Resource: "*"` appears only for actions on an
//!   allow-list with the reason AWS requires it;
//! - each function sets only environment variables its binary reads (a typo is caught), and the
//!   ones it needs;
//! - the payload store prefix, the IAM object resources and the lifecycle rule agree, and the
//!   retention default outlasts the 14-day redrive window.
//!
//! Every check is a function returning its problems, so the negative tests below can show it
//! fails on a bad snippet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ordersync_core::config::{InTemplate, VARIABLES};
use serde_yaml_ng::{Mapping, Value};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

fn read(relative: &str) -> String {
    let path = repo().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse(yaml: &str) -> Value {
    serde_yaml_ng::from_str(yaml).expect("template is YAML")
}

fn template() -> Value {
    parse(&read("infra/template.yaml"))
}

// ---------------------------------------------------------------------------------------------
// Navigating a CloudFormation template (short tags such as `!Ref` are `Value::Tagged`).

/// The tag of a tagged value (`"Sub"` for `!Sub …`), if any.
fn tag(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) => Some(t.tag.to_string().trim_start_matches('!').to_owned()),
        _ => None,
    }
}

/// The value under a tag, or the value itself.
fn untagged(v: &Value) -> &Value {
    match v {
        Value::Tagged(t) => &t.value,
        v => v,
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_mapping().and_then(|m| m.get(key))
}

fn mapping_keys(m: &Mapping) -> impl Iterator<Item = &str> {
    m.keys().filter_map(Value::as_str)
}

/// `(logical id, resource)` for every resource of `type_`.
fn resources<'a>(template: &'a Value, type_: &str) -> Vec<(&'a str, &'a Value)> {
    get(template, "Resources")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, r)| get(r, "Type").and_then(Value::as_str) == Some(type_))
        .filter_map(|(id, r)| Some((id.as_str()?, r)))
        .collect()
}

fn property<'a>(resource: &'a Value, key: &str) -> Option<&'a Value> {
    get(resource, "Properties").and_then(|p| get(p, key))
}

/// A literal string, or the template string of `!Sub "…"`.
fn text(v: &Value) -> Option<String> {
    match (tag(v).as_deref(), untagged(v)) {
        (None | Some("Sub"), Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

/// A field that IAM allows as one string or a list of strings, as strings (`None` elements
/// are intrinsic functions such as `!GetAtt`).
fn one_or_many(v: &Value) -> Vec<Option<String>> {
    match untagged(v) {
        Value::Sequence(items) => items.iter().map(text).collect(),
        _ => vec![text(v)],
    }
}

// ---------------------------------------------------------------------------------------------
// The functions: which binary each deploys, and what it may read from its environment.

const BINARIES: [&str; 3] = ["import", "transform", "insert"];

/// What a function's binary may read from the template, and what it must be given: the
/// variables `ordersync_core::config::VARIABLES` lists for it, less those a template never sets
/// (local-only credentials, `AWS_*` names Lambda reserves or sets itself).
fn env_of(binary: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    let mine = || {
        VARIABLES.iter().filter(move |v| {
            v.template != InTemplate::Never && v.readers.iter().any(|r| r.binary() == Some(binary))
        })
    };
    (
        mine().map(|v| v.name).collect(),
        mine()
            .filter(|v| v.template == InTemplate::Required)
            .map(|v| v.name)
            .collect(),
    )
}

/// Variables every function reads, which alone may sit in `Globals`.
fn common_env() -> Vec<&'static str> {
    let (import, _) = env_of("import");
    let (transform, _) = env_of("transform");
    let (insert, _) = env_of("insert");
    import
        .into_iter()
        .filter(|name| transform.contains(name) && insert.contains(name))
        .collect()
}

/// The binary a function deploys, from `CodeUri: ../target/lambda/{binary}/bootstrap.zip`.
fn binary_of(function: &Value) -> Option<String> {
    let uri = property(function, "CodeUri").and_then(Value::as_str)?;
    let binary = uri
        .strip_prefix("../target/lambda/")?
        .strip_suffix("/bootstrap.zip")?;
    BINARIES.contains(&binary).then(|| binary.to_owned())
}

fn env_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let functions = resources(template, "AWS::Serverless::Function");
    let deployed: Vec<String> = functions.iter().filter_map(|(_, f)| binary_of(f)).collect();
    for binary in BINARIES {
        if deployed.iter().filter(|b| *b == binary).count() != 1 {
            problems.push(format!(
                "expected exactly one function with CodeUri ../target/lambda/{binary}/bootstrap.zip"
            ));
        }
    }
    let globals = get(template, "Globals")
        .and_then(|g| get(g, "Function"))
        .and_then(|f| get(f, "Environment"))
        .and_then(|e| get(e, "Variables"))
        .and_then(Value::as_mapping);
    for name in globals.into_iter().flat_map(mapping_keys) {
        if !common_env().contains(&name) {
            problems.push(format!(
                "Globals set {name}, which not every function reads"
            ));
        }
    }
    for (id, function) in functions {
        let Some(binary) = binary_of(function) else {
            problems.push(format!(
                "{id}: CodeUri is not ../target/lambda/{{import,transform,insert}}/bootstrap.zip"
            ));
            continue;
        };
        let (allowed, required) = env_of(&binary);
        let set: BTreeSet<&str> = property(function, "Environment")
            .and_then(|e| get(e, "Variables"))
            .and_then(Value::as_mapping)
            .into_iter()
            .flat_map(mapping_keys)
            .chain(globals.into_iter().flat_map(mapping_keys))
            .collect();
        for name in &set {
            if !allowed.contains(name) {
                problems.push(format!(
                    "{id} ({binary}) sets {name}, which it does not read"
                ));
            }
        }
        for name in required {
            if !set.contains(name) {
                problems.push(format!("{id} ({binary}) does not set {name}"));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// IAM statements.

/// Actions that may be granted on `Resource: "*"`, each with the reason AWS requires it.
const STAR_RESOURCE_ACTIONS: [(&str, &str); 14] = [
    // Step Functions logging: CloudWatch Logs' log-delivery API has no resource-level
    // permissions (Step Functions guide, "IAM policies for logging to CloudWatch Logs").
    (
        "logs:CreateLogDelivery",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:GetLogDelivery",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:UpdateLogDelivery",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:DeleteLogDelivery",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:ListLogDeliveries",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:PutResourcePolicy",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:DescribeResourcePolicies",
        "log delivery API: no resource-level permissions",
    ),
    (
        "logs:DescribeLogGroups",
        "log delivery API: no resource-level permissions",
    ),
    // Lambda in a VPC: Lambda manages the function's network interfaces itself, before their
    // ids exist; Describe* has no resource-level permissions (AWSLambdaVPCAccessExecutionRole).
    (
        "ec2:CreateNetworkInterface",
        "Lambda creates its ENIs before their ids exist",
    ),
    (
        "ec2:DescribeNetworkInterfaces",
        "Describe*: no resource-level permissions",
    ),
    (
        "ec2:DescribeSubnets",
        "Describe*: no resource-level permissions",
    ),
    (
        "ec2:DeleteNetworkInterface",
        "Lambda deletes the ENIs it created",
    ),
    (
        "ec2:AssignPrivateIpAddresses",
        "Lambda manages its ENIs' addresses",
    ),
    (
        "ec2:UnassignPrivateIpAddresses",
        "Lambda manages its ENIs' addresses",
    ),
];

/// The TLS-only bucket policy: a Deny of every S3 action when `aws:SecureTransport` is false.
/// The only statement allowed a wildcard action, because a Deny can only take permissions away.
fn is_tls_only_deny(statement: &Value) -> bool {
    get(statement, "Effect").and_then(Value::as_str) == Some("Deny")
        && get(statement, "Condition")
            .and_then(|c| get(c, "Bool"))
            .and_then(|b| get(b, "aws:SecureTransport"))
            .and_then(Value::as_str)
            == Some("false")
        && one_or_many(get(statement, "Action").unwrap_or(&Value::Null))
            == [Some("s3:*".to_owned())]
}

fn statement_problems(where_: &str, statement: &Value, problems: &mut Vec<String>) {
    let Some(effect) = get(statement, "Effect").and_then(Value::as_str) else {
        problems.push(format!("{where_}: not a literal statement with an Effect"));
        return;
    };
    for not in ["NotAction", "NotResource", "NotPrincipal"] {
        if get(statement, not).is_some() {
            problems.push(format!("{where_}: {not} (a wildcard by another name)"));
            return;
        }
    }
    let Some(actions) = get(statement, "Action").map(one_or_many) else {
        problems.push(format!("{where_}: no Action"));
        return;
    };
    let actions: Vec<String> = actions
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                problems.push(format!("{where_}: an Action that is not a literal string"));
                String::new()
            })
        })
        .collect();
    for action in &actions {
        if action.contains('*') && !is_tls_only_deny(statement) {
            problems.push(format!("{where_}: wildcard action {action}"));
        }
    }
    let star = get(statement, "Resource")
        .map(one_or_many)
        .is_some_and(|r| r.iter().any(|r| r.as_deref() == Some("*")));
    if star && effect == "Allow" {
        for action in &actions {
            if !STAR_RESOURCE_ACTIONS.iter().any(|(a, _)| a == action) {
                problems.push(format!(
                    "{where_}: {action} on Resource \"*\" (not on the allow-list)"
                ));
            }
        }
    }
}

/// Every IAM statement anywhere in the template (role, inline, bucket and endpoint policies,
/// including both branches of an `!If`), checked; returns how many there were and the problems.
fn iam_problems(template: &Value) -> (usize, Vec<String>) {
    fn walk(v: &Value, path: &str, count: &mut usize, problems: &mut Vec<String>) {
        match untagged(v) {
            Value::Mapping(m) => {
                for (key, child) in m {
                    let key = key.as_str().unwrap_or("?");
                    let here = format!("{path}.{key}");
                    if key == "Statement" {
                        let statements = match untagged(child) {
                            Value::Sequence(s) => s.iter().collect(),
                            single => vec![single],
                        };
                        for (i, statement) in statements.into_iter().enumerate() {
                            *count += 1;
                            let sid = get(statement, "Sid").and_then(Value::as_str);
                            let at = format!(
                                "{here}[{i}]{}",
                                sid.map(|s| format!(" {s}")).unwrap_or_default()
                            );
                            statement_problems(&at, statement, problems);
                        }
                    } else {
                        walk(child, &here, count, problems);
                    }
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), count, problems);
                }
            }
            _ => {}
        }
    }
    let mut count = 0;
    let mut problems = Vec::new();
    walk(template, "", &mut count, &mut problems);
    // SAM's `Policies` (policy templates, managed policy names) hide their statements from the
    // walk above, and SAM adds AWSLambdaBasicExecutionRole (Resource *) when it creates a role:
    // every function and the state machine must name a role written out in the template.
    for type_ in ["AWS::Serverless::Function", "AWS::Serverless::StateMachine"] {
        for (id, r) in resources(template, type_) {
            if property(r, "Policies").is_some() || property(r, "Role").is_none() {
                problems.push(format!(
                    "{id}: use Role with a role defined in the template, not SAM Policies"
                ));
            }
        }
    }
    for (id, role) in resources(template, "AWS::IAM::Role") {
        if property(role, "ManagedPolicyArns").is_some() {
            problems.push(format!("{id}: managed policies hide their statements"));
        }
    }
    (count, problems)
}

// ---------------------------------------------------------------------------------------------
// The state machine: definition file and substitutions.

/// The `${Name}` placeholders in an ASL document (DefinitionSubstitutions syntax).
fn placeholders(asl: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = asl;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        found.insert(after[..end].to_owned());
        rest = &after[end + 1..];
    }
    found
}

/// Placeholders without a substitution, and substitutions no placeholder uses.
fn substitution_problems(asl: &str, substitutions: &BTreeSet<String>) -> Vec<String> {
    let used = placeholders(asl);
    let mut problems: Vec<String> = used
        .difference(substitutions)
        .map(|p| format!("${{{p}}} in the ASL has no DefinitionSubstitutions entry"))
        .collect();
    problems.extend(
        substitutions
            .difference(&used)
            .map(|s| format!("DefinitionSubstitutions.{s} is not used by the ASL")),
    );
    problems
}

fn the_state_machine(template: &Value) -> &Value {
    let machines = resources(template, "AWS::Serverless::StateMachine");
    assert_eq!(machines.len(), 1, "one state machine");
    machines[0].1
}

// ---------------------------------------------------------------------------------------------
// Tests on the real template.

#[test]
fn asl_placeholders_are_exactly_the_definition_substitutions() {
    let template = template();
    let machine = the_state_machine(&template);
    let substitutions = property(machine, "DefinitionSubstitutions")
        .and_then(Value::as_mapping)
        .expect("DefinitionSubstitutions");
    let keys: BTreeSet<String> = mapping_keys(substitutions).map(str::to_owned).collect();
    let asl = read("statemachine.asl.json");
    assert_eq!(substitution_problems(&asl, &keys), Vec::<String>::new());
    assert_eq!(
        keys,
        BTreeSet::from(
            [
                "ImportFunctionArn",
                "TransformFunctionArn",
                "InsertFunctionArn"
            ]
            .map(String::from)
        )
    );

    // Each placeholder gets the ARN of the function that deploys the matching binary.
    for (key, value) in substitutions {
        let key = key.as_str().unwrap();
        let binary = key.strip_suffix("FunctionArn").unwrap().to_lowercase();
        assert_eq!(tag(value).as_deref(), Some("GetAtt"), "{key} is !GetAtt");
        let target = untagged(value).as_str().unwrap();
        let id = target
            .strip_suffix(".Arn")
            .unwrap_or_else(|| panic!("{key}: {target} is not .Arn"));
        let function = get(&template, "Resources")
            .and_then(|r| get(r, id))
            .unwrap();
        assert_eq!(
            binary_of(function).as_deref(),
            Some(binary.as_str()),
            "{key} must be the ARN of the function deploying the {binary} zip"
        );
    }
}

#[test]
fn definition_uri_is_the_repository_asl_file() {
    let template = template();
    let machine = the_state_machine(&template);
    let uri = property(machine, "DefinitionUri")
        .and_then(Value::as_str)
        .expect("DefinitionUri is a local path");
    let resolved = repo().join("infra").join(uri);
    let resolved = resolved
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", resolved.display()));
    assert_eq!(
        resolved,
        repo().join("statemachine.asl.json").canonicalize().unwrap()
    );
    assert_eq!(
        property(machine, "Type").and_then(Value::as_str),
        Some("STANDARD"),
        "redrive needs a Standard state machine"
    );
    let logging = property(machine, "Logging").expect("Logging");
    assert_eq!(get(logging, "Level").and_then(Value::as_str), Some("ERROR"));
    assert_eq!(
        get(logging, "IncludeExecutionData").and_then(Value::as_bool),
        Some(false)
    );
}

#[test]
fn iam_statements_have_no_wildcard_action_and_star_resources_only_where_required() {
    let (count, problems) = iam_problems(&template());
    assert_eq!(problems, Vec::<String>::new());
    // Roles' trust policies, the four roles' permissions, the bucket and endpoint policies:
    // fewer would mean the walk missed some.
    assert!(count >= 20, "found only {count} statements");
}

#[test]
fn functions_set_only_the_environment_their_binaries_read() {
    assert_eq!(env_problems(&template()), Vec::<String>::new());
}

#[test]
fn store_prefix_iam_and_lifecycle_agree_and_outlast_redrive() {
    let template = template();
    // One store for every function.
    let stores: BTreeSet<String> = resources(&template, "AWS::Serverless::Function")
        .into_iter()
        .filter_map(|(_, f)| {
            property(f, "Environment")
                .and_then(|e| get(e, "Variables"))
                .and_then(|v| get(v, "ORDERSYNC_STORE"))
                .and_then(text)
        })
        .collect();
    assert_eq!(
        stores,
        BTreeSet::from(["s3://${PayloadBucket}/ordersync".to_owned()])
    );

    // Every object resource in a role names a key under that prefix.
    let mut object_resources = 0;
    for (id, role) in resources(&template, "AWS::IAM::Role") {
        let yaml = serde_yaml_ng::to_string(role).unwrap();
        for (at, _) in yaml.match_indices("${PayloadBucket.Arn}/") {
            object_resources += 1;
            assert!(
                yaml[at..].starts_with("${PayloadBucket.Arn}/ordersync/runs/")
                    || yaml[at..].starts_with("${PayloadBucket.Arn}/ordersync/leases/")
                    || yaml[at..].starts_with("${PayloadBucket.Arn}/ordersync/cursors/"),
                "{id}: an object resource outside ordersync/runs/, leases/ and cursors/"
            );
        }
    }
    assert!(
        object_resources >= 5,
        "found {object_resources} object resources"
    );

    // The run objects expire after PayloadRetentionDays, whose default is past the 14-day
    // redrive window.
    let bucket = resources(&template, "AWS::S3::Bucket")[0].1;
    let rules = property(bucket, "LifecycleConfiguration")
        .and_then(|l| get(l, "Rules"))
        .and_then(Value::as_sequence)
        .expect("lifecycle rules");
    let runs = rules
        .iter()
        .find(|r| get(r, "Prefix").and_then(Value::as_str) == Some("ordersync/runs/"))
        .expect("a rule for ordersync/runs/");
    // A sync's cursor is the one object that must outlive every run.
    assert!(
        rules.iter().all(|r| {
            let prefix = get(r, "Prefix").and_then(Value::as_str).unwrap_or("");
            let expires = get(r, "ExpirationInDays").is_some();
            !(expires && "ordersync/cursors/x".starts_with(prefix))
        }),
        "a lifecycle rule would expire the sync cursors"
    );
    let expiry = get(runs, "ExpirationInDays").unwrap();
    assert_eq!(tag(expiry).as_deref(), Some("Ref"));
    assert_eq!(untagged(expiry).as_str(), Some("PayloadRetentionDays"));
    let default = get(&template, "Parameters")
        .and_then(|p| get(p, "PayloadRetentionDays"))
        .and_then(|p| get(p, "Default"))
        .and_then(Value::as_u64)
        .expect("PayloadRetentionDays default");
    assert!(
        default > 14,
        "retention {default} days ends inside the redrive window"
    );
}

#[test]
fn outputs_name_what_the_guide_uses() {
    let template = template();
    let outputs = get(&template, "Outputs").expect("Outputs");
    for name in [
        "StateMachineArn",
        "ExecutionsArnPattern",
        "PayloadBucketName",
        "EgressIp",
    ] {
        assert!(get(outputs, name).is_some(), "no output {name}");
    }
    // The IP exists only with the VPC; an unconditional output would break `off`.
    assert_eq!(
        get(outputs, "EgressIp")
            .and_then(|o| get(o, "Condition"))
            .and_then(Value::as_str),
        Some("EgressOn")
    );
    let egress = get(&template, "Resources")
        .and_then(|r| get(r, "EgressIp"))
        .expect("EgressIp resource");
    assert_eq!(
        get(egress, "Condition").and_then(Value::as_str),
        Some("EgressOn")
    );
}

#[test]
fn build_script_writes_the_zips_the_template_deploys() {
    let script = read("infra/build-zips.sh");
    assert!(script.contains("lambda_dir=target/lambda"));
    for binary in BINARIES {
        assert!(
            script.contains(&format!("--bin {binary}")),
            "build-zips.sh does not build {binary}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The checks fail when they should.

#[test]
fn iam_check_catches_wildcards_and_unlisted_star_resources() {
    let bad = parse(
        r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: s3:Get*
                Resource: !Sub "${Bucket.Arn}/*"
              - Effect: Allow
                Action: [s3:GetObject]
                Resource: "*"
              - Effect: Allow
                NotAction: s3:DeleteObject
                Resource: !GetAtt Bucket.Arn
              - Effect: Deny
                Action: s3:*
                Resource: "*"
        - !If
          - Cond
          - PolicyName: q
            PolicyDocument:
              Statement:
                - Effect: Allow
                  Action: logs:CreateLogDelivery
                  Resource: "*"
                - Effect: Allow
                  Action: "*"
                  Resource: "*"
          - !Ref AWS::NoValue
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Policies: [S3CrudPolicy: {BucketName: x}]
"#,
    );
    let (count, problems) = iam_problems(&bad);
    assert_eq!(count, 6);
    let expected = [
        "wildcard action s3:Get*",
        "s3:GetObject on Resource \"*\"",
        "NotAction",
        "wildcard action s3:*",
        "wildcard action *",
        "* on Resource \"*\"",
        "Function: use Role",
    ];
    for needle in expected {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "no problem mentions {needle:?}: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn substitution_check_catches_both_directions() {
    let asl = r#"{"A": {"FunctionName": "${ImportFunctionArn}"}, "B": "${Typo}", "C": "$.x"}"#;
    assert_eq!(
        placeholders(asl),
        BTreeSet::from(["ImportFunctionArn".to_owned(), "Typo".to_owned()])
    );
    let keys = BTreeSet::from([
        "ImportFunctionArn".to_owned(),
        "InsertFunctionArn".to_owned(),
    ]);
    let problems = substitution_problems(asl, &keys);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("${Typo}"));
    assert!(problems[1].contains("InsertFunctionArn"));
}

#[test]
fn env_check_catches_a_typo_and_a_missing_variable() {
    let bad = parse(
        r#"
Resources:
  Insert:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: ../target/lambda/insert/bootstrap.zip
      Environment:
        Variables:
          ORDERSYNC_STORE: !Sub s3://${PayloadBucket}/ordersync
          ORDERSYNC_GOOGLE_SECRET: x
          NAVER_COMMERCE_BASE_URL: https://example.invalid
"#,
    );
    let problems = env_problems(&bad);
    for needle in [
        "sets ORDERSYNC_GOOGLE_SECRET,",
        "sets NAVER_COMMERCE_BASE_URL,",
        "does not set ORDERSYNC_GOOGLE_SECRET_ID",
        "lambda/import/bootstrap.zip",
        "lambda/transform/bootstrap.zip",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "no problem mentions {needle:?}: {problems:#?}"
        );
    }
    assert_eq!(problems.len(), 5, "{problems:#?}");
}

// ---------------------------------------------------------------------------------------------
// The optional schedule.

#[test]
fn the_optional_schedule_starts_a_sync_of_the_configured_tab() {
    use ordersync_core::request::{Limits, RunRequest, Selection};
    let template = template();
    let schedules = resources(&template, "AWS::Scheduler::Schedule");
    assert_eq!(schedules.len(), 1, "one schedule");
    let (_, schedule) = schedules[0];
    assert_eq!(
        get(schedule, "Condition").and_then(Value::as_str),
        Some("HasSyncSchedule"),
        "off unless an expression is given"
    );
    let condition = get(&template, "Conditions")
        .and_then(|c| get(c, "HasSyncSchedule"))
        .expect("the condition");
    assert!(
        format!("{condition:?}").contains("SyncScheduleExpression"),
        "{condition:?}"
    );
    let target = property(schedule, "Target").expect("a target");
    let arn = get(target, "Arn").unwrap();
    assert_eq!(
        (tag(arn).as_deref(), untagged(arn).as_str()),
        (Some("Ref"), Some("Pipeline")),
        "it starts this stack's state machine"
    );
    let role_arn = get(target, "RoleArn").unwrap();
    assert_eq!(untagged(role_arn).as_str(), Some("SyncScheduleRole.Arn"));

    // Both inputs, with the parameters filled in as a deployer would, are syncs the Plan
    // accepts: with `since` for a first sync, without it once the tab has a cursor.
    let input = get(target, "Input").unwrap();
    assert_eq!(tag(input).as_deref(), Some("If"));
    let branches = untagged(input).as_sequence().unwrap();
    assert_eq!(branches[0].as_str(), Some("HasSyncSince"));
    let fill = |branch: &Value| {
        untagged(branch)
            .as_str()
            .unwrap()
            .replace("${SyncSecretName}", "ordersync/naver/my-store")
            .replace("${SyncSpreadsheetId}", "1AbC_dEf-123")
            .replace("${SyncTab}", "스마트스토어 주문")
            .replace("${SyncSince}", "2026-11-01")
    };
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00+09:00").unwrap();
    for (branch, since) in [(&branches[1], true), (&branches[2], false)] {
        assert_eq!(tag(branch).as_deref(), Some("Sub"));
        let text = fill(branch);
        assert!(
            !text.contains("${"),
            "every placeholder is a parameter: {text}"
        );
        let run = RunRequest::parse(text.as_bytes())
            .and_then(|r| r.validate(&Limits::default(), now))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let Selection::Sync { since: got } = run.selection else {
            panic!("{text} is not a sync")
        };
        assert_eq!(got.is_some(), since, "{text}");
        assert_eq!(run.sheet.tab, "스마트스토어 주문");
    }

    // The role: assumed by the scheduler of this account only, allowed exactly to start this
    // state machine.
    let role = get(&template, "Resources")
        .and_then(|r| get(r, "SyncScheduleRole"))
        .expect("the schedule's role");
    let trust = format!("{:?}", property(role, "AssumeRolePolicyDocument").unwrap());
    assert!(trust.contains("scheduler.amazonaws.com") && trust.contains("aws:SourceAccount"));
    let statements: Vec<&Value> = property(role, "Policies")
        .and_then(Value::as_sequence)
        .unwrap()
        .iter()
        .flat_map(|p| {
            get(p, "PolicyDocument")
                .and_then(|d| get(d, "Statement"))
                .and_then(Value::as_sequence)
                .unwrap()
        })
        .collect();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        get(statements[0], "Action").and_then(Value::as_str),
        Some("states:StartExecution")
    );
    let resource = get(statements[0], "Resource").unwrap();
    assert_eq!(untagged(resource).as_str(), Some("Pipeline"));
}

/// What a role may do to an object key, from its inline policies' `s3:` statements (an
/// approximation of IAM: `*` in a resource matches any run of characters).
fn role_allows(template: &Value, role: &str, action: &str, key: &str) -> bool {
    fn matches(pattern: &str, key: &str) -> bool {
        match pattern.split_once('*') {
            None => pattern == key,
            Some((head, tail)) => {
                key.starts_with(head)
                    && (0..=key.len() - head.len()).any(|i| matches(tail, &key[head.len() + i..]))
            }
        }
    }
    let role = get(template, "Resources")
        .and_then(|r| get(r, role))
        .unwrap();
    let policies = property(role, "Policies")
        .and_then(Value::as_sequence)
        .unwrap();
    policies.iter().any(|policy| {
        let Some(statements) = get(untagged(policy), "PolicyDocument")
            .and_then(|d| get(d, "Statement"))
            .and_then(Value::as_sequence)
        else {
            return false;
        };
        statements.iter().any(|st| {
            let actions: Vec<Option<String>> =
                get(st, "Action").map(one_or_many).unwrap_or_default();
            let resources: Vec<Option<String>> =
                get(st, "Resource").map(one_or_many).unwrap_or_default();
            actions.iter().any(|a| a.as_deref() == Some(action))
                && resources.iter().flatten().any(|r| {
                    r.strip_prefix("${PayloadBucket.Arn}/")
                        .is_some_and(|pattern| matches(pattern, key))
                })
        })
    })
}

#[test]
fn each_function_may_touch_exactly_the_sync_state_it_uses() {
    let template = template();
    let cursor = "ordersync/cursors/0123/book/6f72646572";
    let recheck = "ordersync/runs/os-sync-1/recheck/20261101T000000-20261102T000000.jsonl.zst";
    // Plan reads the cursor and writes the batch; the last window's import reads the batch.
    assert!(role_allows(&template, "ImportRole", "s3:GetObject", cursor));
    assert!(role_allows(
        &template,
        "ImportRole",
        "s3:PutObject",
        recheck
    ));
    assert!(role_allows(
        &template,
        "ImportRole",
        "s3:GetObject",
        recheck
    ));
    assert!(!role_allows(
        &template,
        "ImportRole",
        "s3:PutObject",
        cursor
    ));
    // Insert reads the batch and moves the cursor; transform touches neither.
    assert!(role_allows(
        &template,
        "InsertRole",
        "s3:GetObject",
        recheck
    ));
    assert!(role_allows(&template, "InsertRole", "s3:GetObject", cursor));
    assert!(role_allows(&template, "InsertRole", "s3:PutObject", cursor));
    assert!(!role_allows(
        &template,
        "InsertRole",
        "s3:PutObject",
        recheck
    ));
    for action in ["s3:GetObject", "s3:PutObject"] {
        assert!(!role_allows(&template, "TransformRole", action, cursor));
    }
    // The matcher itself: a run's orders are not a cursor.
    assert!(!role_allows(
        &template,
        "InsertRole",
        "s3:PutObject",
        "ordersync/runs/x/orders/w.jsonl.zst"
    ));
    // A first sync reads a missing cursor: 404, not 403, needs ListBucket on the bucket.
    let import = serde_yaml_ng::to_string(
        get(&template, "Resources")
            .and_then(|r| get(r, "ImportRole"))
            .unwrap(),
    )
    .unwrap();
    assert!(import.contains("s3:ListBucket"), "{import}");
}
