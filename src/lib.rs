//! Thresher: a daemon that turns news feeds into clean articles.
//!
//! The modules follow the pipeline, in order:
//! [`config`] → [`schedule`] → [`fetch`] → [`feed`] → [`clean`] → [`dedup`] → [`sink`],
//! wired together by [`pipeline`], with persistent [`state`] and [`telemetry`]
//! beside them. [`article`] holds the records passed between stages.

pub mod article;
pub mod clean;
pub mod config;
pub mod dedup;
pub mod feed;
pub mod fetch;
pub mod pipeline;
pub mod schedule;
pub mod sink;
pub mod state;
pub mod telemetry;
