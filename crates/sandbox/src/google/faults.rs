//! Injected faults, consumed first-in first-out by the requests they match.

use std::collections::VecDeque;
use std::time::Duration;

use super::{GoogleFault, MalformedBody, Method};

/// What an answer fault does to the request it matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Answer this status with Google's error JSON; the request is not applied.
    Status(u16),
    /// Apply the request, then answer 503 UNAVAILABLE.
    AppliedThen503,
    /// Answer this status with a malformed body; applied only for a 2xx status.
    Malformed(u16, MalformedBody),
}

#[derive(Default)]
pub(crate) struct Faults {
    queue: VecDeque<GoogleFault>,
}

impl Faults {
    pub(crate) fn push(&mut self, fault: GoogleFault) {
        let empty = match &fault {
            GoogleFault::Status { times, .. }
            | GoogleFault::AppliedThen503 { times, .. }
            | GoogleFault::Malformed { times, .. } => *times == 0,
            GoogleFault::Delay { .. } => false,
        };
        if !empty {
            self.queue.push_back(fault);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.queue.clear();
    }

    /// Takes the first queued `Delay` matching `method` (each `Delay` delays one request).
    pub(crate) fn take_delay(&mut self, method: Method) -> Option<Duration> {
        let at = self
            .queue
            .iter()
            .position(|f| matches!(f, GoogleFault::Delay { method: m, .. } if m.matches(method)))?;
        match self.queue.remove(at) {
            Some(GoogleFault::Delay { duration, .. }) => Some(duration),
            _ => None,
        }
    }

    /// Takes one use of the first queued `Status` / `AppliedThen503` / `Malformed` matching
    /// `method`.
    pub(crate) fn take_answer(&mut self, method: Method) -> Option<Answer> {
        let at = self.queue.iter().position(|f| match f {
            GoogleFault::Status { method: m, .. }
            | GoogleFault::AppliedThen503 { method: m, .. }
            | GoogleFault::Malformed { method: m, .. } => m.matches(method),
            GoogleFault::Delay { .. } => false,
        })?;
        let (answer, left) = match self.queue.get_mut(at)? {
            GoogleFault::Status { status, times, .. } => {
                *times -= 1;
                (Answer::Status(*status), *times)
            }
            GoogleFault::AppliedThen503 { times, .. } => {
                *times -= 1;
                (Answer::AppliedThen503, *times)
            }
            GoogleFault::Malformed {
                status,
                body,
                times,
                ..
            } => {
                *times -= 1;
                (Answer::Malformed(*status, *body), *times)
            }
            GoogleFault::Delay { .. } => return None,
        };
        if left == 0 {
            self.queue.remove(at);
        }
        Some(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_per_matching_method() {
        let mut faults = Faults::default();
        faults.push(GoogleFault::Status {
            method: Method::ValuesUpdate,
            status: 500,
            times: 2,
        });
        faults.push(GoogleFault::AppliedThen503 {
            method: Method::AnyWrite,
            times: 1,
        });
        faults.push(GoogleFault::Delay {
            method: Method::Any,
            duration: Duration::from_millis(5),
        });
        assert_eq!(faults.take_answer(Method::ValuesGet), None);
        assert_eq!(
            faults.take_answer(Method::ValuesBatchUpdate),
            Some(Answer::AppliedThen503)
        );
        assert_eq!(faults.take_answer(Method::ValuesBatchUpdate), None);
        assert_eq!(
            faults.take_answer(Method::ValuesUpdate),
            Some(Answer::Status(500))
        );
        assert_eq!(
            faults.take_answer(Method::ValuesUpdate),
            Some(Answer::Status(500))
        );
        assert_eq!(faults.take_answer(Method::ValuesUpdate), None);
        assert_eq!(
            faults.take_delay(Method::Token),
            None,
            "Any excludes the token endpoint"
        );
        assert_eq!(
            faults.take_delay(Method::ValuesGet),
            Some(Duration::from_millis(5))
        );
        assert_eq!(faults.take_delay(Method::ValuesGet), None);
    }
}
