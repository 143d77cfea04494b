//! [`LossKind`]: the five reconstruction losses of the experiment, one spelling each.

use std::fmt;
use std::str::FromStr;

use deepemd_core::Method;
use deepemd_methods::MethodSpec;
use deepemd_model::Rounding;

use crate::error::Error;

/// A reconstruction loss of the VAE experiment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum LossKind {
    /// Chamfer distance, both directions, squared nearest-neighbour distances averaged
    /// (PointFlow's convention; docs/math.md).
    Chamfer,
    /// The exact EMD (the certified solver), its optimal matching held fixed.
    Exact,
    /// The DeepEMD model's estimate with the row-argmax matching (the paper's).
    DeepEmd,
    /// The DeepEMD model with the bijective refined rounding.
    DeepEmdRefined,
    /// Sinkhorn's transport cost ⟨P, C⟩ with its plan held fixed.
    Sinkhorn,
}

impl LossKind {
    /// Every loss, in the order of the tables.
    pub const ALL: [LossKind; 5] = [
        LossKind::Chamfer,
        LossKind::Exact,
        LossKind::DeepEmd,
        LossKind::DeepEmdRefined,
        LossKind::Sinkhorn,
    ];

    /// The name used on the command line, in run folders and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Chamfer => "chamfer",
            LossKind::Exact => "exact",
            LossKind::DeepEmd => "deepemd",
            LossKind::DeepEmdRefined => "deepemd-refined",
            LossKind::Sinkhorn => "sinkhorn",
        }
    }

    /// The EMD method behind the loss; `None` for Chamfer.
    pub fn method(self) -> Option<MethodSpec> {
        match self {
            LossKind::Chamfer => None,
            LossKind::Exact => Some(Method::Exact.into()),
            LossKind::DeepEmd => Some(MethodSpec::model(Rounding::RowArgmax)),
            LossKind::DeepEmdRefined => Some(MethodSpec::model(Rounding::REFINED)),
            LossKind::Sinkhorn => Some(Method::Sinkhorn.into()),
        }
    }
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LossKind {
    type Err = Error;

    /// A loss's table name (`deepemd-refined`), or the method behind it as [`MethodSpec`]
    /// spells it (`model/refined`): the `method` a JSON result prints is accepted here too.
    fn from_str(s: &str) -> Result<Self, Error> {
        let by_name = LossKind::ALL.into_iter().find(|k| k.name() == s);
        let by_method = || {
            let spec = s.parse::<MethodSpec>().ok()?;
            LossKind::ALL.into_iter().find(|k| k.method() == Some(spec))
        };
        by_name.or_else(by_method).ok_or_else(|| {
            let names: Vec<&str> = LossKind::ALL.iter().map(|k| k.name()).collect();
            Error::Config(format!(
                "unknown loss '{s}'; the losses are {} (or their methods: exact, model, \
                 model/refined, sinkhorn)",
                names.join(", ")
            ))
        })
    }
}

impl TryFrom<String> for LossKind {
    type Error = Error;

    fn try_from(s: String) -> Result<Self, Error> {
        s.parse()
    }
}

impl From<LossKind> for String {
    fn from(k: LossKind) -> String {
        k.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for k in LossKind::ALL {
            assert_eq!(k.name().parse::<LossKind>().unwrap(), k);
        }
        let err = "emd".parse::<LossKind>().unwrap_err().to_string();
        assert!(
            err.contains("'emd'") && err.contains("deepemd-refined"),
            "{err}"
        );
        // Hungarian is a method but not one of the experiment's losses.
        assert!("hungarian".parse::<LossKind>().is_err());
    }

    #[test]
    fn the_method_a_result_prints_names_its_loss() {
        for k in LossKind::ALL {
            if let Some(spec) = k.method() {
                assert_eq!(spec.to_string().parse::<LossKind>().unwrap(), k, "{spec}");
            }
        }
        let err = "model/nope".parse::<LossKind>().unwrap_err().to_string();
        assert!(
            err.contains("'model/nope'") && err.contains("model/refined"),
            "{err}"
        );
    }
}
