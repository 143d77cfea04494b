//! Training pairs: a generator of pairs of clouds whose exact EMD values span a wide range,
//! shards of pairs with their exact matchings, and the resumable `prepare-pairs` pipeline.

mod generator;
mod labeled;
mod perturb;
mod prepare;
mod shard;

pub use generator::{Pair, PairGenerator, PairKind, PairMix};
pub use labeled::{LabeledPair, generate_labeled_pairs, label_pairs};
pub use prepare::{
    PAIRS_MANIFEST, PairSetOutput, PairsConfig, PrepareReport, prepare_pairs, read_pair_set,
};
pub use shard::PairShard;
