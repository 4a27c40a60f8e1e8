//! Small helpers every stage uses: durations as people write them, report throttling and
//! retry jitter. Nothing here knows about Binance or the pipeline.

pub(crate) mod duration;
pub(crate) mod jitter;
pub(crate) mod stderr;
pub(crate) mod throttle;
