//! docs/porting.md matches the code: every `[path](../path)` link names a file that
//! exists, and every backticked text after it (up to the next link or the end of the
//! table cell) is in that file. A row with no link is an error too.

use std::path::Path;

/// (file, symbols) pairs of one "Where" cell: `[f](../f) `a` `b`; [g](../g) `c``.
/// Code spans (between backticks) are symbols of the link before them; links are only
/// looked for outside code spans.
fn links_of(cell: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (i, part) in cell.split('`').enumerate() {
        if i % 2 == 1 {
            match out.last_mut() {
                Some((_, symbols)) => symbols.push(part.to_string()),
                None => return Err(format!("symbol `{part}` before any link in {cell:?}")),
            }
            continue;
        }
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            let bad = || format!("bad link in {cell:?}");
            let close = rest[open..].find("](").ok_or_else(bad)? + open;
            let end = rest[close..].find(')').ok_or_else(bad)? + close;
            let (text, target) = (&rest[open + 1..close], &rest[close + 2..end]);
            let path = (target.strip_prefix("../"))
                .ok_or(format!("link {target:?} must start with ../"))?;
            if text != path {
                return Err(format!("link text {text:?} is not its path {path:?}"));
            }
            out.push((path.to_string(), Vec::new()));
            rest = &rest[end + 1..];
        }
    }
    Ok(out)
}

/// Problems found in `doc` (a porting guide) against the tree at `root`.
fn check(doc: &str, root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut rows = 0;
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| `") || l.starts_with("| "))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        if cells.len() < 3 || line.starts_with("| BCC") || line.starts_with("|---") {
            continue;
        }
        rows += 1;
        let where_cell = cells[cells.len() - 1]
            .trim_end_matches(" |")
            .trim_end_matches('|');
        match links_of(where_cell) {
            Ok(links) if links.is_empty() => problems.push(format!("no link: {line}")),
            Ok(links) => {
                for (path, symbols) in links {
                    let Ok(text) = std::fs::read_to_string(root.join(&path)) else {
                        problems.push(format!("{path}: no such file"));
                        continue;
                    };
                    if symbols.is_empty() {
                        problems.push(format!("{path}: linked without a symbol"));
                    }
                    for s in symbols.iter().filter(|s| !text.contains(s.as_str())) {
                        problems.push(format!("{path}: `{s}` not found"));
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    if rows < 20 {
        problems.push(format!("only {rows} rows found: table format changed?"));
    }
    problems
}

#[test]
fn porting_guide_links_and_symbols_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Ok(doc) = std::fs::read_to_string(root.join("docs/porting.md")) else {
        println!("SKIP: porting_guide_links_and_symbols_exist: source tree not present");
        return;
    };
    let problems = check(&doc, root);
    assert!(
        problems.is_empty(),
        "docs/porting.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_a_missing_file_and_a_missing_symbol() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if !root.join("docs/porting.md").exists() {
        println!("SKIP: the_checker_catches_a_missing_file_and_a_missing_symbol: source tree not present");
        return;
    }
    let good = "| `a` | b | [build.rs](../build.rs) `SkeletonBuilder::new()` |\n".repeat(20);
    assert_eq!(check(&good, root), Vec::<String>::new());
    let bad = good.replacen("[build.rs](../build.rs)", "[nope.rs](../nope.rs)", 1);
    assert_eq!(check(&bad, root), vec!["nope.rs: no such file"]);
    let bad = good.replacen("`SkeletonBuilder::new()`", "`NoSuchThing`", 1);
    assert_eq!(check(&bad, root), vec!["build.rs: `NoSuchThing` not found"]);
    let bad = good.replacen(" `SkeletonBuilder::new()`", "", 1);
    assert_eq!(check(&bad, root), vec!["build.rs: linked without a symbol"]);
}
