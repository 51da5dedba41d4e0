//! A secret's text into headers. Errors describe the shape by entry position, never any of the text: a
//! malformed secret (a raw token, say) can put secret text where a name belongs.

use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use super::SecretHeaders;

/// Parses `k1=v1,k2=v2` (the `OTEL_EXPORTER_OTLP_HEADERS` form, percent-decoded) or a JSON object of strings.
///
/// # Errors
/// A sentence naming which entry is malformed and how, never its text.
pub fn headers(text: &str) -> Result<SecretHeaders, String> {
    let text = text.trim();
    let entries = if text.starts_with('{') {
        json(text)?
    } else {
        pairs(text)?
    };
    if entries.is_empty() {
        return Err("the secret holds no header".to_owned());
    }
    for (i, (name, _)) in entries.iter().enumerate() {
        if !valid_name(name) {
            return Err(format!("entry {}: not a valid header name", i + 1));
        }
    }
    Ok(SecretHeaders::new(entries))
}

fn pairs(text: &str) -> Result<Vec<(String, SecretString)>, String> {
    let mut out = Vec::new();
    for (i, entry) in text.split(',').enumerate().filter(|(_, e)| !e.trim().is_empty()) {
        let bad = |what: &str| format!("entry {}: {what}", i + 1);
        let (k, v) = entry.split_once('=').ok_or_else(|| bad("no `=`"))?;
        let name = decode(k.trim()).ok_or_else(|| bad("the name is not valid percent-encoded UTF-8"))?;
        let value = decode(v.trim()).ok_or_else(|| bad("the value is not valid percent-encoded UTF-8"))?;
        out.push((name.to_ascii_lowercase(), SecretString::from(value)));
    }
    Ok(out)
}

fn json(text: &str) -> Result<Vec<(String, SecretString)>, String> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        format!(
            "not a JSON object of strings (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    map.into_iter()
        .enumerate()
        .map(|(i, (k, v))| match v {
            serde_json::Value::String(s) => Ok((k.to_ascii_lowercase(), SecretString::from(s))),
            _ => Err(format!("entry {}: the value must be a string", i + 1)),
        })
        .collect()
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether a header name may be shown (status, `Debug`): well-known auth headers and `x-` headers. Anything
/// else could be a fragment of a malformed secret and is shown as `<redacted>`.
pub(crate) fn displayable(name: &str) -> bool {
    const KNOWN: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "api-key",
        "apikey",
        "signoz-access-token",
        "dd-api-key",
    ];
    KNOWN.contains(&name) || (name.starts_with("x-") && name.len() <= 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_parse_and_debug_shows_no_value() {
        let h = headers("authorization=Bearer%20abc, x-team=agents").unwrap();
        assert_eq!(h.names(), ["authorization", "x-team"]);
        assert!(!format!("{h:?}").contains("abc"));
        let j = headers(r#"{"Authorization": "Basic xyz"}"#).unwrap();
        assert_eq!(j.names(), ["authorization"]);
    }

    #[test]
    fn malformed_secrets_never_echo_any_text() {
        let bad = [
            "novalue",
            "a=b,SECRETVALUE",
            r#"{"a": 1}"#,
            r#"{"a": "x""#,
            "",
            "bad SECRETVALUE=x",
            "Basic dXNlcjpwYXNzd29yZA==",
        ];
        for text in bad {
            let e = headers(text).unwrap_err();
            assert!(
                !e.to_lowercase().contains("secretvalue") && !e.contains("dxnl"),
                "{e}"
            );
        }
    }

    #[test]
    fn token_like_names_are_not_displayed() {
        let h = headers("abc123XYZ==").unwrap();
        assert_eq!(h.names(), ["<redacted>"]);
        assert!(!format!("{h:?}").contains("abc123"));
    }

    #[test]
    fn percent_decoding() {
        let h = headers("Authorization=Basic%20dXNlcjpwYXNz").unwrap();
        assert_eq!(h.expose().next(), Some(("authorization", "Basic dXNlcjpwYXNz")));
    }
}
