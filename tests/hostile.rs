//! Hostile input, fuzzed with proptest: whatever bytes a process puts in its comm,
//! filename or arguments, and whatever bytes arrive as a sample, the decoder does not
//! panic, a text line stays one line with no control character, the escaping can be
//! undone exactly, and every JSON line parses. Cases proptest once found are kept as
//! plain tests at the end.

use lebpf::execsnoop::escape::{escape_text, json_text};
use lebpf::execsnoop::event::{ExecEvent, Limits, HEADER_LEN};
use lebpf::execsnoop::format::{json_line, text_line, Columns, Times};
use proptest::prelude::*;

/// Lays out a committed-exec sample as the kernel does (src/bpf/execsnoop.h).
fn sample(comm: &[u8], filename: &[u8], interp: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    let mut area = Vec::new();
    for a in args {
        area.extend_from_slice(a);
        area.push(0);
    }
    let mut b = vec![0u8; HEADER_LEN];
    b[16..20].copy_from_slice(&1234u32.to_ne_bytes()); // pid
    b[20..24].copy_from_slice(&1234u32.to_ne_bytes()); // tid
    b[24..28].copy_from_slice(&1u32.to_ne_bytes()); // ppid
    b[36..40].copy_from_slice(&(args.len() as u32).to_ne_bytes()); // argc
    b[40..44].copy_from_slice(&(area.len() as u32).to_ne_bytes()); // args_size
    b[44..48].copy_from_slice(&(area.len() as u32).to_ne_bytes()); // args_len
    b[48..50].copy_from_slice(&(filename.len() as u16).to_ne_bytes());
    b[50..52].copy_from_slice(&(interp.len() as u16).to_ne_bytes());
    b[52] = 1; // EXECSNOOP_KIND_EXEC
    let n = comm.len().min(15);
    b[56..56 + n].copy_from_slice(&comm[..n]);
    b.extend_from_slice(filename);
    b.extend_from_slice(interp);
    b.extend_from_slice(&area);
    b
}

/// Undoes the text escaping (`\\`, `\"`, `\n`, `\t`, `\r`, `\xHH`, `\u{H..}`).
fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match it.next().expect("dangling backslash") {
            '\\' => out.push(b'\\'),
            '"' => out.push(b'"'),
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'x' => {
                let h: String = [it.next().unwrap(), it.next().unwrap()].iter().collect();
                out.push(u8::from_str_radix(&h, 16).expect("hex"));
            }
            'u' => {
                assert_eq!(it.next(), Some('{'));
                let h: String = it.by_ref().take_while(|&c| c != '}').collect();
                let c = char::from_u32(u32::from_str_radix(&h, 16).unwrap()).unwrap();
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            other => panic!("unknown escape \\{other} in {s:?}"),
        }
    }
    out
}

/// What a terminal must never receive from an event: C0/C1 controls, DEL, and the
/// invisible or direction-changing characters that can hide or reorder text.
fn is_dangerous(c: char) -> bool {
    (c as u32) < 0x20
        || c == '\u{7f}'
        || ('\u{80}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        // Mostly-text with escape sequences and multi-byte characters mixed in.
        proptest::collection::vec(
            prop_oneof![
                Just(b"\x1b[2J".to_vec()),
                Just(b"\x1b]0;title\x07".to_vec()),
                Just("\u{202e}".as_bytes().to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"\\x41".to_vec()),
                Just(b" ...[+9 args, +9 bytes]".to_vec()),
                Just("é€𝄞".as_bytes().to_vec()),
                Just(vec![0xff, 0xfe, 0xc3]),
                "[ -~]{0,8}".prop_map(|s| s.into_bytes()),
            ],
            0..6
        )
        .prop_map(|v| v.concat()),
    ]
}

fn no_nul(v: Vec<u8>) -> Vec<u8> {
    v.into_iter().filter(|&b| b != 0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn escaping_is_safe_and_reversible(b in bytes(), quote in any::<bool>()) {
        let s = escape_text(&b, quote);
        prop_assert!(!s.chars().any(is_dangerous), "{s:?}");
        if quote {
            // Inside quotes a bare " would end the argument early.
            prop_assert!(!s.replace("\\\\", "").replace("\\\"", "").contains('"'), "{s:?}");
        }
        prop_assert_eq!(unescape(&s), b);
    }

    #[test]
    fn decoder_never_panics_on_any_sample(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(e) = ExecEvent::parse(&b) {
            let mut shown = Vec::new();
            let _ = e.select_args(Limits { max_args: 3, arg_size: 5 }, &mut shown);
        }
    }

    #[test]
    fn lines_cannot_be_forged_and_json_stays_valid(
        comm in bytes(),
        filename in bytes(),
        args in proptest::collection::vec(bytes(), 0..6),
        quote in any::<bool>(),
    ) {
        let (comm, filename) = (no_nul(comm), no_nul(filename));
        let args: Vec<Vec<u8>> = args.into_iter().map(no_nul).collect();
        let raw = sample(&comm, &filename, b"", &args);
        let e = ExecEvent::parse(&raw).expect("well-formed sample");
        let mut shown = Vec::new();
        let t = e.select_args(Limits { max_args: 4, arg_size: 30 }, &mut shown);
        let times = Times { hms: "12:00:00", since_start: 1.5, rfc3339: "2026-11-25T12:00:00.000000000Z" };

        let mut line = String::new();
        let cols = Columns { time: true, timestamp: true, uid: true, quote };
        text_line(&e, &shown, &t, cols, &times, &mut line);
        prop_assert!(!line.chars().any(is_dangerous), "{line:?}");

        let mut js = String::new();
        json_line(&e, &shown, &t, &times, &mut js);
        prop_assert!(!js.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&js).expect("valid JSON");
        let arr = v["args"].as_array().expect("args array");
        prop_assert_eq!(arr.len(), shown.len());
        for (got, want) in arr.iter().zip(&shown) {
            let got = got.as_str().expect("string arg");
            // One rule per object: text as is, or bytes mode for every string.
            if v["non_utf8"].as_bool() == Some(true) {
                prop_assert_eq!(&unescape(got), want);
            } else {
                prop_assert_eq!(got.as_bytes(), &want[..]);
            }
        }
        let any_raw = [e.comm, e.filename, e.program()]
            .into_iter()
            .chain(shown.iter().copied())
            .any(|b| std::str::from_utf8(b).is_err());
        prop_assert_eq!(v["non_utf8"].as_bool(), Some(any_raw));
    }
}

#[test]
fn escape_sequence_argument_is_shown_inert() {
    assert_eq!(escape_text(b"\x1b[2Jclear", false), "\\x1b[2Jclear");
    assert_eq!(escape_text(b"a\nfake line", false), "a\\nfake line");
    assert_eq!(
        escape_text("\u{202e}evil".as_bytes(), false),
        "\\u{202e}evil"
    );
}

#[test]
fn json_marks_non_utf8_and_keeps_backslashes_distinct() {
    let (s, raw) = json_text(b"\\x41\xff", false);
    assert!(raw);
    // A literal backslash-x in a non-UTF-8 string must not read as an escaped byte.
    assert_eq!(unescape_json_bytes(&s), b"\\x41\xff");
}

/// Reverses `json_text` for a string flagged non_utf8: `\\` is a backslash and `\xHH`
/// a raw byte.
fn unescape_json_bytes(s: &str) -> Vec<u8> {
    unescape(s)
}
