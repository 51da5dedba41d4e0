//! The W3C `tracestate` header, read member by member (W3C Trace Context, "Tracestate Header").
//!
//! `opentelemetry::trace::TraceState::from_str` refuses the whole list when one member is malformed, and its key
//! check is Level 1's (one `@`, at most 13 characters after it). Here every header value of the request is read
//! as one list, in order (§ "tracestate Header Field Values": multiple fields are combined per RFC 7230 §3.2.2),
//! and each member is checked on its own against the Level 2 grammar:
//!
//! ```text
//! list        = list-member 0*31( OWS "," OWS list-member )
//! list-member = key "=" value / OWS
//! key         = ( lcalpha / DIGIT ) 0*255( keychar )      ; keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
//! value       = 0*255( chr ) nblk-chr                      ; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
//! ```
//!
//! Empty and whitespace-only members are allowed and skipped. A list that breaks the grammar anywhere is
//! discarded whole, as the W3C test suite (`test/test.py`) expects: one invalid member (`@foo=1,bar=2`,
//! `foo=,bar=3`, `foo=bar=baz`), a key over 256 characters, or more than 32 members ("There can be a maximum of
//! 32 list-members in a list"). The valid ones are not salvaged: a list that is not a list cannot be trusted to
//! be any vendor's state. A key seen twice ("Only one entry per key is allowed") keeps its first member and
//! drops the later ones, as the suite's `test_tracestate_duplicated_keys` allows ("either kept as-is or one of
//! them discarded"): each member is valid, and the first is the most recent vendor's. Level 1's
//! `tenant@system` keys are valid Level 2 keys.

use std::sync::Arc;

/// The most members a list holds.
pub(crate) const MAX_MEMBERS: usize = 32;
/// The longest key and the longest value, in characters.
const MAX_KEY: usize = 256;
const MAX_VALUE: usize = 256;

/// A valid `tracestate` list (else the empty list), its members in order (`key=value,key=value`, no optional
/// whitespace), and the list as received, for a span that forwards it unchanged. Cloning it shares the text.
#[derive(Debug, Clone, Default)]
pub(crate) struct TraceStateList {
    header: Arc<str>,
    /// The header values as received, joined by commas: the same text as `header` in the common case.
    received: Arc<str>,
}

impl PartialEq for TraceStateList {
    /// The same members in the same order, however they were written.
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header
    }
}

impl Eq for TraceStateList {}

impl TraceStateList {
    /// Reads every value of the `tracestate` header, in the order received, as one list; the empty list when
    /// the combined list is invalid (module docs).
    pub(crate) fn decode<'a>(values: impl IntoIterator<Item = &'a str>) -> TraceStateList {
        let values: smallvec::SmallVec<[&str; 2]> = values.into_iter().collect();
        let Some(header) = parse_list(&values) else {
            return TraceStateList::default();
        };
        let header: Arc<str> = header.into();
        let joined = values.join(",");
        let received = if *joined == *header {
            Arc::clone(&header)
        } else {
            joined.into()
        };
        TraceStateList { header, received }
    }

    /// The list as it was received, for forwarding unchanged (W3C "Mutating the traceparent Field": a
    /// `traceparent` passed on unchanged goes with its `tracestate` unchanged).
    pub(crate) fn received(&self) -> &str {
        &self.received
    }

    /// The header value; empty when the list was empty or invalid.
    pub(crate) fn header(&self) -> &str {
        &self.header
    }

    /// True when the list has no member (then no header is sent: "SHOULD avoid sending" empty ones).
    pub(crate) fn is_empty(&self) -> bool {
        self.header.is_empty()
    }

    /// How many members the list holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.pairs().count()
    }

    /// The members as key/value pairs, in order.
    pub(crate) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        pairs(&self.header)
    }
}

/// The list's members without optional whitespace, empty members and later members of a repeated key; `None`
/// when any member is invalid or there are more than [`MAX_MEMBERS`].
fn parse_list(values: &[&str]) -> Option<String> {
    let mut header = String::with_capacity(values.iter().map(|v| v.len()).sum());
    let mut members = 0;
    for member in values.iter().flat_map(|v| v.split(',')) {
        let member = member.trim_matches([' ', '\t']);
        if member.is_empty() {
            continue;
        }
        let (key, value) = parse_member(member)?;
        members += 1;
        if members > MAX_MEMBERS {
            return None;
        }
        if !pairs(&header).any(|(k, _)| k == key) {
            push(&mut header, key, value);
        }
    }
    Some(header)
}

fn push(header: &mut String, key: &str, value: &str) {
    if !header.is_empty() {
        header.push(',');
    }
    header.push_str(key);
    header.push('=');
    header.push_str(value);
}

fn pairs(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header
        .split(',')
        .filter(|m| !m.is_empty())
        .filter_map(|m| m.split_once('='))
}

/// A member `key=value` whose key and value follow the grammar; `None` for an empty member or an invalid one.
fn parse_member(member: &str) -> Option<(&str, &str)> {
    let (key, value) = member.split_once('=')?;
    (valid_key(key) && valid_value(value)).then_some((key, value))
}

/// `key = ( lcalpha / DIGIT ) 0*255( keychar )`.
fn valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    let first_ok = b
        .first()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && b.len() <= MAX_KEY
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

/// `value = 0*255( chr ) nblk-chr`: 1 to 256 printable ASCII characters but `,` and `=`, not ending in a space.
fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    let printable = |c: &u8| (0x20..=0x7e).contains(c) && *c != b',' && *c != b'=';
    !b.is_empty() && b.len() <= MAX_VALUE && b.iter().all(printable) && b.last() != Some(&b' ')
}

#[cfg(test)]
mod tests {
    //! Each case names the section of W3C Trace Context (`spec/20-http_request_header_format.md`) it follows.

    use super::*;

    fn decode(values: &[&str]) -> TraceStateList {
        TraceStateList::decode(values.iter().copied())
    }

    /// "tracestate Header Field Values": multiple header fields are combined into one list, in order.
    #[test]
    fn several_headers_are_one_list_in_order() {
        let list = decode(&["a=1,b=2", "c=3", "d=4"]);
        assert_eq!(list.header(), "a=1,b=2,c=3,d=4");
        assert_eq!(list.len(), 4);
    }

    /// "tracestate Header Field Values": empty and whitespace-only members are allowed; vendors MUST accept
    /// empty headers. An empty header beside a valid one leaves the valid one whole.
    #[test]
    fn empty_headers_and_members_are_accepted() {
        assert_eq!(decode(&["", "a=1"]).header(), "a=1");
        assert_eq!(decode(&["a=1", ""]).header(), "a=1");
        assert_eq!(decode(&[" , a=1 ,\t, b=2,"]).header(), "a=1,b=2");
        assert!(decode(&["", " ", "\t,"]).is_empty());
    }

    /// "list": at most 32 members; 32 are all kept, 33 discard the list (test suite:
    /// `test_tracestate_member_count_limit`), also when spread over two headers.
    #[test]
    fn thirty_two_members_are_kept_thirty_three_discard_the_list() {
        let members: Vec<String> = (0..33).map(|i| format!("k{i}=v{i}")).collect();
        let list = decode(&[&members[..32].join(",")]);
        assert_eq!(list.len(), 32);
        assert_eq!(list.header(), members[..32].join(","));
        assert!(decode(&[&members.join(",")]).is_empty());
        assert!(decode(&[&members[..20].join(","), &members[20..].join(",")]).is_empty());
        // Empty members do not count.
        let padded = format!("{}, ,,", members[..32].join(", ,"));
        assert_eq!(decode(&[&padded]).len(), 32);
    }

    /// "Key": begins with a lowercase letter or a digit; up to 256 characters of `a-z 0-9 _ - * / @`.
    #[test]
    fn keys_follow_the_key_grammar() {
        let longest = format!("a{}", "b".repeat(255));
        let tenant = format!("{}@{}", "t".repeat(241), "s".repeat(14));
        assert_eq!(tenant.len(), 256);
        for key in [
            "a",
            "0",
            "9abc",
            "a_b-c*d/e",
            "tenant@system",
            "fw529a3039@dt",
            longest.as_str(),
            tenant.as_str(),
            "a@b@c",
        ] {
            assert_eq!(
                decode(&[&format!("{key}=v")]).header(),
                format!("{key}=v"),
                "{key}"
            );
        }
        let too_long = format!("a{}", "b".repeat(256));
        for key in ["", "A", "aB", "_a", "@a", "a.b", "a b", "é", too_long.as_str()] {
            assert!(
                decode(&[&format!("{key}=v")]).is_empty(),
                "{key:?} must be refused"
            );
        }
    }

    /// "Value": 1 to 256 printable ASCII characters except `,` and `=`, not ending in a space; leading spaces
    /// are part of the value, trailing ones are optional whitespace.
    #[test]
    fn values_follow_the_value_grammar() {
        let longest = "v".repeat(256);
        for value in [
            "1",
            "opaque Value/+!~",
            " leading",
            longest.as_str(),
            "t61rcWkgMzE",
        ] {
            let list = decode(&[&format!("k={value}")]);
            assert_eq!(list.pairs().next(), Some(("k", value)), "{value:?}");
        }
        assert_eq!(decode(&["k=v  ,z=1"]).header(), "k=v,z=1");
        let too_long = "v".repeat(257);
        for value in ["", "a=b", "tab\there", "nul\0", "ü", too_long.as_str()] {
            assert!(
                decode(&[&format!("k={value}")]).is_empty(),
                "{value:?} must be refused"
            );
        }
    }

    /// Test suite `test_tracestate_key_illegal_characters` and friends: one invalid member discards the whole
    /// list, the valid members beside it included.
    #[test]
    fn one_invalid_member_discards_the_list() {
        for bad in [
            "@foo=1,bar=2",
            "foo=,bar=3",
            "foo=bar=baz",
            "bar=2,Foo=1",
            "a=1,b",
            "a=1,=2",
        ] {
            assert!(decode(&[bad]).is_empty(), "{bad:?}");
        }
        // In another header than the valid members, too.
        assert!(decode(&["a=1,c=3", "d=x=y"]).is_empty());
    }

    /// Test suite `test_tracestate_key_length_limit`: a 257-character key discards the list.
    #[test]
    fn an_overlong_key_discards_the_list() {
        let over = format!("x{}=1", "y".repeat(256));
        assert!(decode(&[&format!("a=1,{over},b=2")]).is_empty());
        let at_limit = format!("x{}=1", "y".repeat(255));
        assert_eq!(decode(&[&format!("a=1,{at_limit}")]).len(), 2);
    }

    /// "Only one entry per key is allowed" (test suite `test_tracestate_duplicated_keys`: "kept as-is or one of
    /// them discarded"): a repeated key keeps its first member, across headers too.
    #[test]
    fn a_repeated_key_keeps_its_first_member() {
        assert_eq!(decode(&["foo=1,foo=1"]).header(), "foo=1");
        assert_eq!(decode(&["foo=1,foo=2"]).header(), "foo=1");
        assert_eq!(decode(&["congo=2,rojo=1", "congo=1"]).header(), "congo=2,rojo=1");
    }

    #[test]
    fn pairs_round_trip_through_the_header() {
        let list = decode(&["a=1, b= x"]);
        assert_eq!(decode(&[list.header()]), list);
        assert_eq!(list.pairs().collect::<Vec<_>>(), [("a", "1"), ("b", " x")]);
    }
}
