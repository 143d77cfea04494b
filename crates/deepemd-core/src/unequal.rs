//! What "the EMD" of two clouds of different sizes means: the caller picks one of two named
//! conventions (see `docs/math.md`, "Unequal sizes").

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The quantity computed when the clouds have different sizes `n ≠ m`. For `n = m` both
/// conventions are the EMD of the optimal bijection and give the same value.
///
/// ```
/// use deepemd_core::Unequal;
/// assert_eq!(Unequal::default(), Unequal::Uniform);
/// assert_eq!("uniform".parse::<Unequal>().unwrap(), Unequal::Uniform);
/// assert_eq!(Unequal::Partial.to_string(), "partial");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Unequal {
    /// Every point of the smaller cloud is matched to a distinct point of the larger one; the
    /// rest of the larger cloud is ignored. The value is the mean cost over the smaller cloud
    /// (what the DeepEMD model learns and what `linear_sum_assignment` gives on a rectangular
    /// matrix; for a partial scan against a complete shape).
    Partial,
    /// Optimal transport between the uniform distributions (weight `1/n` on each point of one
    /// cloud, `1/m` on each of the other): every point is used, mass may split. The value POT's
    /// `ot.emd2` gives with uniform weights; the result is a sparse transport plan. The default:
    /// the literature's EMD for n ≠ m, and the one that gives every point of both clouds a
    /// gradient (a loss under `Partial` never pulls the larger cloud's unmatched points).
    #[default]
    Uniform,
}

impl Unequal {
    /// Both conventions.
    pub const ALL: [Unequal; 2] = [Unequal::Partial, Unequal::Uniform];

    /// The convention's name, as the CLI and the JSON spell it.
    pub fn name(self) -> &'static str {
        match self {
            Unequal::Partial => "partial",
            Unequal::Uniform => "uniform",
        }
    }
}

impl fmt::Display for Unequal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Unequal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Unequal::ALL
            .into_iter()
            .find(|u| u.name() == s)
            .ok_or_else(|| {
                Error::InvalidParameter(format!(
                    "unknown unequal-size convention '{s}' (expected partial or uniform)"
                ))
            })
    }
}
