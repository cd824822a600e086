//! `[[process]] depends_on`, checked against the graph rules of [`crate::deps`]: the
//! fault names the file line of the name at fault.

use std::ops::Range;

use super::{Fault, ProcessConfig};
use crate::deps::GraphError;

/// The processes' `depends_on`: each names a configured process, and none depends on
/// itself through any path. The fault points at the name: the unknown one, or the first
/// link of the cycle (from the first process on it in file order).
pub(super) fn check(
    processes: &[ProcessConfig],
    named_at: &[Vec<Range<usize>>],
) -> Result<(), Fault> {
    let nodes: Vec<(&str, &[String])> = processes
        .iter()
        .map(|p| (p.name.as_str(), p.depends_on.as_slice()))
        .collect();
    let err = match crate::deps::check(&nodes) {
        Ok(()) => return Ok(()),
        Err(err) => err,
    };
    let (from, to) = match &err {
        GraphError::Unknown {
            process,
            dependency,
        } => (process, dependency),
        GraphError::Cycle(path) => (&path[0], &path[1]),
    };
    let at = processes
        .iter()
        .zip(named_at)
        .find(|(p, _)| p.name == *from)
        .and_then(|(p, spans)| {
            let i = p.depends_on.iter().position(|d| d == to)?;
            spans.get(i).cloned()
        })
        .unwrap_or(0..0);
    Err((at, "depends_on", err.to_string()))
}
