//! The check that the crate map in `lib.rs` is true: its list names every module, in layer
//! order, and no module's code (tests included) names a module listed above its own —
//! through `crate::x`, or `crate::{x, …}`. Comment lines are not code: a doc link may point
//! anywhere.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The modules of `lib.rs`'s `//!` list, top first.
fn layers(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|line| line.strip_prefix("//! - [`"))
        .filter_map(|rest| rest.split_once("`]").map(|(name, _)| name.to_owned()))
        .collect()
}

/// The modules `lib.rs` declares (`mod x;`, `pub mod x;`), but this one.
fn declared(lib: &str) -> Vec<String> {
    lib.lines()
        .map(str::trim)
        .filter_map(|line| {
            line.strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))
        })
        .filter_map(|rest| rest.strip_suffix(';'))
        .filter(|name| *name != "layers")
        .map(str::to_owned)
        .collect()
}

/// Every `.rs` file of module `name`: `src/name.rs` and all under `src/name/`.
fn files(src: &Path, name: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = vec![src.join(format!("{name}.rs"))];
    walk(&src.join(name), &mut out);
    out
}

/// The first path segment after each `crate::` in `code`, comment lines left out; for a
/// group (`crate::{a::b, c}`, over lines or not), each of its top-level names.
fn uses(code: &str) -> Vec<String> {
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let Some(group) = rest.strip_prefix('{') else {
            out.push(ident(rest));
            continue;
        };
        let (mut depth, mut item_start) = (1, true);
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => break,
                '}' => depth -= 1,
                ',' if depth == 1 => item_start = true,
                c if item_start && depth == 1 && (c.is_alphanumeric() || c == '_') => {
                    out.push(ident(&group[i..]));
                    item_start = false;
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn the_crate_map_lists_every_module_and_no_module_uses_one_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let order = layers(&lib);
    let mut listed = order.clone();
    listed.sort();
    let mut modules = declared(&lib);
    modules.sort();
    assert_eq!(listed, modules, "lib.rs's list and its `mod` lines differ");
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut upward = Vec::new();
    for module in &order {
        for file in files(&src, module) {
            let code = std::fs::read_to_string(&file).unwrap();
            for used in uses(&code) {
                if let Some(&there) = rank.get(used.as_str())
                    && there < rank[module.as_str()]
                {
                    upward.push(format!(
                        "{}: {module} uses crate::{used}, which is above it in lib.rs's list",
                        file.strip_prefix(&src).unwrap_or(&file).display()
                    ));
                }
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "{}", upward.join("\n"));
}

#[test]
fn uses_are_found_alone_and_in_groups_but_not_in_comments() {
    let code = "use crate::report::Row;\n\
                use crate::{\n    config::Config,\n    store::{self, Entry},\n};\n\
                /// See [`crate::tui`].\n\
                let x = crate::text::escape(s);\n";
    assert_eq!(uses(code), ["report", "config", "store", "text"]);
}
