//! Widgets shared by pages.
pub mod forms;
pub mod layout;
pub mod pager;
