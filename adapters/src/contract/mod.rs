//! The adapter contract suite (being written).
