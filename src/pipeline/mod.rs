//! One symbol's pipeline, the path every frame takes: the [`reader`] thread takes it off
//! the symbol's WebSocket and stamps its receive time; the bounded [`queue`] holds it under
//! the overflow policy; the [`processor`] thread decodes it, drops duplicates and reports
//! gaps ([`sequence`]), sleeps `--delay`, and hands the line to the output.

pub(crate) mod processor;
pub(crate) mod queue;
pub(crate) mod reader;
pub(crate) mod sequence;
