//! `ordersync start`, `status` and `redrive`: the deployed state machine, through aws-sdk-sfn.
//!
//! `start` checks the execution input here first (a bad request never reaches AWS), names the
//! execution after what it imports ([`ordersync_core::naming::execution_name`], unless `--name`
//! is given), and asks Step Functions whether that execution exists before starting it. An
//! existing one — running, or ended, as after a double click or a backend retry — is reported
//! as "already started" with its status, never started twice: Step Functions itself answers a
//! second `StartExecution` of a running execution with the same input with that execution, and
//! refuses the name otherwise (`ExecutionAlreadyExists`, which a race between our describe and
//! our start can still produce, and which is reported the same way).
//!
//! Configuration is the standard AWS chain (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL` /
//! `AWS_ENDPOINT_URL_SFN`) through [`ordersync_aws::config::load`], so the HTTPS
//! client is rustls + ring like every other AWS client here. The state machine is
//! `--state-machine-arn` or `ORDERSYNC_STATE_MACHINE_ARN`.
//!
//! Exit codes: 0 done (also "already started"), 1 the input, the execution or the AWS call
//! failed, 2 usage (no state machine, a bad `--name` or `--interval`, an unreadable file).

mod args;
mod calls;
mod render;

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

pub use args::*;
pub use calls::*;
pub use render::*;

pub use crate::error::CliError;
use crate::input::read_input;

fn interval(seconds: f64) -> Result<Duration, CliError> {
    if seconds.is_finite() && (0.01..=3600.0).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(CliError::Usage(format!(
            "--interval must be between 0.01 and 3600 seconds, got {seconds}"
        )))
    }
}

/// Waits for `name` and prints how it ended: the summary (text, or JSON with `json`) on
/// success, error and cause otherwise (exit 1).
async fn wait_and_report(
    target: &Target,
    name: &str,
    every: Duration,
    json: bool,
) -> Result<ExitCode, CliError> {
    let mut progress = WaitProgress::new();
    let ended = wait(target, name, every, |e| progress.update(e)).await;
    progress.finish();
    let ended = ended?;
    if ended.status == "SUCCEEDED" {
        match (&ended.summary, json) {
            (Some(summary), true) => print_json(summary),
            (None, true) => println!("{}", ended.output.as_deref().unwrap_or("null")),
            (_, false) => print!("{}", render_status(&ended)),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if json {
        print_json(&ended);
    } else {
        print!("{}", render_status(&ended));
    }
    eprintln!(
        "ordersync: {} {}: {}{}",
        ended.name,
        ended.status,
        ended.error.as_deref().unwrap_or("no error name"),
        ended
            .cause
            .as_deref()
            .map(|c| format!(" — {c}"))
            .unwrap_or_default()
    );
    Ok(ExitCode::from(1))
}

// ---------------------------------------------------------------------------------------------
// Commands

/// `ordersync start --input FILE [--name NAME] [--wait]`.
pub async fn start_command(args: StartArgs) -> Result<ExitCode, CliError> {
    let every = interval(args.interval)?;
    let arn = state_machine_arn(args.target.state_machine_arn.as_deref())?;
    let json = read_input(&args.input)?;
    let request = prepare(&json, args.name.as_deref(), Utc::now())?;
    let target = Target {
        client: client_from_env().await,
        state_machine_arn: arn,
    };
    let report = start(&target, &request).await?;
    if report.same_input == Some(false) {
        eprintln!(
            "ordersync: note: {} was started with another input than this one (columns?); \
             to run this input as well, pass --name",
            report.name
        );
    }
    let text = render_start(&report);
    show_or_wait(
        &target,
        &report.name,
        &report,
        &text,
        args.wait.then_some(every),
        args.target.json,
    )
    .await
}

/// `ordersync status NAME`.
pub async fn status_command(args: StatusArgs) -> Result<ExitCode, CliError> {
    let target = Target::from_env(args.target.state_machine_arn.as_deref()).await?;
    let execution = status(&target, &args.name).await?;
    if args.target.json {
        print_json(&execution);
    } else {
        print!("{}", render_status(&execution));
        if matches!(
            execution.status.as_str(),
            "FAILED" | "TIMED_OUT" | "ABORTED"
        ) {
            println!(
                "\ncontinue it from the failed step with: ordersync redrive {}",
                execution.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ordersync redrive NAME [--wait]`.
pub async fn redrive_command(args: RedriveArgs) -> Result<ExitCode, CliError> {
    let every = interval(args.interval)?;
    let target = Target::from_env(args.target.state_machine_arn.as_deref()).await?;
    let report = redrive(&target, &args.name).await?;
    let text = render_redrive(&report);
    show_or_wait(
        &target,
        &report.name,
        &report,
        &text,
        args.wait.then_some(every),
        args.target.json,
    )
    .await
}

/// Prints what `start` or `redrive` did; with `wait` (the poll interval), it goes to standard
/// error instead, so standard output is kept for the execution's outcome, and waits for it.
async fn show_or_wait(
    target: &Target,
    name: &str,
    report: &impl Serialize,
    text: &str,
    wait: Option<Duration>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let Some(every) = wait else {
        if json {
            print_json(report);
        } else {
            print!("{text}");
        }
        return Ok(ExitCode::SUCCESS);
    };
    eprint!("{text}");
    wait_and_report(target, name, every, json).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const SM: &str = "arn:aws:states:ap-northeast-2:123456789012:stateMachine:ordersync";

    #[test]
    fn execution_arns_follow_the_state_machine() {
        assert_eq!(
            execution_arn(SM, "os-1"),
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:os-1"
        );
        let arn = "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:x";
        assert_eq!(execution_arn(SM, arn), arn);
        assert_eq!(name_of(arn), "x");
        assert_eq!(name_of("x"), "x");
    }

    #[test]
    fn state_machine_arn_from_the_flag_is_checked() {
        assert_eq!(state_machine_arn(Some(SM)).unwrap(), SM);
        for bad in [
            "ordersync",
            "arn:aws:lambda:ap-northeast-2:123456789012:function:ordersync",
            "arn:aws:states:ap-northeast-2:123456789012:execution:ordersync:x",
            "arn:aws:states:ap-northeast-2:123456789012:stateMachine:",
        ] {
            assert!(
                matches!(state_machine_arn(Some(bad)), Err(CliError::Usage(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn prepare_checks_the_input_and_names_it() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .unwrap()
            .to_utc();
        let json = r#"{
            "account": { "secret_id": "ordersync/naver/my-store" },
            "range": { "from": "2026-11-01", "to": "2026-11-03" },
            "sheet": { "spreadsheet_id": "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd", "tab": "스마트스토어 주문" }
        }"#
        .as_bytes();
        let prepared = prepare(json, None, now).unwrap();
        assert_eq!(prepared.name, "os-20261101-20261103-d1bed2285c6f6b68");
        // Compact and in field order, whatever the file looked like.
        assert!(prepared.input.starts_with(r#"{"account":{"secret_id":"#));
        assert!(!prepared.input.contains('\n'));
        assert_eq!(prepare(json, Some("mine"), now).unwrap().name, "mine");
        assert!(matches!(
            prepare(json, Some("has space"), now),
            Err(CliError::Usage(_))
        ));
        let bad = br#"{"account":{"secret_id":"x"},"range":{"from":"2026-11-05","to":"2026-11-01"},"sheet":{"spreadsheet_id":"id","tab":""}}"#;
        assert_eq!(
            prepare(bad, None, now),
            Err(CliError::InvalidInput(
                "range.to is before range.from; sheet.tab is empty".into()
            ))
        );
    }

    #[test]
    fn not_redrivable_says_what_to_do_instead() {
        let e = |status: &str, reason: &str| {
            CliError::NotRedrivable {
                name: "n".into(),
                status: Some(status.into()),
                reason: reason.into(),
            }
            .to_string()
        };
        assert!(e("SUCCEEDED", "x").contains("it succeeded; to import again, start a new"));
        assert!(e("RUNNING", "x").contains("still running"));
        assert!(e("FAILED", "Execution redrivable period exceeded").contains("14 days"));
        assert_eq!(CliError::Usage("u".into()).exit_code(), ExitCode::from(2));
    }
}
