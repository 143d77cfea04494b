//! Polygon faces into triangles. A convex polygon is split into a fan from its first vertex
//! (what every mesh tool does, and what this crate always did); a concave one by ear clipping
//! in its plane, so no triangle lies outside the face. A polygon that is neither — one that
//! crosses itself — is refused, naming the face. The geometry is judged in the mesh's unit
//! frame (coordinates scaled by a power of two into [−1, 1]), so no test depends on the mesh's
//! units.

/// Most vertices of a concave polygon that ear clipping (O(k³) at worst: 2.6·10⁵ steps at 64)
/// is asked to split.
pub(crate) const MAX_CONCAVE_VERTICES: usize = 64;

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
    let plane = match project_to_plane(face, points) {
        Plane::Polygon(plane) => plane,
        // All on a line: zero area, nothing to sample, and the fan keeps the face's edges.
        Plane::Collinear => {
            return Ok((1..face.len() - 1)
                .map(|k| [face[0], face[k], face[k + 1]])
                .collect());
        }
        // Not on a line, yet no net area: lobes of opposite orientation cancel.
        Plane::NoNetArea => return Err(Refusal::SelfIntersecting),
    };
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

/// What a polygon is in its plane.
enum Plane {
    /// Its vertices in 2-D, counter-clockwise.
    Polygon(Vec<[f64; 2]>),
    /// Every vertex on one line.
    Collinear,
    /// Vertices off a line, but a net area of zero (a symmetric bow tie): it crosses itself.
    NoNetArea,
}

/// Areas (and squared lengths) below this, in the unit frame, count as zero.
const ZERO_AREA: f64 = 1e-24;

/// The polygon's vertices in 2-D: its plane's normal by Newell's method (twice the vector area),
/// then the coordinate along the normal's largest component dropped; the order is made
/// counter-clockwise.
fn project_to_plane(face: &[usize], points: &[[f64; 3]]) -> Plane {
    let mut normal = [0.0; 3];
    for (k, &i) in face.iter().enumerate() {
        let (p, q) = (points[i], points[face[(k + 1) % face.len()]]);
        normal[0] += (p[1] - q[1]) * (p[2] + q[2]);
        normal[1] += (p[2] - q[2]) * (p[0] + q[0]);
        normal[2] += (p[0] - q[0]) * (p[1] + q[1]);
    }
    if normal.iter().map(|x| x * x).sum::<f64>() <= ZERO_AREA {
        // The largest triangle on the first vertex tells a line from cancelling lobes.
        let p0 = points[face[0]];
        let largest = face.windows(2).fold(0.0f64, |m, w| {
            let (a, b) = (points[w[0]], points[w[1]]);
            let (u, v) = (sub(a, p0), sub(b, p0));
            let c = [
                u[1] * v[2] - u[2] * v[1],
                u[2] * v[0] - u[0] * v[2],
                u[0] * v[1] - u[1] * v[0],
            ];
            m.max(c.iter().map(|x| x * x).sum())
        });
        return if largest <= ZERO_AREA {
            Plane::Collinear
        } else {
            Plane::NoNetArea
        };
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
    Plane::Polygon(
        face.iter()
            .map(|&i| {
                let p = points[i];
                if flip { [p[v], p[u]] } else { [p[u], p[v]] }
            })
            .collect(),
    )
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
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

/// Whether two edges that are not neighbours meet — cross, touch, or overlap on a line: a
/// simple polygon's edges meet only their neighbours, at their shared vertices.
fn crosses_itself(poly: &[[f64; 2]]) -> bool {
    let k = poly.len();
    // −1, 0 or 1: which side of a→b the point c is on (0 on the line).
    let orient = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        let x = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        if x > 0.0 {
            1
        } else if x < 0.0 {
            -1
        } else {
            0
        }
    };
    // For c on the line of a→b: whether it lies within the segment's box.
    let within = |a: [f64; 2], b: [f64; 2], c: [f64; 2]| {
        c[0] >= a[0].min(b[0])
            && c[0] <= a[0].max(b[0])
            && c[1] >= a[1].min(b[1])
            && c[1] <= a[1].max(b[1])
    };
    let meet = |a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]| {
        let (o1, o2, o3, o4) = (
            orient(a, b, c),
            orient(a, b, d),
            orient(c, d, a),
            orient(c, d, b),
        );
        (o1 * o2 < 0 && o3 * o4 < 0)
            || (o1 == 0 && within(a, b, c))
            || (o2 == 0 && within(a, b, d))
            || (o3 == 0 && within(c, d, a))
            || (o4 == 0 && within(c, d, b))
    };
    (0..k).any(|i| {
        let (a, b) = (poly[i], poly[(i + 1) % k]);
        (i + 2..k)
            .filter(|&j| (j + 1) % k != i)
            .any(|j| meet(a, b, poly[j], poly[(j + 1) % k]))
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

    fn polygon(face: &[usize], points: &[[f64; 3]]) -> Vec<[f64; 2]> {
        match project_to_plane(face, points) {
            Plane::Polygon(p) => p,
            _ => panic!("not a polygon with an area"),
        }
    }

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
        let arrow = vec![[0.5, 1., 0.], [0., 0., 0.], [2., 1., 0.], [0., 2., 0.]];
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
        let arrow = [[0.5, 1., 0.], [0., 0., 0.], [2., 1., 0.], [0., 2., 0.]];
        assert!(!is_convex(&polygon(&[0, 1, 2, 3], &arrow)));
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
        assert!(!is_convex(&polygon(&[0, 1, 2, 3, 4], &star)));
        let bow_tie = [[0., 0., 0.], [1., 1., 0.], [1., 0., 0.], [0., 1., 0.]];
        assert_eq!(
            triangulate(&[0, 1, 2, 3], &bow_tie),
            Err(Refusal::SelfIntersecting)
        );
        // The same bow tie in a vertical plane (its lobes cancel, so no normal to project on),
        // a lopsided one (a net area, tilted), and a polygon whose vertex touches another edge.
        let upright = bow_tie.map(|[x, y, _]| [x, 0.0, y]);
        assert_eq!(
            triangulate(&[0, 1, 2, 3], &upright),
            Err(Refusal::SelfIntersecting)
        );
        let lopsided = [[0., 0., 0.], [2., 2., 1.], [2., 0., 1.], [0., 1., 0.]];
        assert_eq!(
            triangulate(&[0, 1, 2, 3], &lopsided),
            Err(Refusal::SelfIntersecting)
        );
        let touching = [
            [0., 0., 0.],
            [4., 0., 0.],
            [4., 2., 0.],
            [2., 0., 0.],
            [0., 2., 0.],
        ];
        let face: Vec<usize> = (0..5).collect();
        assert_eq!(
            triangulate(&face, &touching),
            Err(Refusal::SelfIntersecting)
        );
        // Every vertex on a line: zero area, kept (nothing of it is ever sampled).
        let line = [[0., 0., 0.], [1., 1., 1.], [2., 2., 2.], [3., 3., 3.]];
        assert_eq!(triangulate(&[0, 1, 2, 3], &line).unwrap().len(), 2);
        // A large concave polygon is refused rather than clipped in O(k³).
        let big: Vec<[f64; 3]> = (0..300)
            .map(|k| {
                let t = k as f64 * std::f64::consts::TAU / 300.0;
                let r = if k % 2 == 0 { 1.0 } else { 0.5 };
                [r * t.cos(), r * t.sin(), 0.0]
            })
            .collect();
        let face: Vec<usize> = (0..300).collect();
        assert_eq!(triangulate(&face, &big), Err(Refusal::TooManyVertices(300)));
    }
}
