//! [`Shutdown`]: the signal that the [`crate::Server`] is gone. Tasks that live on their own
//! (a subscriber's connection, a browser's peer) wait on it beside their work, so that dropping
//! the server ends them and closes their sockets.

use tokio::sync::watch;

/// The server's half: dropping it (or [`ShutdownTrigger::fire`]) ends every waiting task.
pub struct ShutdownTrigger(watch::Sender<bool>);

/// A task's half; cheap to clone.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (trigger, signal) = watch::channel(false);
    (ShutdownTrigger(trigger), Shutdown(signal))
}

impl ShutdownTrigger {
    pub fn fire(&self) {
        self.0.send_replace(true);
    }
}

impl Drop for ShutdownTrigger {
    fn drop(&mut self) {
        self.fire();
    }
}

impl Shutdown {
    /// Resolves once the server is shutting down.
    pub async fn wait(mut self) {
        // An error means the trigger is gone: shutting down as well.
        let _ = self.0.wait_for(|down| *down).await;
    }
}
