//! A secret's text into headers. Errors describe the shape, never the value.

use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use super::SecretHeaders;

/// Parses `k1=v1,k2=v2` (the `OTEL_EXPORTER_OTLP_HEADERS` form, percent-decoded) or a JSON object of strings.
///
/// # Errors
/// A sentence naming what is malformed (an entry's position, or a header name), never a value.
///
/// ```
/// let h = livetel::vault::parse::headers("authorization=Bearer%20abc, x-team=agents").unwrap();
/// assert_eq!(h.names(), ["authorization", "x-team"]);
/// assert!(!format!("{h:?}").contains("abc"));
/// let j = livetel::vault::parse::headers(r#"{"Authorization": "Basic xyz"}"#).unwrap();
/// assert_eq!(j.names(), ["authorization"]);
/// ```
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
    for (name, _) in &entries {
        check_name(name)?;
    }
    Ok(SecretHeaders::new(entries))
}

fn pairs(text: &str) -> Result<Vec<(String, SecretString)>, String> {
    let mut out = Vec::new();
    for (i, entry) in text.split(',').enumerate().filter(|(_, e)| !e.trim().is_empty()) {
        let (k, v) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {} has no `=`", i + 1))?;
        let name = decode(k.trim())
            .ok_or_else(|| format!("entry {}: the name is not valid percent-encoded UTF-8", i + 1))?;
        let value = decode(v.trim())
            .ok_or_else(|| format!("header `{name}`: the value is not valid percent-encoded UTF-8"))?;
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
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => Ok((k.to_ascii_lowercase(), SecretString::from(s))),
            _ => Err(format!("header `{k}`: the value must be a string")),
        })
        .collect()
}

fn decode(s: &str) -> Option<String> {
    percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid header name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_secrets_never_echo_values() {
        for bad in [
            "novalue",
            "a=b,SECRETVALUE",
            r#"{"a": 1}"#,
            r#"{"a": "x""#,
            "",
            "bad name=SECRETVALUE",
        ] {
            let e = headers(bad).unwrap_err();
            assert!(!e.contains("SECRETVALUE"), "{e}");
        }
    }

    #[test]
    fn percent_decoding() {
        let h = headers("Authorization=Basic%20dXNlcjpwYXNz").unwrap();
        assert_eq!(h.expose().next(), Some(("authorization", "Basic dXNlcjpwYXNz")));
    }
}
