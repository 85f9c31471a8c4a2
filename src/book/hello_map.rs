//! hello-map: the `counter_table` map (u64 uid -> u64 count) and its output line.

use anyhow::{Context, Result};
use libbpf_rs::{MapCore, MapFlags};

/// Reads every (uid, count) entry in the map's iteration order.
pub fn read_counts<M: MapCore>(map: &M) -> Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for key in map.keys() {
        // An entry can vanish between keys() and lookup; nothing deletes here, but
        // skip rather than fail if it ever does.
        let Some(value) = map
            .lookup(&key, MapFlags::ANY)
            .context("reading counter_table")?
        else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (
            <[u8; 8]>::try_from(&key[..]),
            <[u8; 8]>::try_from(&value[..]),
        ) {
            out.push((u64::from_ne_bytes(k), u64::from_ne_bytes(v)));
        }
    }
    Ok(out)
}

/// The book's line: `ID {uid}: {count}` and a TAB per entry; empty for no entries.
pub fn format_counts(entries: &[(u64, u64)]) -> String {
    entries
        .iter()
        .map(|(uid, count)| format!("ID {uid}: {count}\t"))
        .collect()
}

/// Parses a line [`format_counts`] wrote (tests and scripts read the output back).
pub fn parse_counts(line: &str) -> Option<Vec<(u64, u64)>> {
    let body = line.strip_suffix('\n').unwrap_or(line);
    if body.is_empty() {
        return Some(Vec::new());
    }
    let body = body.strip_suffix('\t')?;
    body.split('\t')
        .map(|item| {
            let rest = item.strip_prefix("ID ")?;
            let (uid, count) = rest.split_once(": ")?;
            Some((uid.parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_has_a_tab_after_every_entry() {
        assert_eq!(format_counts(&[]), "");
        assert_eq!(format_counts(&[(0, 3)]), "ID 0: 3\t");
        assert_eq!(
            format_counts(&[(1000, 1), (0, 12)]),
            "ID 1000: 1\tID 0: 12\t"
        );
    }

    #[test]
    fn parse_reads_back_what_format_wrote() {
        let e = vec![(1000, 1), (0, 12), (65534, 7)];
        assert_eq!(parse_counts(&format_counts(&e)), Some(e));
        assert_eq!(parse_counts(""), Some(vec![]));
        assert_eq!(
            parse_counts("ID 0: 3"),
            None,
            "the trailing tab is part of it"
        );
        assert_eq!(parse_counts("ID x: 3\t"), None);
    }
}
