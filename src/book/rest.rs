//! [`SnapshotClient`]: the blocking HTTPS client that fetches depth snapshots
//! (`GET <base>/api/v3/depth?symbol=..&limit=..`, `/fapi/v1/depth` on USD-M, `/dapi/v1/depth`
//! on COIN-M) with `ureq` over native-tls, the TLS stack the WebSocket side uses, trusting
//! the same `--ca-cert`. One request at a time per caller; only the snapshot workers
//! ([`super::fetch`]) call it, never a reader or processor.

use std::borrow::Cow;
use std::time::Duration;

use binance_streams::Market;
use serde::Deserialize;

/// A snapshot request that takes longer than this has failed (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A snapshot of 5,000 levels a side is about 400 KB; anything past this is not one.
const MAX_BODY_BYTES: u64 = 16 << 20;

/// Retry-After when a 429/418 names none: Binance's shortest ban (PROTOCOL.md §4).
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A depth snapshot as Binance sends it: `{"lastUpdateId":..,"bids":[[p,q]..],"asks":..}`
/// (futures add `E` and `T`, ignored).
#[derive(Debug, Deserialize)]
pub(crate) struct DepthSnapshot {
    /// The book's update id.
    #[serde(rename = "lastUpdateId")]
    pub(crate) last_update_id: u64,
    /// Bids, best first.
    pub(crate) bids: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// Asks, best first.
    pub(crate) asks: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

/// Why a snapshot could not be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// 429 (over the limit) or 418 (banned): nobody may ask again before `retry_after`.
    Limited {
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`.
        retry_after: Duration,
    },
    /// Anything else: a connection error, another status, a body that is not a snapshot.
    Failed(String),
}

/// A fetched snapshot and the weight the server says this IP has used this minute.
#[derive(Debug)]
pub(crate) struct Fetched {
    /// The snapshot.
    pub(crate) snapshot: DepthSnapshot,
    /// `X-MBX-USED-WEIGHT-1M`, when sent.
    pub(crate) used_weight: Option<u64>,
}

/// Where snapshots come from, and the HTTP agent that fetches them.
pub(crate) struct SnapshotClient {
    agent: ureq::Agent,
    /// `https://api.binance.com`, or what `--rest-endpoint`/`--endpoint` says; no trailing `/`.
    base: String,
    /// `/api/v3/depth`, `/fapi/v1/depth` or `/dapi/v1/depth`.
    path: &'static str,
}

/// The REST base URL Binance serves `market`'s snapshots from (PROTOCOL.md §1).
pub(crate) fn market_rest_base(market: Market) -> &'static str {
    match market {
        Market::Spot => "https://api.binance.com",
        Market::Futures => "https://fapi.binance.com",
        Market::CoinFutures => "https://dapi.binance.com",
        Market::Testnet => "https://testnet.binance.vision",
        Market::Us => "https://api.binance.us",
    }
}

/// The snapshot path of `market`.
pub(crate) fn depth_path(market: Market) -> &'static str {
    match market {
        Market::Futures => "/fapi/v1/depth",
        Market::CoinFutures => "/dapi/v1/depth",
        Market::Spot | Market::Testnet | Market::Us => "/api/v3/depth",
    }
}

impl SnapshotClient {
    /// A client for `market`'s snapshots at `base`, trusting `ca_certs` (DER) instead of
    /// the system's roots when any are given.
    pub(crate) fn new(market: Market, base: &str, ca_certs: &[Vec<u8>]) -> Self {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        let roots = if ca_certs.is_empty() {
            RootCerts::PlatformVerifier
        } else {
            RootCerts::new_with_certs(
                &ca_certs
                    .iter()
                    .map(|der| Certificate::from_der(der).to_owned())
                    .collect::<Vec<_>>(),
            )
        };
        let tls = TlsConfig::builder()
            .provider(TlsProvider::NativeTls)
            .root_certs(roots)
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .tls_config(tls)
            .build()
            .new_agent();
        Self {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            path: depth_path(market),
        }
    }

    /// The URL of `symbol`'s snapshot of `limit` levels.
    pub(crate) fn url(&self, symbol: &str, limit: usize) -> String {
        format!("{}{}?symbol={symbol}&limit={limit}", self.base, self.path)
    }

    /// Fetches `symbol`'s snapshot of `limit` levels a side.
    ///
    /// # Errors
    /// [`FetchError::Limited`] on 429/418, [`FetchError::Failed`] on anything else.
    pub(crate) fn fetch(&self, symbol: &str, limit: usize) -> Result<Fetched, FetchError> {
        let url = self.url(symbol, limit);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|error| FetchError::Failed(format!("GET {url}: {error}")))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
        };
        let used_weight = header("x-mbx-used-weight-1m");
        if status == 429 || status == 418 {
            let retry_after =
                header("retry-after").map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
            return Err(FetchError::Limited {
                status,
                retry_after,
            });
        }
        if status != 200 {
            return Err(FetchError::Failed(format!("GET {url}: HTTP {status}")));
        }
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY_BYTES)
            .read_to_string()
            .map_err(|error| FetchError::Failed(format!("GET {url}: {error}")))?;
        let snapshot = parse_snapshot(&body).map_err(|error| {
            FetchError::Failed(format!("GET {url}: not a depth snapshot: {error}"))
        })?;
        Ok(Fetched {
            snapshot,
            used_weight,
        })
    }
}

/// Parses a snapshot body.
///
/// # Errors
/// The body is not a depth snapshot.
pub(crate) fn parse_snapshot(body: &str) -> serde_json::Result<DepthSnapshot> {
    serde_json::from_str::<DepthSnapshot>(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_parse_in_both_shapes() {
        let spot = r#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#;
        let parsed = parse_snapshot(spot).unwrap();
        assert_eq!(parsed.last_update_id, 1027024);
        assert_eq!(parsed.bids[0].0, "4.00000000");
        let futures = r#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[]}"#;
        assert_eq!(parse_snapshot(futures).unwrap().asks.len(), 0);
        assert!(parse_snapshot(r#"{"code":-1121,"msg":"Invalid symbol."}"#).is_err());
    }

    #[test]
    fn urls_follow_the_market() {
        let client = SnapshotClient::new(Market::Futures, "http://127.0.0.1:9/", &[]);
        assert_eq!(
            client.url("BTCUSDT", 100),
            "http://127.0.0.1:9/fapi/v1/depth?symbol=BTCUSDT&limit=100"
        );
        assert_eq!(
            market_rest_base(Market::CoinFutures),
            "https://dapi.binance.com"
        );
        assert_eq!(depth_path(Market::Us), "/api/v3/depth");
    }
}
