//! Polygon faces into triangles. A convex polygon is split into a fan from its first vertex
//! (what every mesh tool does, and what this crate always did); a concave one by ear clipping
//! in its plane, so no triangle lies outside the face. A polygon that is neither — one that
//! crosses itself — is refused, naming the face. The geometry is judged in the mesh's unit
//! frame (coordinates scaled by a power of two into [−1, 1]), so no test depends on the mesh's
//! units.

/// Most vertices of a concave polygon that ear clipping (O(k³) at worst) is asked to split.
pub(crate) const MAX_CONCAVE_VERTICES: usize = 256;

/// Why a polygon could not be split.
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// A concave polygon of more than [`MAX_CONCAVE_VERTICES`] vertices.
    TooManyVertices(usize),
    /// No ear could be cut: the polygon crosses itself.
    SelfIntersecting,
}

/// The triangles of the polygon `face` (vertex indices) over `points` (the unit frame).
pub(crate) fn triangulate(face: &[usize], points: &[[f64; 3]]) -> Result<Vec<[usize; 3]>, Refusal> {
    if face.len() == 3 {
        return Ok(vec![[face[0], face[1], face[2]]]);
    }
    let plane = project_to_plane(face, points);
    if is_convex(&plane) {
        return Ok((1..face.len() - 1)
            .map(|k| [face[0], face[k], face[k + 1]])
            .collect());
    }
    if face.len() > MAX_CONCAVE_VERTICES {
        return Err(Refusal::TooManyVertices(face.len()));
    }
    if crosses_itself(&plane) {
        return Err(Refusal::SelfIntersecting);
    }
    ear_clip(face, &plane)
}

/// The polygon's vertices in 2-D: its plane's normal by Newell's method, then the coordinate
/// along the normal's largest component dropped; the order is made counter-clockwise.
fn project_to_plane(face: &[usize], points: &[[f64; 3]]) -> Vec<[f64; 2]> {
    let mut normal = [0.0; 3];
    for (k, &i) in face.iter().enumerate() {
        let (p, q) = (points[i], points[face[(k + 1) % face.len()]]);
        normal[0] += (p[1] - q[1]) * (p[2] + q[2]);
        normal[1] += (p[2] - q[2]) * (p[0] + q[0]);
        normal[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    let drop = (0..3)
        .max_by(|&a, &b| normal[a].abs().total_cmp(&normal[b].abs()))
        .unwrap_or(2);
    let (u, v) = match drop {
        0 => (1, 2),
        1 => (2, 0),
        _ => (0, 1),
    };
    let flip = normal[drop] < 0.0;
    face.iter()
        .map(|&i| {
            let p = points[i];
            if flip { [p[v], p[u]] } else { [p[u], p[v]] }
        })
        .collect()
}

/// The sine-like turn at `b` from `a` to `c`: the cross product of the two edges over their
/// lengths' product (0 for a degenerate corner).
fn turn(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    let (e, f) = ([b[0] - a[0], b[1] - a[1]], [c[0] - b[0], c[1] - b[1]]);
    let cross = e[0] * f[1] - e[1] * f[0];
    let lengths = e[0].hypot(e[1]) * f[0].hypot(f[1]);
    if lengths > 0.0 { cross / lengths } else { 0.0 }
}

/// Corners whose turn is within this of zero are straight (collinear vertices).
const STRAIGHT: f64 = 1e-12;

/// Convex: no corner turns clockwise, and the corners' turning angles add up to one turn (a
/// star polygon turns left at every corner too, but winds twice).
fn is_convex(poly: &[[f64; 2]]) -> bool {
    let k = poly.len();
    let mut winding = 0.0;
    for i in 0..k {
        let (a, b, c) = (poly[(i + k - 1) % k], poly[i], poly[(i + 1) % k]);
        if turn(a, b, c) < -STRAIGHT {
            return false;
        }
        let (e, f) = ([b[0] - a[0], b[1] - a[1]], [c[0] - b[0], c[1] - b[1]]);
        winding += (e[0] * f[1] - e[1] * f[0]).atan2(e[0] * f[0] + e[1] * f[1]);
    }
    (winding - std::f64::consts::TAU).abs() < 1e-6
}

/// Whether two edges that share no vertex cross (properly: each separates the other's ends).
fn crosses_itself(poly: &[[f64; 2]]) -> bool {
    let k = poly.len();
    let orient = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).signum()
    };
    (0..k).any(|i| {
        let (a, b) = (poly[i], poly[(i + 1) % k]);
        (i + 2..k).filter(|&j| (j + 1) % k != i).any(|j| {
            let (c, d) = (poly[j], poly[(j + 1) % k]);
            orient(a, b, c) * orient(a, b, d) < 0.0 && orient(c, d, a) * orient(c, d, b) < 0.0
        })
    })
}

/// Whether `p` lies inside or on the triangle `a b c` (counter-clockwise).
fn in_triangle(p: [f64; 2], a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> bool {
    let side =
        |u: [f64; 2], v: [f64; 2]| (v[0] - u[0]) * (p[1] - u[1]) - (v[1] - u[1]) * (p[0] - u[0]);
    side(a, b) >= 0.0 && side(b, c) >= 0.0 && side(c, a) >= 0.0
}

/// Ear clipping: repeatedly cut a convex corner whose triangle holds no other vertex; when
/// none is left, a straight corner (a zero-area triangle, which keeps the face's edges).
fn ear_clip(face: &[usize], plane: &[[f64; 2]]) -> Result<Vec<[usize; 3]>, Refusal> {
    let mut left: Vec<usize> = (0..face.len()).collect();
    let mut triangles = Vec::with_capacity(face.len() - 2);
    while left.len() > 3 {
        let k = left.len();
        let corner = |i: usize| (left[(i + k - 1) % k], left[i], left[(i + 1) % k]);
        let is_ear = |i: usize| {
            let (a, b, c) = corner(i);
            turn(plane[a], plane[b], plane[c]) > STRAIGHT
                && left
                    .iter()
                    .filter(|&&j| {
                        j != a
                            && j != b
                            && j != c
                            && plane[j] != plane[a]
                            && plane[j] != plane[b]
                            && plane[j] != plane[c]
                    })
                    .all(|&j| !in_triangle(plane[j], plane[a], plane[b], plane[c]))
        };
        let straight = |i: usize| {
            let (a, b, c) = corner(i);
            turn(plane[a], plane[b], plane[c]).abs() <= STRAIGHT
        };
        let cut = (0..k)
            .find(|&i| is_ear(i))
            .or_else(|| (0..k).find(|&i| straight(i)))
            .ok_or(Refusal::SelfIntersecting)?;
        let (a, b, c) = corner(cut);
        triangles.push([face[a], face[b], face[c]]);
        left.remove(cut);
    }
    triangles.push([face[left[0]], face[left[1]], face[left[2]]]);
    Ok(triangles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area2(t: [usize; 3], p: &[[f64; 3]]) -> f64 {
        let [a, b, c] = t.map(|i| p[i]);
        ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs()
    }

    fn polygon_area2(p: &[[f64; 3]]) -> f64 {
        let k = p.len();
        (0..k)
            .map(|i| p[i][0] * p[(i + 1) % k][1] - p[(i + 1) % k][0] * p[i][1])
            .sum::<f64>()
            .abs()
    }

    /// Every triangle's centroid lies inside the polygon (even-odd rule), and the triangles'
    /// areas add up to the polygon's.
    fn check_inside(points: &[[f64; 3]]) {
        let face: Vec<usize> = (0..points.len()).collect();
        let tris = triangulate(&face, points).unwrap();
        assert_eq!(tris.len(), points.len() - 2);
        let total: f64 = tris.iter().map(|&t| area2(t, points)).sum();
        assert!((total - polygon_area2(points)).abs() < 1e-9, "{total}");
        for t in tris {
            let [a, b, c] = t.map(|i| points[i]);
            if area2(t, points) < 1e-12 {
                continue;
            }
            let g = [(a[0] + b[0] + c[0]) / 3.0, (a[1] + b[1] + c[1]) / 3.0];
            let k = points.len();
            let crossings = (0..k)
                .filter(|&i| {
                    let (p, q) = (points[i], points[(i + 1) % k]);
                    (p[1] > g[1]) != (q[1] > g[1])
                        && g[0] < p[0] + (g[1] - p[1]) / (q[1] - p[1]) * (q[0] - p[0])
                })
                .count();
            assert!(crossings % 2 == 1, "triangle {t:?} is outside the polygon");
        }
    }

    #[test]
    fn concave_polygons_are_split_inside_themselves() {
        // An L, an arrow (the fan from vertex 0 leaves the face), a comb, both orientations,
        // with a straight corner, and tilted out of every coordinate plane.
        let l = vec![
            [0., 0., 0.],
            [2., 0., 0.],
            [2., 1., 0.],
            [1., 1., 0.],
            [1., 2., 0.],
            [0., 2., 0.],
        ];
        let arrow = vec![[1., 0.5, 0.], [0., 0., 0.], [2., 1., 0.], [0., 2., 0.]];
        let mut comb = vec![[0., 0., 0.], [5., 0., 0.], [5., 2., 0.]];
        for t in 0..4 {
            let x = 4.0 - t as f64;
            comb.extend([[x + 0.5, 1., 0.], [x, 2., 0.]]);
        }
        let straight = vec![
            [0., 0., 0.],
            [1., 0., 0.],
            [2., 0., 0.],
            [2., 2., 0.],
            [1., 0.5, 0.],
            [0., 2., 0.],
        ];
        for poly in [l, arrow, comb, straight] {
            check_inside(&poly);
            let mut reversed = poly.clone();
            reversed.reverse();
            check_inside(&reversed);
        }
        // The arrow's fan from vertex 0 would be wrong: ear clipping does not use it.
        let arrow = [[1., 0.5, 0.], [0., 0., 0.], [2., 1., 0.], [0., 2., 0.]];
        assert!(!is_convex(&project_to_plane(&[0, 1, 2, 3], &arrow)));
        // Tilted: the same L rotated about x then z; the split covers the same area.
        let tilted: Vec<[f64; 3]> = [[0., 0.], [2., 0.], [2., 1.], [1., 1.], [1., 2.], [0., 2.]]
            .iter()
            .map(|&[x, y]| {
                let (c, s) = (0.6f64, 0.8f64);
                let p = [x, c * y, s * y];
                [c * p[0] - s * p[1], s * p[0] + c * p[1], p[2]]
            })
            .collect();
        let tris = triangulate(&[0, 1, 2, 3, 4, 5], &tilted).unwrap();
        assert_eq!(tris.len(), 4);
    }

    #[test]
    fn convex_polygons_keep_their_fan_and_crossing_ones_are_refused() {
        let hexagon: Vec<[f64; 3]> = (0..6)
            .map(|k| {
                let t = k as f64 * std::f64::consts::TAU / 6.0;
                [t.cos(), t.sin(), 0.3]
            })
            .collect();
        let face: Vec<usize> = (0..6).collect();
        let fan: Vec<[usize; 3]> = (1..5).map(|k| [0, k, k + 1]).collect();
        assert_eq!(triangulate(&face, &hexagon).unwrap(), fan);
        // A pentagram turns left at every corner but winds twice; a bow tie crosses itself.
        let star: Vec<[f64; 3]> = (0..5)
            .map(|k| {
                let t = (2 * k) as f64 * std::f64::consts::TAU / 5.0;
                [t.cos(), t.sin(), 0.0]
            })
            .collect();
        assert!(!is_convex(&project_to_plane(&[0, 1, 2, 3, 4], &star)));
        let bow_tie = [[0., 0., 0.], [1., 1., 0.], [1., 0., 0.], [0., 1., 0.]];
        assert_eq!(
            triangulate(&[0, 1, 2, 3], &bow_tie),
            Err(Refusal::SelfIntersecting)
        );
        // A large concave polygon is refused rather than clipped in O(k³).
        let mut big: Vec<[f64; 3]> = (0..300)
            .map(|k| {
                let t = k as f64 * std::f64::consts::TAU / 300.0;
                let r = if k % 2 == 0 { 1.0 } else { 0.5 };
                [r * t.cos(), r * t.sin(), 0.0]
            })
            .collect();
        big.truncate(300);
        let face: Vec<usize> = (0..300).collect();
        assert_eq!(triangulate(&face, &big), Err(Refusal::TooManyVertices(300)));
    }
}
