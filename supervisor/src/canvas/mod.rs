//! Canvas at run time: a document becomes published tasks ([`expand`]), and each committed
//! outcome of a canvas task becomes its follow-ups ([`follow`]) — the next node of a chain, a
//! group's join and, from the member that completes a group, what follows the group (a chord's
//! body with the results in order), `link` and `link_error` callbacks — published by the same
//! fenced commit as the outcome, so each fires exactly once; the outcome that ends the canvas
//! settles its own record and marks the nodes that can never run ([`settle`]).

pub mod expand;
pub mod follow;
pub mod settle;
