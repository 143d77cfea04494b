//! Helpers of this crate's tests.

use deepemd_core::PointCloud;
use serde_json::Value;

/// The 3-D clouds of a fixture (`[[[x, y, z], …], …]`).
pub fn clouds(v: &Value) -> Vec<PointCloud> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|cloud| {
            let flat: Vec<f64> = cloud
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|p| p.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                .collect();
            PointCloud::from_flat(3, flat).unwrap()
        })
        .collect()
}
