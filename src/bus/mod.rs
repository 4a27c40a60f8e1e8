//! The NATS JetStream output (`--nats`): every line published to a subject of its symbol
//! and stream, with a `Nats-Msg-Id` built from the event's natural identity so redundant
//! listeners store each event once, and counted written only once JetStream acknowledged
//! it.
//!
//! The client is async-nats, on one small tokio runtime thread of its own ([`Bus`]): the
//! per-symbol reader and processor threads stay as they are. Each processor hands its
//! batches to its symbol's publishing task ([`NatsOutput`]) and waits only when its own
//! window of unacknowledged lines is full, so a slow or absent server fills that symbol's
//! queue under its `--overflow` policy and never holds back another symbol.

pub(crate) mod group;
mod identity;
mod output;
mod publisher;
mod runtime;
mod settings;
mod stream;
pub(crate) mod subject;
pub(crate) mod tail;

pub(crate) use identity::message_id_prefix;
pub(crate) use runtime::Bus;
pub(crate) use settings::{
    DEFAULT_STREAM, NatsSettings, ServerList, parse_servers, parse_stream_name,
};
