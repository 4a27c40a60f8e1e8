//! The processor's side of the sequence check, off the per-message path: what it does with
//! every verdict but "next" and "duplicate" (events held until a move back is confirmed,
//! held events released or dropped, restarts, gaps and breaks reported and marked, runs of
//! duplicates reported), each report rate-limited like the bad-frame reports.

use std::time::Instant;

use binance_streams::{Event, SequencePoint};
use tracing::{debug, warn};

use super::{BAD_FRAME_REPORT_INTERVAL, Ended, Line, Processor, State};
use crate::output::markers::GapReason;
use crate::pipeline::queue::Frame;
use crate::pipeline::sequence::{DuplicateRun, Verdict};

impl Processor {
    /// Acts on `verdict` for `event` of stream `index` (carried by `frame`), and on the
    /// verdicts it asks again for, until the event is written, dropped or held.
    #[cold]
    #[inline(never)]
    pub(super) fn unusual_sequence(
        &mut self,
        index: usize,
        point: SequencePoint,
        verdict: Verdict,
        event: &Event<'_>,
        frame: &Frame,
        state: &mut State,
    ) -> Result<(), Ended> {
        let mut verdict = verdict;
        loop {
            match verdict {
                Verdict::Next => {
                    return self.write_event(index, Line::Decoded(event), frame, state);
                }
                Verdict::Duplicate => {
                    self.stats.processor.duplicates.add(1);
                    return Ok(());
                }
                Verdict::Hold => {
                    state.held[index].push(frame.clone());
                    return Ok(());
                }
                Verdict::Gap { .. } | Verdict::Break { .. } => {
                    self.report_gap(index, verdict, frame.recv_time_us, state);
                    return self.write_event(index, Line::Decoded(event), frame, state);
                }
                Verdict::Restarted {
                    previous,
                    resumed_at,
                } => {
                    if let Some(restarts) = state.restart_reports.record(1, Instant::now()) {
                        let stream = &state.heads[index].stream;
                        warn!(
                            "{stream} ids went back from {previous} to {resumed_at}; following the new sequence{}",
                            if restarts > 1 {
                                format!(
                                    " ({restarts} such moves in the last {}s)",
                                    BAD_FRAME_REPORT_INTERVAL.as_secs()
                                )
                            } else {
                                String::new()
                            }
                        );
                    }
                    let reason = GapReason::Restart {
                        previous,
                        resumed_at,
                    };
                    self.write_marker(Some(index), reason, frame.recv_time_us, state);
                    self.release_held(index, state)?;
                    return self.write_event(index, Line::Decoded(event), frame, state);
                }
                Verdict::Unconfirmed {
                    held,
                    lowest,
                    highest,
                } => self.drop_held(index, u64::from(held), lowest, highest, state),
                Verdict::DuplicateRun(run) => self.report_duplicates(index, run, state),
            }
            verdict = state.sequences[index].check(point, frame.connection, frame.recv_time_us);
        }
    }

    /// Writes the events held for stream `index`, oldest first. If the run stops meanwhile,
    /// what is left (the rest, and the event that confirmed them) is counted discarded.
    fn release_held(&mut self, index: usize, state: &mut State) -> Result<(), Ended> {
        while !state.held[index].is_empty() {
            // At most a couple: taking the first of a short Vec is cheap, and the rest stay
            // counted in `held` should anything fail.
            let frame = state.held[index].remove(0);
            state.in_hand += 1;
            let written = match self.decoder.decode(&frame.payload) {
                Ok((kind, event)) => self.write_event(kind, Line::Decoded(&event), &frame, state),
                Err(error) => {
                    self.stats.processor.skipped.add(1);
                    state.reports.record(&error, &frame.payload);
                    Ok(())
                }
            };
            state.in_hand -= 1;
            if let Err(ended) = written {
                let left = std::mem::take(&mut state.held[index]).len() as u64;
                self.stats.processor.discarded.add(left + 1);
                return Err(ended);
            }
        }
        Ok(())
    }

    /// Drops the `held` events of stream `index`, which later ones did not confirm.
    fn drop_held(&self, index: usize, held: u64, lowest: u64, highest: u64, state: &mut State) {
        let dropped = std::mem::take(&mut state.held[index]).len() as u64;
        debug_assert_eq!(dropped, held, "the check and the stash disagree");
        self.stats.processor.duplicates.add(dropped);
        state.unreported_duplicates += dropped;
        if let Some(reports) = state.duplicate_reports.record(1, Instant::now()) {
            let count = std::mem::take(&mut state.unreported_duplicates);
            let stream = &state.heads[index].stream;
            warn!(
                "dropped {dropped} {stream} event(s), ids {lowest}..={highest}: below the last id written and not followed by their successors, so taken for strays{}",
                more_reports(reports, count)
            );
        }
    }

    /// Reports a run of duplicates of stream `index`: quietly when an overlap explains it.
    pub(super) fn report_duplicates(&self, index: usize, run: DuplicateRun, state: &mut State) {
        let stream = &state.heads[index].stream;
        let DuplicateRun {
            lowest,
            highest,
            count,
            expected,
        } = run;
        if expected {
            debug!(
                "dropped {count} {stream} event(s) a new connection repeated, ids {lowest}..={highest}"
            );
            return;
        }
        state.unreported_duplicates += count;
        if let Some(reports) = state.duplicate_reports.record(1, Instant::now()) {
            let total = std::mem::take(&mut state.unreported_duplicates);
            warn!(
                "dropped {count} duplicate {stream} event(s), ids {lowest}..={highest}: already written{}",
                more_reports(reports, total)
            );
        }
    }

    /// Counts, reports (throttled) and marks a gap or a break.
    fn report_gap(&mut self, index: usize, verdict: Verdict, recv_time_us: u64, state: &mut State) {
        let counters = &self.stats.processor;
        let stream = &state.heads[index].stream;
        let reason = match verdict {
            Verdict::Gap { first, last } => {
                let missing = last - first + 1;
                counters.gaps.add(1);
                counters.missing_ids.add(missing);
                state.unreported_missing += missing;
                if let Some(gaps) = state.gaps.record(1, Instant::now()) {
                    let missing = std::mem::take(&mut state.unreported_missing);
                    if gaps == 1 {
                        warn!("gap in {stream} ids: {first}..={last} missing ({missing})");
                    } else {
                        warn!(
                            "{gaps} gaps in {stream} ids in the last {}s, {missing} ids missing; latest {first}..={last}",
                            BAD_FRAME_REPORT_INTERVAL.as_secs()
                        );
                    }
                }
                GapReason::Missing { first, last }
            }
            Verdict::Break { expected, found } => {
                counters.gaps.add(1);
                if let Some(gaps) = state.gaps.record(1, Instant::now()) {
                    warn!(
                        "break in {stream} updates: an update follows {found}, the last written was {expected} ({gaps} in the last {}s)",
                        BAD_FRAME_REPORT_INTERVAL.as_secs()
                    );
                }
                GapReason::Break {
                    expected_prev: expected,
                    found_prev: found,
                }
            }
            _ => return,
        };
        self.write_marker(Some(index), reason, recv_time_us, state);
    }

    /// When idle: ends the runs of duplicates in progress and reports them, and reports what
    /// the duplicate throttle held back.
    pub(super) fn report_duplicates_due(&self, state: &mut State) {
        for index in 0..state.sequences.len() {
            if let Some(run) = state.sequences[index].take_run() {
                self.report_duplicates(index, run, state);
            }
        }
        if state.duplicate_reports.has_pending()
            && let Some(reports) = state.duplicate_reports.due(Instant::now())
        {
            let count = std::mem::take(&mut state.unreported_duplicates);
            warn!("{reports} more runs of duplicates, {count} events dropped");
        }
    }
}

/// The tail of a throttled report that stands for `reports` of them, `count` events in all.
fn more_reports(reports: u64, count: u64) -> String {
    if reports > 1 {
        format!(
            " ({reports} such reports in the last {}s, {count} events)",
            BAD_FRAME_REPORT_INTERVAL.as_secs()
        )
    } else {
        String::new()
    }
}
