//! The `neurite` command. For now: `neurite xor`, the course's two-layer network trained on XOR
//! by plain gradient descent with core tensors. Issue #7 turns this into the full `neurite train`.
#![forbid(unsafe_code)]

fn main() {}
