//! `backend`: one backend (`backend = "local"`) or several at once (`backend = ["local", "otlp"]`).

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use super::Backend;

/// The backends spans go to, in the order written: every sampled span goes to each. Written as one name or a
/// list; `"none"` (or an empty list) records nothing. Compares equal to a single [`Backend`] when it is exactly
/// that one, so `status.backend == Backend::Local` reads as before lists existed.
///
/// ```
/// use livetel::config::{Backend, Backends};
///
/// let both: Backends = vec![Backend::Local, Backend::Otlp].into();
/// assert!(both.contains(Backend::Otlp));
/// let one: Backends = Backend::Local.into();
/// assert_eq!(one, Backend::Local);
/// assert_eq!(Backends::from(Backend::None), Backends::default());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Backends(Vec<Backend>);

impl Backends {
    /// The recording backends, in order (never `None`).
    pub fn iter(&self) -> impl Iterator<Item = Backend> + '_ {
        self.0.iter().copied()
    }

    /// True when spans go to `backend` (for [`Backend::None`]: when they go nowhere).
    pub fn contains(&self, backend: Backend) -> bool {
        match backend {
            Backend::None => self.0.is_empty(),
            b => self.0.contains(&b),
        }
    }

    /// True when nothing is recorded.
    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }

    /// The names as written in config and status (`["none"]` when nothing is recorded).
    pub fn names(&self) -> Vec<&'static str> {
        if self.0.is_empty() {
            return vec![Backend::None.as_str()];
        }
        self.iter().map(Backend::as_str).collect()
    }

    /// A list from names, as a config file or `OTEL_TRACES_EXPORTER` gives them.
    ///
    /// # Errors
    /// A sentence naming an unknown backend, a duplicate, or `none` next to a recording backend.
    pub(crate) fn from_list(list: impl IntoIterator<Item = Backend>) -> Result<Self, String> {
        let mut backends = Vec::new();
        let mut none = false;
        for b in list {
            match b {
                Backend::None => none = true,
                b if backends.contains(&b) => return Err(format!("`{}` is listed twice", b.as_str())),
                b => backends.push(b),
            }
        }
        if none && !backends.is_empty() {
            return Err("`none` cannot be listed with another backend".to_owned());
        }
        Ok(Backends(backends))
    }
}

impl fmt::Display for Backends {
    /// The names joined by commas, as `OTEL_TRACES_EXPORTER` writes them: `local`, `local,otlp`, `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

impl From<Backend> for Backends {
    fn from(b: Backend) -> Self {
        match b {
            Backend::None => Backends(Vec::new()),
            b => Backends(vec![b]),
        }
    }
}

impl From<Vec<Backend>> for Backends {
    /// Duplicates and `None` are dropped; validation of a config reports them instead.
    fn from(list: Vec<Backend>) -> Self {
        let mut backends: Vec<Backend> = Vec::new();
        for b in list.into_iter().filter(|b| *b != Backend::None) {
            if !backends.contains(&b) {
                backends.push(b);
            }
        }
        Backends(backends)
    }
}

impl PartialEq<Backend> for Backends {
    fn eq(&self, other: &Backend) -> bool {
        match other {
            Backend::None => self.0.is_empty(),
            b => self.0.as_slice() == [*b],
        }
    }
}

impl Serialize for Backends {
    /// One name as a string (as before lists existed), several as a list.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [] => Backend::None.serialize(s),
            [one] => one.serialize(s),
            many => {
                let mut seq = s.serialize_seq(Some(many.len()))?;
                for b in many {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Backends {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BackendsVisitor)
    }
}

struct BackendsVisitor;

impl<'de> Visitor<'de> for BackendsVisitor {
    type Value = Backends;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a backend (`none`, `local`, `otlp`) or a list of them")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Backends, E> {
        let one = Backend::deserialize(de::value::StrDeserializer::<E>::new(name))?;
        Ok(one.into())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Backends, A::Error> {
        let mut list = Vec::new();
        while let Some(b) = seq.next_element::<Backend>()? {
            list.push(b);
        }
        if list.is_empty() {
            return Err(de::Error::custom(
                "an empty list: write `\"none\"` to record nothing",
            ));
        }
        Backends::from_list(list).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Backends, String> {
        #[derive(Deserialize)]
        struct Doc {
            backend: Backends,
        }
        toml::from_str::<Doc>(&format!("backend = {value}"))
            .map(|d| d.backend)
            .map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_name_or_a_list_and_back() {
        assert_eq!(parse("\"local\"").unwrap(), Backend::Local);
        assert_eq!(parse("\"none\"").unwrap(), Backend::None);
        let both = parse("[\"local\", \"otlp\"]").unwrap();
        assert_eq!(both.names(), ["local", "otlp"]);
        assert_eq!(serde_json::to_string(&both).unwrap(), r#"["local","otlp"]"#);
        assert_eq!(
            serde_json::to_string(&Backends::from(Backend::Otlp)).unwrap(),
            r#""otlp""#
        );
        assert_eq!(serde_json::to_string(&Backends::default()).unwrap(), r#""none""#);
    }

    #[test]
    fn lists_that_make_no_sense_are_refused() {
        assert!(parse("[\"local\", \"local\"]").unwrap_err().contains("twice"));
        assert!(parse("[\"none\", \"otlp\"]").unwrap_err().contains("none"));
        assert!(parse("[]").unwrap_err().contains("empty"));
        assert!(parse("\"chrome\"").is_err());
    }
}
