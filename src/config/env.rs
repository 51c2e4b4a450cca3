//! `THRESHER__*` overrides: which variable a load error comes from.
//!
//! The `config` crate merges the file and the environment before serde sees
//! them, so `THRESHER__FECH__RETRIES=3` fails as "unknown field `fech`"
//! under the file's name, and the user looks for a typo in a file that has
//! none. When a load fails and overrides are set, the load is repeated
//! without them and then with one at a time: the variable that alone brings
//! the error back is the one named.

use config::Map;

/// What the environment source is built from: the process's variables, or
/// (to find a culprit) an explicit set.
pub(super) type Vars = Option<Map<String, String>>;

/// The environment source of overrides, from `vars` (`None`: the process's).
pub(super) fn source(vars: Vars) -> config::Environment {
    config::Environment::with_prefix("THRESHER")
        .prefix_separator("__")
        .separator("__")
        .source(vars)
}

/// The override variables set in this process (as the `config` crate
/// matches them: `THRESHER__` in any case), sorted by name.
fn overrides() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("thresher__"))
        .collect();
    vars.sort();
    vars
}

/// The override variable that causes `error`, which `load(vars)` gave with
/// every variable; `None` when the file alone gives it too, or no single
/// variable does.
pub(super) fn culprit<E: ToString>(
    error: &E,
    load: impl Fn(Vars) -> Result<(), E>,
) -> Option<String> {
    let vars = overrides();
    if vars.is_empty() {
        return None;
    }
    let message = error.to_string();
    let same = |result: Result<(), E>| result.err().is_some_and(|e| e.to_string() == message);
    if same(load(Some(Map::new()))) {
        return None;
    }
    vars.iter()
        .find(|(name, value)| {
            let one: Map<String, String> = [(name.clone(), value.clone())].into_iter().collect();
            same(load(Some(one)))
        })
        .map(|(name, _)| name.clone())
}

/// The message for `variable`'s error: the `config` crate's words without
/// its "in the environment", and the spelling meant when the error is an
/// unknown key close to a known one.
pub(super) fn message(variable: &str, error: &str) -> String {
    let error = error.trim_end();
    let error = error.strip_suffix(" in the environment").unwrap_or(error);
    match suggestion(variable, error) {
        Some(meant) => format!("{error}; did you mean {meant}?"),
        None => error.to_string(),
    }
}

/// `variable` with its misspelt segment replaced by the closest key serde
/// expected ("unknown field `fech`, expected one of `state`, `fetch`, …").
fn suggestion(variable: &str, error: &str) -> Option<String> {
    let (_, rest) = error.split_once("unknown field `")?;
    let (unknown, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected one of ")?.1;
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|known| (edit_distance(unknown, known), known))
        .min()?;
    // Up to two edits, and fewer than half the word: a typo, not another key.
    if best.0 == 0 || best.0 > 2 || best.0 * 2 > unknown.chars().count() {
        return None;
    }
    let segments: Vec<String> = variable
        .split("__")
        .map(|segment| {
            if segment.eq_ignore_ascii_case(unknown) {
                best.1.to_ascii_uppercase()
            } else {
                segment.to_string()
            }
        })
        .collect();
    Some(segments.join("__"))
}

/// Levenshtein distance, for keys of a few letters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_suggests_the_variable_meant() {
        let error = "unknown field `fech`, expected one of `state`, `output`, `fetch`, `pipeline`";
        assert_eq!(
            message("THRESHER__FECH__RETRIES", error),
            format!("{error}; did you mean THRESHER__FETCH__RETRIES?")
        );
        let error = "key `fetch`: unknown field `retris`, expected one of `timeout`, `retries`";
        assert!(message("THRESHER__FETCH__RETRIS", error).ends_with("THRESHER__FETCH__RETRIES?"));
        // Nothing close: no guess.
        let error = "unknown field `colour`, expected one of `state`, `output`";
        assert_eq!(message("THRESHER__COLOUR", error), error);
        let error = "key `fetch.retries`: invalid type: string \"x\", expected an integer in the environment";
        assert_eq!(
            message("THRESHER__FETCH__RETRIES", error),
            "key `fetch.retries`: invalid type: string \"x\", expected an integer"
        );
    }
}
