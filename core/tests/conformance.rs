//! The backend conformance suite, run on the reference backend that core ships.

neurite_core::conformance_suite!(neurite_core::reference::ReferenceBackend);
