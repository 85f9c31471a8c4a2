//! Making untrusted bytes (comm, filename, arguments: anything a process chose) safe to
//! print. A process must not be able to forge an output line, hide one, or drive the
//! terminal, so the text form escapes everything that is not a plain printable
//! character, and the JSON form is valid UTF-8 whatever the input.

use std::borrow::Cow;
use std::fmt::Write as _;

/// True for characters that are printable by code point but can still reorder or hide
/// text on a terminal: C1 controls (0x9b is an 8-bit CSI), bidi overrides and
/// isolates (U+202A-202E, U+2066-2069, the "Trojan Source" trick), the invisible
/// direction marks, the zero-width characters (U+200B-200D, U+2060, U+FEFF: `r\u{200b}m`
/// looks like `rm`; an emoji joined with U+200D shows as its parts with the joiner
/// escaped), and line/paragraph separators.
fn is_sneaky(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2060}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

/// Appends `bytes` to `out` for the text output:
/// - `\` becomes `\\` (so every backslash in the output starts an escape);
/// - newline, tab, carriage return become `\n`, `\t`, `\r`;
/// - other ASCII controls (ESC included) and DEL become `\xHH`;
/// - bytes that are not valid UTF-8 become `\xHH`, one per byte;
/// - C1 controls, bidi controls and invisible marks become `\u{HHHH}`;
/// - with `quote`, `"` becomes `\"` (the caller adds the surrounding quotes).
///
/// Everything else (printable ASCII, printable non-ASCII text) is copied unchanged.
pub fn escape_text_into(bytes: &[u8], quote: bool, out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        // Fast path: most arguments need no escaping at all.
        if valid
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'\\' && !(quote && b == b'"'))
        {
            out.push_str(valid);
        } else {
            for c in valid.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' if quote => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    '\t' => out.push_str("\\t"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 || c == '\x7f' => {
                        let _ = write!(out, "\\x{:02x}", c as u32);
                    }
                    c if is_sneaky(c) => {
                        let _ = write!(out, "\\u{{{:04x}}}", c as u32);
                    }
                    c => out.push(c),
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// [`escape_text_into`] into a new string.
pub fn escape_text(bytes: &[u8], quote: bool) -> String {
    let mut s = String::with_capacity(bytes.len());
    escape_text_into(bytes, quote, &mut s);
    s
}

/// The JSON form of a byte string. With `bytes_mode` false the text itself, which
/// must be valid UTF-8 (JSON's own escaping, done by serde_json, takes care of quotes
/// and controls); any invalid byte switches to bytes mode. In bytes mode every
/// backslash is written as `\\` and every byte that is not part of valid UTF-8 as the
/// four characters `\xHH`, so the string decodes back to the exact bytes. The second
/// value says whether bytes mode was used. An event uses bytes mode for ALL its strings
/// as soon as one needs it (its JSON then says `"non_utf8": true`), so a consumer
/// applies one rule to the whole object.
pub fn json_text(bytes: &[u8], bytes_mode: bool) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) if !bytes_mode => (Cow::Borrowed(s), false),
        _ => {
            let mut s = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    if c == '\\' {
                        s.push_str("\\\\");
                    } else {
                        s.push(c);
                    }
                }
                for b in chunk.invalid() {
                    let _ = write!(s, "\\x{b:02x}");
                }
            }
            (Cow::Owned(s), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(escape_text(b"ls -l /tmp", false), "ls -l /tmp");
        assert_eq!(
            escape_text("caf\u{e9} \u{65e5}\u{672c}".as_bytes(), false),
            "caf\u{e9} \u{65e5}\u{672c}"
        );
    }

    #[test]
    fn controls_and_backslash_are_escaped() {
        assert_eq!(escape_text(b"a\nb\tc\rd", false), "a\\nb\\tc\\rd");
        assert_eq!(
            escape_text(b"\x1b[2J\x1b]0;x\x07", false),
            "\\x1b[2J\\x1b]0;x\\x07"
        );
        assert_eq!(escape_text(b"back\\slash", false), "back\\\\slash");
        assert_eq!(escape_text(b"\x00\x7f", false), "\\x00\\x7f");
    }

    #[test]
    fn an_escape_can_not_be_forged() {
        // A literal backslash-x in the input must not look like an escaped byte.
        assert_eq!(escape_text(b"\\x1b", false), "\\\\x1b");
        assert_ne!(escape_text(b"\\x1b", false), escape_text(b"\x1b", false));
    }

    #[test]
    fn invalid_utf8_becomes_hex_bytes() {
        assert_eq!(escape_text(b"a\xffb\xc3", false), "a\\xffb\\xc3");
        assert_eq!(escape_text(b"\xe2\x82", false), "\\xe2\\x82");
    }

    #[test]
    fn quotes_only_escaped_when_quoting() {
        assert_eq!(escape_text(b"say \"hi\"", false), "say \"hi\"");
        assert_eq!(escape_text(b"say \"hi\"", true), "say \\\"hi\\\"");
    }

    #[test]
    fn c1_and_bidi_controls_are_escaped() {
        assert_eq!(escape_text("x\u{9b}31m".as_bytes(), false), "x\\u{009b}31m");
        assert_eq!(escape_text("a\u{202e}b".as_bytes(), false), "a\\u{202e}b");
        assert_eq!(escape_text("r\u{200b}m".as_bytes(), false), "r\\u{200b}m");
        assert_eq!(
            escape_text("a\u{200d}b\u{2060}".as_bytes(), false),
            "a\\u{200d}b\\u{2060}"
        );
    }

    #[test]
    fn json_text_keeps_utf8_and_marks_raw_bytes() {
        assert_eq!(
            json_text(b"a\"b\n", false),
            (Cow::Borrowed("a\"b\n"), false)
        );
        assert_eq!(
            json_text(b"a\\b", true),
            (Cow::Owned("a\\\\b".into()), true)
        );
        let (s, raw) = json_text(b"x\xff\xfey", false);
        assert_eq!(s, "x\\xff\\xfey");
        assert!(raw);
    }
}
