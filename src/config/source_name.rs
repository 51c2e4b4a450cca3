//! Which source a load error is about, by name.
//!
//! serde reports a bad value inside `[[sources]]` by its place
//! (`sources[2].kind`); in a file of fifty sources the name is what the
//! user searches for, and what the checks after loading give. So when
//! loading fails on one source, the file is read again leniently for that
//! source's `name`.

use serde::Deserialize;

/// A source's name, every other key ignored.
#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

/// The file's sources, every other key ignored.
#[derive(Deserialize)]
struct Sources {
    #[serde(default)]
    sources: Vec<Named>,
}

/// `message` (tidied: ``key `sources[N]…`: …``) with ` (source "NAME")`
/// added when it is about one source whose name `file` gives.
pub(super) fn with_source_name(
    message: String,
    file: Box<dyn config::Source + Send + Sync>,
) -> String {
    let Some(index) = source_index(&message) else {
        return message;
    };
    let name = config::Config::builder()
        .add_source(vec![file])
        .build()
        .ok()
        .and_then(|read| read.try_deserialize::<Sources>().ok())
        .and_then(|file| file.sources.into_iter().nth(index)?.name);
    match name {
        Some(name) => format!("{message} (source {name:?})"),
        None => message,
    }
}

/// The source a tidied message is about: N in ``key `sources[N]``.
fn source_index(message: &str) -> Option<usize> {
    let rest = message.strip_prefix("key `sources[")?;
    rest.split_once(']')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Box<dyn config::Source + Send + Sync> {
        Box::new(config::File::from_str(text, config::FileFormat::Toml))
    }

    const TWO: &str =
        "[[sources]]\nname = \"a\"\nurl = \"x\"\n[[sources]]\nname = \"b\"\ninterval = 5\n";

    #[test]
    fn a_message_about_one_source_gets_its_name() {
        let message = "key `sources[1].interval`: 5 is not a duration".to_string();
        assert_eq!(
            with_source_name(message, file(TWO)),
            "key `sources[1].interval`: 5 is not a duration (source \"b\")"
        );
    }

    #[test]
    fn other_messages_and_sources_without_a_name_are_left_as_they_are() {
        for message in [
            "key `pipeline.retry_backoff`: 5 is not a duration",
            "key `sources[7].url`: relative URL without a base",
            "missing field `name`",
        ] {
            assert_eq!(with_source_name(message.into(), file(TWO)), message);
        }
        let unnamed = "[[sources]]\nurl = \"x\"\n";
        let message = "key `sources[0]`: missing field `name`";
        assert_eq!(with_source_name(message.into(), file(unnamed)), message);
    }
}
