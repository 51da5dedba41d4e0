//! docs/CONFIG.md is generated from `livetel::config::json_schema()` (every key the parser accepts, with its
//! default, whether a reload applies it, the environment variables that override it and its deprecated alias):
//! this test renders it and fails when the checked-in file differs. After changing a config type:
//!
//!     LIVETEL_BLESS=1 cargo test --all-features --test config_doc
#![cfg(feature = "schema")]

use std::fmt::Write;
use std::path::PathBuf;

use serde_json::Value;

const REGENERATE: &str = "LIVETEL_BLESS=1 cargo test --all-features --test config_doc";

fn doc_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/CONFIG.md")
}

/// The `$defs` entry a node refers to, if any (directly or as an `Option`).
fn referenced<'a>(schema: &'a Value, node: &'a Value) -> Option<(&'a str, &'a Value)> {
    let r = node["$ref"].as_str().or_else(|| {
        node["anyOf"]
            .as_array()
            .and_then(|a| a.iter().find_map(|x| x["$ref"].as_str()))
    })?;
    let name = r.strip_prefix("#/$defs/")?;
    Some((name, &schema["$defs"][name]))
}

fn is_table(schema: &Value, node: &Value) -> bool {
    let target = referenced(schema, node).map_or(node, |(_, d)| d);
    target["properties"].is_object()
}

/// A short type: `boolean`, `integer`, `"a" \| "b"`, `string or none`, `list of ...`, `table`.
fn type_of(schema: &Value, node: &Value) -> String {
    if let Some((_, def)) = referenced(schema, node) {
        let nullable = node["anyOf"].is_array();
        let t = type_of(schema, def);
        return if nullable { format!("{t} or none") } else { t };
    }
    if let Some(values) = node["enum"].as_array() {
        return values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    if let Some(value) = node.get("const") {
        return format!("`{value}`");
    }
    if let Some(alts) = node["oneOf"].as_array().or(node["anyOf"].as_array()) {
        let all_const = alts
            .iter()
            .all(|a| a.get("const").is_some() || a["enum"].is_array());
        let joiner = if all_const { " \\| " } else { " or " };
        return alts
            .iter()
            .map(|a| type_of(schema, a))
            .collect::<Vec<_>>()
            .join(joiner);
    }
    match &node["type"] {
        Value::String(t) if t == "array" => format!("list of {}", type_of(schema, &node["items"])),
        Value::String(t) if t == "object" => "table".to_owned(),
        Value::String(t) if t == "null" => "none".to_owned(),
        Value::String(t) => t.clone(),
        Value::Array(ts) => {
            let ts: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .map(|t| if t == "null" { "none" } else { t })
                .collect();
            ts.join(" or ")
        }
        _ => "any".to_owned(),
    }
}

fn default_of(node: &Value) -> String {
    match &node["default"] {
        Value::Null if node.get("default").is_some() => "none".to_owned(),
        Value::Null => "—".to_owned(),
        Value::Object(m) if m.is_empty() => "empty".to_owned(),
        Value::Object(_) => "(its keys)".to_owned(),
        v => format!("`{v}`"),
    }
}

/// A description on one table line: rustdoc links as plain code, `|` escaped.
fn one_line(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.replace("[`", "`").replace("`]", "`").replace('|', "\\|")
}

/// The deprecated flat keys, by the dotted key they are read as.
fn aliases(schema: &Value) -> Vec<(String, String)> {
    let props = schema["properties"].as_object().expect("properties");
    props
        .iter()
        .filter_map(|(flat, n)| Some((n["x-livetel-alias-of"].as_str()?.to_owned(), flat.clone())))
        .collect()
}

/// One section per table, depth first: `[telemetry]`, `[telemetry.otlp]`, `[telemetry.otlp.batch]`, ...
fn render_table(schema: &Value, table: &Value, prefix: &str, aliases: &[(String, String)], out: &mut String) {
    let header = if prefix.is_empty() {
        "[telemetry]".to_owned()
    } else {
        format!("[telemetry.{prefix}]")
    };
    let _ = writeln!(out, "\n## `{header}`\n");
    if let Some(d) = table["description"].as_str() {
        let _ = writeln!(out, "{}\n", one_line(d));
    }
    let _ = writeln!(
        out,
        "| key | type | default | applied | environment | deprecated alias | meaning |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let props = table["properties"].as_object().expect("a table has properties");
    let mut tables = Vec::new();
    for (name, node) in props {
        if node["x-livetel-alias-of"].is_string() {
            continue;
        }
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        if is_table(schema, node) {
            tables.push((key.clone(), referenced(schema, node).map_or(node, |(_, d)| d)));
            let _ = writeln!(
                out,
                "| `{name}` | table | | | | | see `[telemetry.{key}]` below |"
            );
            continue;
        }
        let applied = if node["x-livetel-restart"] == true {
            "restart"
        } else {
            "live"
        };
        let env = node["x-livetel-env"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .filter_map(Value::as_str)
                    .map(|v| format!("`{v}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let alias = aliases
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, f)| format!("`{f}`"))
            .unwrap_or_default();
        let meaning = one_line(node["description"].as_str().unwrap_or_default());
        let ty = if node["additionalProperties"].is_object() {
            "table of strings".to_owned()
        } else {
            type_of(schema, node)
        };
        let _ = writeln!(
            out,
            "| `{name}` | {ty} | {} | {applied} | {env} | {alias} | {meaning} |",
            default_of(node)
        );
    }
    for (key, sub) in tables {
        render_table(schema, sub, &key, aliases, out);
    }
}

fn render() -> String {
    let schema = livetel::config::json_schema();
    let mut out = String::new();
    let _ = writeln!(out, "# Configuration reference\n");
    let _ = writeln!(
        out,
        "Every key of the `[telemetry]` table, generated from `livetel::config::json_schema()` by \
         `tests/config_doc.rs` (do not edit by hand; regenerate with `{REGENERATE}`). **applied**: `live` keys take \
         effect at the next reload (file save, SIGHUP, `POST /reload`, a `Handle` change); `restart` keys keep their \
         running value until the process restarts, and status lists the change in `restart_required`. \
         **environment**: variables read at start that override the file (precedence: temporary overrides, then \
         environment, then file, then default; status `env_overrides` lists them). **deprecated alias**: an older \
         flat key still read, with a warning. Unknown keys are rejected with a \"did you mean\" hint. How to change \
         things on a running service: [OPERATIONS.md](OPERATIONS.md)."
    );
    render_table(&schema, &schema, "", &aliases(&schema), &mut out);
    out
}

#[test]
fn config_md_is_generated_from_the_schema() {
    let now = render();
    let path = doc_path();
    if std::env::var_os("LIVETEL_BLESS").is_some() {
        std::fs::write(&path, &now).expect("write docs/CONFIG.md");
        return;
    }
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    if old != now {
        let first = old
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(old.lines().count().min(now.lines().count()));
        panic!(
            "docs/CONFIG.md is not what the config schema says (first difference at line {}):\n  file: {}\n  now:  {}\nregenerate: {REGENERATE}",
            first + 1,
            old.lines().nth(first).unwrap_or("<end>"),
            now.lines().nth(first).unwrap_or("<end>")
        );
    }
}

#[test]
fn every_key_of_the_schema_is_in_the_doc() {
    let text = render();
    let schema = livetel::config::json_schema();
    let mut n = 0;
    for (name, node) in schema["properties"].as_object().expect("properties") {
        if node["x-livetel-alias-of"].is_string() {
            assert!(text.contains(&format!("`{name}`")), "alias {name}");
        } else {
            assert!(text.contains(&format!("| `{name}` |")), "{name}");
        }
        n += 1;
    }
    assert!(n > 10);
}
