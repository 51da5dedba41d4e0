//! The metric names a PromQL expression reads: what is left once strings, label matchers, ranges, grouping
//! clauses, functions and keywords are taken out.

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
];

/// Removes every `open … close` span (not nested in PromQL), and the text between quotes.
fn strip(expr: &str) -> String {
    let mut out = String::new();
    let mut until: Option<char> = None;
    for c in expr.chars() {
        match until {
            Some(end) if c == end => until = None,
            Some(_) => {}
            None => match c {
                '"' => until = Some('"'),
                '\'' => until = Some('\''),
                '{' => until = Some('}'),
                '[' => until = Some(']'),
                _ => out.push(c),
            },
        }
    }
    out
}

/// Removes the label list after `by`, `without`, `on`, `ignoring`, `group_left` and `group_right`.
fn strip_groupings(expr: &str) -> String {
    let mut out = expr.to_owned();
    for kw in ["by", "without", "on", "ignoring", "group_left", "group_right"] {
        while let Some(at) = find_clause(&out, kw) {
            let Some(close) = out[at..].find(')') else { break };
            out.replace_range(at..at + close + 1, " ");
        }
    }
    out
}

/// Where `kw (` starts as a whole word.
fn find_clause(s: &str, kw: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find(kw).map(|i| i + from) {
        let before_ok = i == 0 || !is_ident(s[..i].chars().next_back().unwrap_or(' '));
        let after = s[i + kw.len()..].trim_start();
        if before_ok && after.starts_with('(') {
            return Some(i);
        }
        from = i + kw.len();
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The metric names in `expr`, in order.
pub fn metric_names(expr: &str) -> Vec<String> {
    let text = strip_groupings(&strip(expr));
    let mut names = Vec::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find(|c: char| is_ident(c) || c == '$') {
        let len = rest[start..]
            .find(|c: char| !(is_ident(c) || c == '$' || c == '.'))
            .unwrap_or(rest.len() - start);
        let word = &rest[start..start + len];
        let next = rest[start + len..].trim_start();
        let first = word.chars().next().unwrap_or('0');
        let is_metric = (first.is_ascii_alphabetic() || first == '_')
            && !next.starts_with('(')
            && !KEYWORDS.contains(&word)
            && !word.contains('.');
        if is_metric {
            names.push(word.to_owned());
        }
        rest = &rest[start + len..];
    }
    names
}

#[test]
fn metric_names_of_typical_expressions() {
    let q = r#"histogram_quantile(0.99, sum by (le, span_name) (rate(livetel_span_duration_seconds_bucket{service_name=~"$service"}[$__rate_interval])))"#;
    assert_eq!(metric_names(q), ["livetel_span_duration_seconds_bucket"]);
    let q = "sum(rate(a_total[5m])) / ignoring(x) group_left sum(b) > bool 0.5 offset 5m";
    assert_eq!(metric_names(q), ["a_total", "b"]);
    assert_eq!(
        metric_names("max(process_thread_count{job=\"x\"}) or vector(0)"),
        ["process_thread_count"]
    );
    assert!(metric_names("vector(1) * 2").is_empty());
}
