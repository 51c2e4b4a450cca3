//! Thresher: a daemon that turns news feeds into clean articles.
//!
//! The modules follow the pipeline, in order:
//! [`config`] → [`schedule`] → [`fetch`] → [`source`] (with [`feed`]) → [`clean`] → [`dedup`] → [`sink`],
//! wired together by [`pipeline`], with persistent [`state`] and [`telemetry`]
//! beside them; [`roster`] holds the sources being followed (swapped on
//! reload). [`article`] holds the records passed between stages;
//! [`boilerplate`] is what the daemon learns about each site's template;
//! [`bench`] measures the cleaner; [`plural`] makes the counts it prints agree.

pub mod article;
pub mod bench;
pub mod boilerplate;
pub mod clean;
pub mod clock;
pub mod config;
pub mod dedup;
pub mod feed;
pub mod fetch;
pub mod pipeline;
pub mod plural;
pub mod roster;
pub mod schedule;
pub mod sink;
pub mod source;
pub mod state;
pub mod telemetry;
