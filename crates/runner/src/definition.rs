//! Reading a state machine definition, and refusing what the local runner cannot do.
//!
//! Every field of every state is checked against the set this runner implements; anything else
//! (a `Choice`, `Wait` or `Parallel` state, a `TimeoutSeconds`, a Distributed Map, JSONata, an
//! integration other than `lambda:invoke`) is a [`DefinitionError`] naming the state, reported
//! before the first state runs. Nothing is ever skipped silently: a local run either means what
//! the same file means in Step Functions, or does not start.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::path::Path;
use crate::template;

/// The definition (or a Map's `ItemProcessor`): where to start, and the states.
#[derive(Debug, Clone)]
pub struct Machine {
    pub start_at: String,
    pub states: BTreeMap<String, State>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub kind: Kind,
    /// `None` means `End: true` (or a terminal Fail/Succeed).
    pub next: Option<String>,
    pub input_path: Option<Option<Path>>,
    pub output_path: Option<Option<Path>>,
}

#[derive(Debug, Clone)]
pub enum Kind {
    Task(Task),
    Pass(Pass),
    Map(Box<MapState>),
    Fail(Fail),
    Succeed,
}

/// `Resource: arn:aws:states:::lambda:invoke` — the only integration the pipeline uses.
#[derive(Debug, Clone)]
pub struct Task {
    pub parameters: Value,
    pub result: ResultHandling,
}

#[derive(Debug, Clone)]
pub struct Pass {
    pub parameters: Option<Value>,
    pub result: Option<Value>,
    pub result_path: Option<Option<Path>>,
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub items_path: Option<Path>,
    pub item_selector: Option<Value>,
    pub processor: Machine,
    pub max_concurrency: Concurrency,
    pub result: ResultHandling,
}

#[derive(Debug, Clone)]
pub enum Concurrency {
    Fixed(u32),
    Path(Path),
}

/// What Task and Map share: reshaping the result, placing it, and error handling.
#[derive(Debug, Clone)]
pub struct ResultHandling {
    pub result_selector: Option<Value>,
    /// Absent: `$` (the result replaces the input). `null`: the result is discarded.
    pub result_path: Option<Option<Path>>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub result_path: Option<Option<Path>>,
    pub next: String,
}

#[derive(Debug, Clone)]
pub enum Fail {
    Fixed {
        error: Option<String>,
        cause: Option<String>,
    },
    Paths {
        error: Option<Path>,
        cause: Option<Path>,
    },
}

/// A construct the runner does not implement, or a malformed one; names the state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state `{state}`: {problem}")]
pub struct DefinitionError {
    pub state: String,
    pub problem: String,
}

/// The integration resource `Task` states must use.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Reads a definition (after `${…}` substitution).
pub fn parse(definition: &Value) -> Result<Machine, DefinitionError> {
    let top = "(definition)";
    let map = as_object(definition, top)?;
    let mut fields = Fields::new(map, top);
    if let Some(language) = fields.take("QueryLanguage")
        && language != "JSONPath"
    {
        return Err(err(top, "only `QueryLanguage: JSONPath` is supported"));
    }
    fields.take("Comment");
    fields.take("Version");
    let machine = parse_machine(&mut fields, top)?;
    fields.finish()?;
    check_transitions(&machine)?;
    Ok(machine)
}

fn parse_machine(fields: &mut Fields<'_>, owner: &str) -> Result<Machine, DefinitionError> {
    let start_at = fields
        .string("StartAt")?
        .ok_or_else(|| err(owner, "`StartAt` is missing"))?;
    let states_value = fields
        .take("States")
        .ok_or_else(|| err(owner, "`States` is missing"))?;
    let mut states = BTreeMap::new();
    for (name, value) in as_object(states_value, owner)? {
        states.insert(name.clone(), parse_state(name, value)?);
    }
    if !states.contains_key(&start_at) {
        return Err(err(
            owner,
            format!("`StartAt` names `{start_at}`, which is not a state"),
        ));
    }
    Ok(Machine { start_at, states })
}

fn check_transitions(machine: &Machine) -> Result<(), DefinitionError> {
    for state in machine.states.values() {
        let mut targets: Vec<&String> = state.next.iter().collect();
        match &state.kind {
            Kind::Task(Task { result, .. }) => targets.extend(result.catch.iter().map(|c| &c.next)),
            Kind::Map(map) => {
                targets.extend(map.result.catch.iter().map(|c| &c.next));
                check_transitions(&map.processor)?;
            }
            _ => {}
        }
        for target in targets {
            if !machine.states.contains_key(target) {
                return Err(err(
                    &state.name,
                    format!("transition to `{target}`, which is not a state here"),
                ));
            }
        }
    }
    Ok(())
}

/// One state: what every kind shares (`Type`, `Comment`, `InputPath`, `OutputPath`, the
/// transition), then the fields of its kind, each read by its own function below. Fields are
/// taken in the same order for every kind, so the first problem reported is always the same one.
fn parse_state(name: &str, value: &Value) -> Result<State, DefinitionError> {
    let map = as_object(value, name)?;
    let mut f = Fields::new(map, name);
    let kind_name = f
        .string("Type")?
        .ok_or_else(|| err(name, "`Type` is missing"))?;
    f.take("Comment");
    if !matches!(
        kind_name.as_str(),
        "Task" | "Pass" | "Map" | "Fail" | "Succeed"
    ) {
        return Err(unsupported_type(name, &kind_name));
    }
    let input_path = f.nullable_path("InputPath")?;
    let output_path = f.nullable_path("OutputPath")?;
    let next = transition(&mut f, name, &kind_name)?;
    let kind = match kind_name.as_str() {
        "Task" => Kind::Task(parse_task(&mut f, name)?),
        "Pass" => Kind::Pass(parse_pass(&mut f, name)?),
        "Map" => Kind::Map(Box::new(parse_map(&mut f, name)?)),
        "Fail" => Kind::Fail(parse_fail(&mut f, name)?),
        "Succeed" => Kind::Succeed,
        other => return Err(unsupported_type(name, other)),
    };
    f.finish()?;
    Ok(State {
        name: name.to_owned(),
        kind,
        next,
        input_path,
        output_path,
    })
}

fn unsupported_type(name: &str, kind: &str) -> DefinitionError {
    err(
        name,
        format!(
            "`Type: {kind}` is not supported by the local runner (it runs Task, Pass, Map, Fail and Succeed)"
        ),
    )
}

/// Where the state goes next: `Next` or `End: true`, exactly one of them; a Fail or Succeed
/// state ends the machine and takes neither.
fn transition(
    f: &mut Fields<'_>,
    name: &str,
    kind_name: &str,
) -> Result<Option<String>, DefinitionError> {
    if matches!(kind_name, "Fail" | "Succeed") {
        return Ok(None);
    }
    let next = f.string("Next")?;
    let end = f
        .take("End")
        .map(|v| v == &Value::Bool(true))
        .unwrap_or(false);
    match (next, end) {
        (Some(n), false) => Ok(Some(n)),
        (None, true) => Ok(None),
        _ => Err(err(name, "needs exactly one of `Next` or `End: true`")),
    }
}

/// A `lambda:invoke` Task: the function is a literal (substituted) ARN, so the runner can map it
/// to an in-process function, and there is a payload to hand it.
fn parse_task(f: &mut Fields<'_>, name: &str) -> Result<Task, DefinitionError> {
    let resource = f.string("Resource")?.unwrap_or_default();
    if resource != LAMBDA_INVOKE {
        return Err(err(
            name,
            format!(
                "`Resource` `{resource}` is not supported; the local runner implements `{LAMBDA_INVOKE}` only"
            ),
        ));
    }
    let parameters = f
        .take("Parameters")
        .cloned()
        .ok_or_else(|| err(name, "a lambda:invoke Task needs `Parameters`"))?;
    template::check(&parameters).map_err(|p| err(name, format!("Parameters: {p}")))?;
    match parameters.get("FunctionName") {
        Some(Value::String(_)) => {}
        _ => {
            return Err(err(
                name,
                "`Parameters.FunctionName` must be a literal string (a substituted ARN)",
            ));
        }
    }
    if parameters.get("Payload").is_none() && parameters.get("Payload.$").is_none() {
        return Err(err(name, "`Parameters` needs `Payload` or `Payload.$`"));
    }
    Ok(Task {
        parameters,
        result: result_handling(f, name)?,
    })
}

fn parse_pass(f: &mut Fields<'_>, name: &str) -> Result<Pass, DefinitionError> {
    let parameters = f.take("Parameters").cloned();
    if let Some(p) = &parameters {
        template::check(p).map_err(|p| err(name, format!("Parameters: {p}")))?;
    }
    Ok(Pass {
        parameters,
        result: f.take("Result").cloned(),
        result_path: f.nullable_path("ResultPath")?,
    })
}

/// An INLINE Map: items, how each is shaped, how many run at once, and the machine each runs
/// (parsed like the top level, so its states are checked the same way).
fn parse_map(f: &mut Fields<'_>, name: &str) -> Result<MapState, DefinitionError> {
    let items_path = f.nullable_path("ItemsPath")?.flatten();
    let item_selector = match (f.take("ItemSelector"), f.take("Parameters")) {
        (Some(_), Some(_)) => {
            return Err(err(name, "`ItemSelector` and `Parameters` are exclusive"));
        }
        (a, b) => a.or(b).cloned(),
    };
    if let Some(s) = &item_selector {
        template::check(s).map_err(|p| err(name, format!("ItemSelector: {p}")))?;
    }
    let max_concurrency = match (f.take("MaxConcurrency"), f.string("MaxConcurrencyPath")?) {
        (Some(_), Some(_)) => {
            return Err(err(
                name,
                "`MaxConcurrency` and `MaxConcurrencyPath` are exclusive",
            ));
        }
        (Some(v), None) => Concurrency::Fixed(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| err(name, "`MaxConcurrency` must be a non-negative integer"))?,
        ),
        (None, Some(p)) => Concurrency::Path(Path::parse(&p).map_err(|e| err(name, e))?),
        (None, None) => Concurrency::Fixed(0),
    };
    let processor_value = f.take("ItemProcessor").ok_or_else(|| {
        err(
            name,
            "`ItemProcessor` is missing (`Iterator` is not supported)",
        )
    })?;
    let mut pf = Fields::new(as_object(processor_value, name)?, name);
    if let Some(config) = pf.take("ProcessorConfig") {
        let mode = config
            .get("Mode")
            .and_then(Value::as_str)
            .unwrap_or("INLINE");
        if mode != "INLINE" {
            return Err(err(
                name,
                format!(
                    "`ProcessorConfig.Mode` `{mode}` is not supported; the local runner runs INLINE Maps only"
                ),
            ));
        }
    }
    let processor = parse_machine(&mut pf, name)?;
    pf.finish()?;
    Ok(MapState {
        items_path,
        item_selector,
        processor,
        max_concurrency,
        result: result_handling(f, name)?,
    })
}

/// Fixed `Error`/`Cause`, or paths into the input for them; never both for one.
fn parse_fail(f: &mut Fields<'_>, name: &str) -> Result<Fail, DefinitionError> {
    let error = f.string("Error")?;
    let cause = f.string("Cause")?;
    let error_path = f.string("ErrorPath")?;
    let cause_path = f.string("CausePath")?;
    if (error.is_some() && error_path.is_some()) || (cause.is_some() && cause_path.is_some()) {
        return Err(err(
            name,
            "`Error`/`ErrorPath` and `Cause`/`CausePath` are exclusive",
        ));
    }
    if error_path.is_some() || cause_path.is_some() {
        let parse = |p: Option<String>| {
            p.map(|p| Path::parse(&p).map_err(|e| err(name, e)))
                .transpose()
        };
        Ok(Fail::Paths {
            error: parse(error_path)?,
            cause: parse(cause_path)?,
        })
    } else {
        Ok(Fail::Fixed { error, cause })
    }
}

fn result_handling(f: &mut Fields<'_>, name: &str) -> Result<ResultHandling, DefinitionError> {
    let result_selector = f.take("ResultSelector").cloned();
    if let Some(s) = &result_selector {
        template::check(s).map_err(|p| err(name, format!("ResultSelector: {p}")))?;
    }
    let result_path = f.nullable_path("ResultPath")?;
    let mut retry = Vec::new();
    if let Some(list) = f.take("Retry") {
        for item in list
            .as_array()
            .ok_or_else(|| err(name, "`Retry` must be an array"))?
        {
            let mut rf = Fields::new(as_object(item, name)?, name);
            let number = |v: Option<&Value>, default: f64| v.map_or(Some(default), Value::as_f64);
            let retrier = Retrier {
                error_equals: error_list(rf.take("ErrorEquals"), name)?,
                interval_seconds: number(rf.take("IntervalSeconds"), 1.0)
                    .ok_or_else(|| err(name, "bad `IntervalSeconds`"))?,
                max_attempts: rf
                    .take("MaxAttempts")
                    .map_or(Some(3), |v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
                    .ok_or_else(|| err(name, "bad `MaxAttempts`"))?,
                backoff_rate: number(rf.take("BackoffRate"), 2.0)
                    .ok_or_else(|| err(name, "bad `BackoffRate`"))?,
                max_delay_seconds: rf
                    .take("MaxDelaySeconds")
                    .map(|v| v.as_f64().ok_or_else(|| err(name, "bad `MaxDelaySeconds`")))
                    .transpose()?,
                full_jitter: match rf.string("JitterStrategy")?.as_deref() {
                    None | Some("NONE") => false,
                    Some("FULL") => true,
                    Some(other) => {
                        return Err(err(
                            name,
                            format!("`JitterStrategy` `{other}` is not FULL or NONE"),
                        ));
                    }
                },
            };
            rf.take("Comment");
            rf.finish()?;
            retry.push(retrier);
        }
        wildcard_alone_and_last(retry.iter().map(|r| &r.error_equals), name, "retrier")?;
    }
    let mut catch = Vec::new();
    if let Some(list) = f.take("Catch") {
        for item in list
            .as_array()
            .ok_or_else(|| err(name, "`Catch` must be an array"))?
        {
            let mut cf = Fields::new(as_object(item, name)?, name);
            let catcher = Catcher {
                error_equals: error_list(cf.take("ErrorEquals"), name)?,
                result_path: cf.nullable_path("ResultPath")?,
                next: cf
                    .string("Next")?
                    .ok_or_else(|| err(name, "a catcher needs `Next`"))?,
            };
            cf.take("Comment");
            cf.finish()?;
            catch.push(catcher);
        }
        wildcard_alone_and_last(catch.iter().map(|c| &c.error_equals), name, "catcher")?;
    }
    Ok(ResultHandling {
        result_selector,
        result_path,
        retry,
        catch,
    })
}

/// Step Functions refuses a definition where `States.ALL` shares an `ErrorEquals` or is not in
/// the last retrier (catcher): the entries after it could never match.
fn wildcard_alone_and_last<'a>(
    lists: impl ExactSizeIterator<Item = &'a Vec<String>>,
    name: &str,
    what: &str,
) -> Result<(), DefinitionError> {
    let count = lists.len();
    for (i, list) in lists.enumerate() {
        if list.iter().any(|e| e == "States.ALL") && (list.len() > 1 || i + 1 < count) {
            return Err(err(
                name,
                format!("`States.ALL` must be alone in the last {what}'s `ErrorEquals`"),
            ));
        }
    }
    Ok(())
}

fn error_list(value: Option<&Value>, name: &str) -> Result<Vec<String>, DefinitionError> {
    let list: Option<Vec<String>> = value.and_then(Value::as_array).map(|items| {
        items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    });
    match list {
        Some(list) if !list.is_empty() => Ok(list),
        _ => Err(err(
            name,
            "`ErrorEquals` must be a non-empty array of names",
        )),
    }
}

fn as_object<'a>(value: &'a Value, name: &str) -> Result<&'a Map<String, Value>, DefinitionError> {
    value
        .as_object()
        .ok_or_else(|| err(name, "expected a JSON object"))
}

fn err(state: &str, problem: impl Into<String>) -> DefinitionError {
    DefinitionError {
        state: state.to_owned(),
        problem: problem.into(),
    }
}

/// Takes fields one by one; whatever is left over at [`Fields::finish`] is unsupported.
struct Fields<'a> {
    map: &'a Map<String, Value>,
    used: BTreeSet<&'a str>,
    owner: String,
}

impl<'a> Fields<'a> {
    fn new(map: &'a Map<String, Value>, owner: &str) -> Self {
        Fields {
            map,
            used: BTreeSet::new(),
            owner: owner.to_owned(),
        }
    }

    fn take(&mut self, key: &str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.insert(k.as_str());
        Some(v)
    }

    fn string(&mut self, key: &str) -> Result<Option<String>, DefinitionError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(err(&self.owner, format!("`{key}` must be a string"))),
        }
    }

    /// Absent → `None`; `null` → `Some(None)`; a path → `Some(Some(path))`.
    fn nullable_path(&mut self, key: &str) -> Result<Option<Option<Path>>, DefinitionError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => {
                let path = Path::parse(s).map_err(|e| err(&self.owner, format!("`{key}`: {e}")))?;
                if key == "ResultPath" && !path.is_reference() {
                    return Err(err(
                        &self.owner,
                        format!("`ResultPath` `{s}` must be a reference path"),
                    ));
                }
                Ok(Some(Some(path)))
            }
            Some(_) => Err(err(&self.owner, format!("`{key}` must be a path or null"))),
        }
    }

    fn finish(self) -> Result<(), DefinitionError> {
        let unknown: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !self.used.contains(k))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(err(
                &self.owner,
                format!(
                    "field(s) {} not supported by the local runner",
                    unknown
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ))
        }
    }
}
