pub mod calibrate;
pub mod face;
pub mod serve;
pub mod watch;
