//! [`InputLatency`]: the time each input takes through its source and the engine, a histogram
//! per source kind that the shells feed and `/metrics` reports.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// Seconds one input takes through its source and the engine, by source kind: 10 µs to ~40 ms.
/// Cloning shares it: the shells observe, the HTTP route encodes.
#[derive(Clone)]
pub struct InputLatency(Family<KindLabels, Histogram>);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    kind: String,
}

fn input_histogram() -> Histogram {
    Histogram::new(exponential_buckets(10e-6, 2.0, 13))
}

impl Default for InputLatency {
    fn default() -> Self {
        InputLatency(Family::new_with_constructor(input_histogram))
    }
}

impl InputLatency {
    /// Records one input of a `kind` source that took `seconds`.
    pub fn observe(&self, kind: &str, seconds: f64) {
        self.0
            .get_or_create(&KindLabels { kind: kind.into() })
            .observe(seconds);
    }

    /// The histograms, for encoding.
    pub fn family(&self) -> Family<KindLabels, Histogram> {
        self.0.clone()
    }
}
