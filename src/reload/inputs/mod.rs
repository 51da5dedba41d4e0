//! Where a reload enters: the config file's watcher and its debounce, the secret's file, SIGHUP, the
//! [`ReloadTrigger`], the [`Handle`] and the admin endpoint ([`admin`]). Each only sends a [`super::command::Command`]; none reads the config.

pub(crate) mod admin;
pub(crate) mod handle;
pub(crate) mod secret_files;
pub(crate) mod signal;
pub(crate) mod trigger;
pub(crate) mod watcher;

pub use handle::Handle;
pub use trigger::ReloadTrigger;
