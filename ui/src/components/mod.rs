//! The shell's components. [`App`] owns the state and the effects; everything below it
//! takes props (or reads the state from context) and raises actions.

mod alerts;
mod app;
mod banners;
mod call;
mod footer;
mod forms;
mod header;
mod icons;
mod review;
mod settings;
mod tile;
mod wall;

pub use app::App;
