//! Per-symbol outputs, so a slow consumer is isolated even outside this process:
//! [`FileOutput`] appends a symbol's lines to `DIR/<SYMBOL>.jsonl` (`--output-dir`), and
//! [`ExecOutput`] feeds them to a handler command of the symbol's own (`--exec`). A handler
//! that stalls blocks only its symbol's processor; that symbol's queue fills and its overflow
//! policy applies, reported like any other drop.
//!
//! Both run on the symbol's processor thread; [`Handlers`] is the one piece shared with
//! other threads (`app` and the signal thread), so that no handler's process group outlives
//! the listener however it ends.
//!
//! What "written" means differs by output, and each says it exactly:
//! - a file: the line's bytes were handed to the kernel whole ([`FileOutput`]);
//! - a handler: the handler read the whole line out of its pipe ([`ExecOutput`]).
//!
//! Lines an output accepted and cannot deliver are counted lost, where it happens, never
//! computed as a remainder.

mod exec;
mod file;
mod handlers;
mod ledger;

pub(crate) use exec::ExecOutput;
pub(crate) use file::{FileOutput, symbol_file};
pub(crate) use handlers::Handlers;

#[cfg(test)]
mod tests;
