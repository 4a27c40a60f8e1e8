//! `--simulate`: the mock exchange in-process, serving lively prices on a loopback port, so
//! a newcomer without network sees the listener work. Built only with the `simulate`
//! feature (on by default); without it the flag is refused as a usage error.

use binance_streams::{Endpoint, Market};
#[cfg(feature = "simulate")]
use tracing::info;

use crate::control::events::Fatal;

/// The running simulated exchange; dropping it stops it.
pub(super) struct Simulation {
    #[cfg(feature = "simulate")]
    mock: binance_mock::MockExchange,
}

impl Simulation {
    /// Where the listener connects.
    pub(super) fn endpoint(&self) -> Endpoint {
        #[cfg(feature = "simulate")]
        return Endpoint::loopback(self.mock.port());
        #[cfg(not(feature = "simulate"))]
        unreachable!("a Simulation cannot exist without the simulate feature")
    }
}

/// Starts the simulated exchange with `market`'s payload shapes.
///
/// # Errors
/// The exchange could not start (no loopback port, no thread).
#[cfg(feature = "simulate")]
pub(super) fn start(market: Market, rate: f64) -> Result<Simulation, Fatal> {
    use binance_mock::{MockConfig, MockExchange, Rate};
    let futures = matches!(market, Market::Futures | Market::CoinFutures);
    let mock = MockExchange::start(
        MockConfig::simulation()
            .rate(Rate::PerSecond(rate))
            .futures(futures),
    )
    .map_err(|error| Fatal(format!("cannot start the simulated exchange: {error}")))?;
    info!("simulating an exchange at {}", mock.url());
    Ok(Simulation { mock })
}

/// Without the `simulate` feature there is nothing to start; the configuration refuses
/// `--simulate` before this could be reached.
///
/// # Errors
/// Always.
#[cfg(not(feature = "simulate"))]
pub(super) fn start(_market: Market, _rate: f64) -> Result<Simulation, Fatal> {
    Err(Fatal(
        "this binance-listen was built without the simulator (feature `simulate`)".to_owned(),
    ))
}
