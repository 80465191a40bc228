//! The shell's components. [`App`] owns the state and the effects; everything below it
//! takes props (or reads the state from context) and raises actions.

mod app;
mod banners;
mod footer;
mod header;
mod tile;
mod wall;

pub use app::App;
