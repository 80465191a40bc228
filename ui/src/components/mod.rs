//! The shell's components. [`App`] owns the state; everything below it takes props
//! (or reads the state from context) and raises actions.

mod app;
mod footer;
mod header;
mod wall;

pub use app::App;
