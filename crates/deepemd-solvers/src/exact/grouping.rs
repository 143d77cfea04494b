//! Coarsening a cloud for the multiscale starts: groups of spatially consecutive points (runs
//! of a k-d tree's order) replaced by their centroids.

use deepemd_core::{Cost, PointCloud, Result};

use super::kdtree::KdTree;

/// One cloud grouped: each point's group, the groups' centroids, and the mean cost from a
/// point to its centroid (the coarsening's own error).
pub(crate) struct Grouping {
    pub group_of: Vec<u32>,
    pub centroids: PointCloud,
    pub spread: f64,
}

/// Groups `cloud` into runs of `size` points of a k-d tree's order (the last run may be
/// shorter), so two clouds of equal size have equally many groups.
pub(crate) fn group(cloud: &PointCloud, cost: Cost, size: usize) -> Result<Grouping> {
    let tree = KdTree::new(cloud);
    let dim = cloud.dim();
    let mut group_of = vec![0u32; cloud.len()];
    let mut flat = Vec::with_capacity(cloud.len().div_ceil(size) * dim);
    for (g, members) in tree.order().chunks(size).enumerate() {
        let mut c = vec![0.0; dim];
        for &i in members {
            group_of[i as usize] = g as u32;
            for (x, p) in c.iter_mut().zip(cloud.point(i as usize)) {
                *x += p;
            }
        }
        flat.extend(c.iter().map(|x| x / members.len() as f64));
    }
    let centroids = PointCloud::from_flat(dim, flat)?;
    let spread = (0..cloud.len())
        .map(|i| cost.between(cloud.point(i), centroids.point(group_of[i] as usize)))
        .sum::<f64>()
        / cloud.len() as f64;
    Ok(Grouping {
        group_of,
        centroids,
        spread,
    })
}
