//! A finished build as the review report is handed it: the [`Outcome`]
//! turned into the plain [`Finished`] the review reads, so that the review
//! (an output) needs nothing from the pipeline.

use super::outcome::Outcome;
use crate::outputs::review::{Figures, Finished};

impl<'a> From<&'a Outcome> for Finished<'a> {
    fn from(outcome: &'a Outcome) -> Self {
        let s = &outcome.summary;
        Finished {
            report: &outcome.report,
            asset_map: &outcome.asset_map,
            changes: outcome
                .changes
                .iter()
                .map(|c| (c.path.as_str(), c.reason.label()))
                .collect(),
            removed: &outcome.removed,
            figures: Figures {
                built: s.built,
                reused: s.reused,
                removed: s.removed,
                decoded: s.decoded,
                output_bytes: s.output_bytes,
                written_bytes: s.written_bytes,
                seconds: s.seconds,
                av1: s.av1.clone(),
                stages: s
                    .stages
                    .iter()
                    .map(|(stage, t)| (stage.name(), *t))
                    .collect(),
            },
        }
    }
}
