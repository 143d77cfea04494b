//! The EMD methods by name: the one spelling the CLI, the tables, the figures and the benches
//! use.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// An EMD method. Its [`Display`](fmt::Display) and [`FromStr`] spellings (`exact`,
/// `hungarian`, `sinkhorn`, `model`) are the only ones used anywhere.
///
/// ```
/// use deepemd_core::Method;
/// assert_eq!("exact".parse::<Method>().unwrap(), Method::Exact);
/// assert_eq!(Method::Sinkhorn.to_string(), "sinkhorn");
/// assert!("scipy".parse::<Method>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// The certified fast exact solver.
    Exact,
    /// The exact reference (scipy's algorithm).
    Hungarian,
    /// The entropic approximation.
    Sinkhorn,
    /// The DeepEMD network.
    Model,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 4] = [
        Method::Exact,
        Method::Hungarian,
        Method::Sinkhorn,
        Method::Model,
    ];

    /// The method's name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Hungarian => "hungarian",
            Method::Sinkhorn => "sinkhorn",
            Method::Model => "model",
        }
    }

    /// Whether the method returns the exact EMD.
    pub fn is_exact(self) -> bool {
        matches!(self, Method::Exact | Method::Hungarian)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Method::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
                Error::InvalidParameter(format!(
                    "unknown method '{s}' (expected {})",
                    names.join(", ")
                ))
            })
    }
}
