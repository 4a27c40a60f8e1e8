//! What `--nats`, `--nats-subject` and `--nats-stream` (or their config keys) set.

use std::time::Duration;

use async_nats::ServerAddr;

use super::group::GroupSettings;
use super::subject::SubjectTemplate;

/// The stream lines are stored in when none is named.
pub(crate) const DEFAULT_STREAM: &str = "BINANCE";

/// How long JetStream remembers message ids to drop a second copy: two listeners (or a
/// listener and its restart) publishing the same event within it store it once.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// How long a stream we create keeps lines.
pub(crate) const STREAM_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The bus output's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NatsSettings {
    /// The servers to connect to (any one will do; the client fails over between them).
    pub(crate) servers: Vec<ServerAddr>,
    /// Each line's subject.
    pub(crate) subject: SubjectTemplate,
    /// The JetStream stream storing the lines.
    pub(crate) stream: String,
    /// `--group`: symbols shared with other listeners through leases.
    pub(crate) group: Option<GroupSettings>,
}

impl NatsSettings {
    /// The servers as given, for messages.
    pub(crate) fn describe_servers(&self) -> String {
        self.servers
            .iter()
            .map(|server| server.as_url_str().to_owned())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The servers of `--nats URL[,URL…]` (one value to clap, however many servers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerList(pub(crate) Vec<ServerAddr>);

/// Parses `--nats URL[,URL…]`: `nats://host:port`, `tls://host:port` or `host:port`.
///
/// # Errors
/// The first URL that is not a NATS server address, named.
pub(crate) fn parse_servers(text: &str) -> Result<ServerList, String> {
    let servers = text
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(|url| {
            url.parse::<ServerAddr>().map_err(|error| {
                format!(
                    "invalid NATS server '{url}': {error}; expected nats://host:port (several separated by commas)"
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if servers.is_empty() {
        return Err(format!(
            "invalid NATS server list '{text}': expected nats://host:port (several separated by commas)"
        ));
    }
    Ok(ServerList(servers))
}

/// Parses a JetStream stream name (`--nats-stream`).
///
/// # Errors
/// The name holds a character JetStream refuses in stream names.
pub(crate) fn parse_stream_name(text: &str) -> Result<String, String> {
    let bad = text.is_empty()
        || text.len() > 255
        || text.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '.' | '*' | '>' | '/' | '\\')
        });
    if bad {
        return Err(format!(
            "invalid NATS stream name '{text}': expected letters, digits, - or _ (no spaces, dots, *, >, / or \\), like {DEFAULT_STREAM}"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_parsed_and_bad_ones_named() {
        let servers = parse_servers("nats://127.0.0.1:4222, 127.0.0.1:4223").unwrap();
        assert_eq!(servers.0.len(), 2);
        assert_eq!(servers.0[1].port(), 4223);
        let error = parse_servers("http://x:1").unwrap_err();
        assert!(error.contains("'http://x:1'"), "{error}");
        assert!(
            parse_servers(" , ")
                .unwrap_err()
                .contains("expected nats://")
        );
    }

    #[test]
    fn stream_names() {
        assert_eq!(parse_stream_name("MARKET_DATA-1").unwrap(), "MARKET_DATA-1");
        for bad in ["", "a.b", "a b", "a*", "x>"] {
            let error = parse_stream_name(bad).unwrap_err();
            assert!(error.contains(&format!("'{bad}'")), "{error}");
        }
    }
}
