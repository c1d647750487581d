pub mod calibrate;
pub mod serve;
pub mod watch;
