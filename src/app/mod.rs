//! The program around the pipelines: the way in ([`entry`]: arguments, logging, exit
//! status), the [`lifecycle`] of a run (build every pipeline, wait for a reason to stop,
//! stop them, summarise), and the [`signals`] that end it.

mod books;
mod entry;
mod lifecycle;
mod limits;
mod log;
mod log_json;
mod pipelines;
mod reachability;
mod replay;
mod shell;
mod signals;
mod simulation;

pub(crate) use entry::main;
