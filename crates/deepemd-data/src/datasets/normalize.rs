//! ModelNet40's normalization: zero mean, unit largest distance from the center.

use deepemd_core::PointCloud;

/// Centers the cloud at its mean and scales it so the farthest point is at distance 1 (a cloud
/// of one repeated point is only centered).
pub fn normalize_unit_sphere(cloud: &PointCloud) -> PointCloud {
    let c = cloud.centroid();
    let r = cloud.max_radius_from(&c);
    let scale = if r > 0.0 { 1.0 / r } else { 1.0 };
    cloud
        .affine(&c, scale)
        .expect("a finite centroid and scale keep the cloud finite")
}
