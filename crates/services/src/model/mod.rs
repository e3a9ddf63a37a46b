//! The app definition in canonical form: every default filled in, deprecated fields moved to
//! their replacements. It serializes to exactly the keys Marathon's `GET /v2/apps` shows for an
//! app (empty optional collections left out, as Marathon's generated writers do) and is
//! stored in that same form.

pub mod app;
pub mod checks;
pub mod constraint;
pub mod ports;
pub mod strategy;

pub use app::App;
