//! The group's key-value bucket, where members announce themselves and hold leases: a
//! JetStream stream set up as ADR-8 describes a KV bucket (one value per key, a maximum
//! age equal to the lease time, so an entry not renewed disappears), created here rather
//! than by `create_key_value`, which cannot read a 2.9 server's account info. Every member
//! must use the same lease time: the first one fixes the bucket's.

use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::kv::Store;
use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType};

/// The bucket of group `group`.
pub(crate) fn bucket_name(group: &str) -> String {
    format!("binance-listen-{group}")
}

/// Why the bucket cannot be used.
#[derive(Debug)]
pub(crate) enum BucketError {
    /// The group already runs with another lease time (status 2).
    Usage(String),
    /// The server refused (status 1).
    Failed(String),
}

/// Opens the group's bucket, creating it when it does not exist.
///
/// # Errors
/// A [`BucketError`] saying why it cannot be used.
pub(crate) async fn open(
    jetstream: &Context,
    group: &str,
    lease: Duration,
) -> Result<Store, BucketError> {
    let bucket = bucket_name(group);
    let stream = format!("KV_{bucket}");
    let existing = jetstream.get_stream(&stream).await;
    if existing.is_err() {
        let config = Config {
            name: stream.clone(),
            subjects: vec![format!("$KV.{bucket}.>")],
            max_messages_per_subject: 1,
            max_age: lease,
            discard: DiscardPolicy::New,
            allow_rollup: true,
            deny_delete: true,
            deny_purge: false,
            allow_direct: true,
            duplicate_window: lease.min(Duration::from_secs(120)),
            storage: StorageType::File,
            num_replicas: 1,
            ..Config::default()
        };
        // Another member may create it at the same moment: then it exists, which is fine.
        if let Err(error) = jetstream.create_stream(config).await
            && jetstream.get_stream(&stream).await.is_err()
        {
            return Err(BucketError::Failed(format!(
                "cannot create the group's bucket {bucket}: {error}"
            )));
        }
    }
    let info = jetstream.get_stream(&stream).await.map_err(|error| {
        BucketError::Failed(format!("cannot open the group's bucket {bucket}: {error}"))
    })?;
    let their_lease = info.cached_info().config.max_age;
    if their_lease != lease {
        return Err(BucketError::Usage(format!(
            "group {group} runs with --lease {}, not {}: every member must use the same lease time",
            crate::util::duration::format_duration(their_lease),
            crate::util::duration::format_duration(lease)
        )));
    }
    jetstream.get_key_value(&bucket).await.map_err(|error| {
        BucketError::Failed(format!("cannot open the group's bucket {bucket}: {error}"))
    })
}
