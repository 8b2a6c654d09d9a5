//! Stem supervisor engine.
