pub mod serve;
pub mod watch;
