//! Test kit (feature `testing`): the store conformance suite, the given/when/then helper,
//! proptest strategies and a reference state machine of the meeting lifecycle.
//!
//! # Layout
//! - [`conformance`] : `run_all(factory)` checks a store against the contract of [`crate::store`].
//! - [`fuzz`] : the bodies of the cargo-fuzz targets, replayed on stable by a test.
//! - [`kit`] : `MeetingTest::given(events).when(command).then_expect(events)`.
//! - [`strategies`] : proptest strategies for commands and events.
//! - [`model`] : a reference model of the lifecycle, runnable against any store through the engine.

pub mod conformance;
pub mod fuzz;
pub mod kit;
pub mod model;
pub mod strategies;
