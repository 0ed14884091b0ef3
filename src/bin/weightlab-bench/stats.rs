//! The statistics of the figures: medians over rounds, and the CPU's peak against which
//! GFLOP/s are read.

use serde_json::{json, Value};

pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// The peak per core a `peak` sample measured.
pub(crate) fn peak_gflops(sample: &Value) -> f64 {
    sample["peak_gflops_per_core"].as_f64().unwrap_or(f64::NAN)
}

/// The sample with the highest peak, with every sample's peak listed beside it.
pub(crate) fn best_peak(samples: &[Value]) -> Value {
    let mut best = samples
        .iter()
        .max_by(|a, b| peak_gflops(a).total_cmp(&peak_gflops(b)))
        .cloned()
        .unwrap_or(Value::Null);
    best["samples_gflops_per_core"] = samples.iter().map(peak_gflops).collect();
    best["chosen"] = json!("the best of the samples taken before and after every comparison");
    best
}

/// Adds `fraction_of_peak` to every system of a [`compare`] row: its GFLOP/s over
/// `peak_gflops` per core times the row's threads.
pub(crate) fn add_fraction_of_peak(row: &mut Value, peak_gflops: f64) {
    let threads = row["threads"].as_f64().unwrap_or(f64::NAN);
    if let Some(systems) = row["by_system"].as_object_mut() {
        for system in systems.values_mut() {
            let fraction = system["gflops"]
                .as_f64()
                .map(|g| g / (peak_gflops * threads));
            system["fraction_of_peak"] = json!(fraction);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample taken while the core was slowed reads low: the best one is the peak, and the
    /// fractions divide by it times the row's threads.
    #[test]
    fn the_best_peak_sample_divides_the_gflops() {
        let samples: Vec<Value> = [95.9, 117.3, 110.0]
            .iter()
            .map(|p| json!({ "peak_gflops_per_core": p, "clock_ghz": p / 32.0 }))
            .collect();
        let peak = best_peak(&samples);
        assert_eq!(peak_gflops(&peak), 117.3);
        assert_eq!(peak["clock_ghz"], json!(117.3 / 32.0));
        assert_eq!(peak["samples_gflops_per_core"], json!([95.9, 117.3, 110.0]));
        let mut row = json!({
            "threads": 2,
            "by_system": { "weightlab": { "gflops": 117.3 }, "plain": { "gflops": null } },
        });
        add_fraction_of_peak(&mut row, peak_gflops(&peak));
        assert_eq!(
            row["by_system"]["weightlab"]["fraction_of_peak"],
            json!(0.5)
        );
        assert_eq!(row["by_system"]["plain"]["fraction_of_peak"], Value::Null);
    }
}
