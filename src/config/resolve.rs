//! Settings that become more than their text: each symbol's delay out of the `--delay`
//! specs, and the CA certificates out of the `--ca-cert` file.

use std::path::Path;
use std::time::Duration;

use binance_streams::Symbol;
use native_tls::Certificate;

use super::UsageError;
use super::values::DelaySpec;

/// Each symbol's delay: its own spec, else the one for every symbol, else none. Later specs
/// (command line after file) win. A spec for a symbol not listened to is an error.
pub(super) fn resolve_delays(
    symbols: &[Symbol],
    specs: &[DelaySpec],
) -> Result<Vec<Duration>, UsageError> {
    let mut every: Option<Duration> = None;
    let mut own: Vec<Option<Duration>> = vec![None; symbols.len()];
    for spec in specs {
        match &spec.symbol {
            None => every = Some(spec.delay),
            Some(symbol) => match symbols.iter().position(|listened| listened == symbol) {
                Some(index) => own[index] = Some(spec.delay),
                None => {
                    let listened: Vec<&str> = symbols.iter().map(Symbol::as_str).collect();
                    return Err(UsageError(format!(
                        "invalid delay for '{symbol}': {symbol} is not one of the symbols listened to ({})",
                        listened.join(", ")
                    )));
                }
            },
        }
    }
    Ok(own
        .into_iter()
        .map(|delay| delay.or(every).unwrap_or(Duration::ZERO))
        .collect())
}

pub(super) fn load_ca_certs(path: &Path) -> Result<Vec<Certificate>, UsageError> {
    let pem = std::fs::read(path).map_err(|error| {
        UsageError(format!(
            "cannot read CA certificate file '{}': {error}",
            path.display()
        ))
    })?;
    match Certificate::stack_from_pem(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        _ => Err(UsageError(format!(
            "invalid CA certificate file '{}': expected one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
            path.display()
        ))),
    }
}
