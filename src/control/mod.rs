//! How a pipeline is stopped, supervised and heard from: the [`stop`] token every thread of
//! a pipeline shares, [`supervise`], which restarts a thread body after an internal error,
//! and the [`events`] the threads send to the lifecycle.

pub(crate) mod events;
pub(crate) mod stop;
pub(crate) mod supervise;
