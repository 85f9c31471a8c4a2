//! Hostile input, fuzzed with proptest: whatever bytes a process puts in its comm,
//! filename or arguments, and whatever bytes arrive as a sample, the decoder does not
//! panic, a text line stays one line with no control character, the escaping can be
//! undone exactly, and every JSON line parses. Cases proptest once found are kept as
//! plain tests at the end.
//!
//! Two kinds of samples go through the whole path (decode, argument selection, text
//! line, JSON line):
//! - well-formed ones, whose comm, filename, interpreter and arguments must come back
//!   exactly from the JSON and the quoted text line;
//! - INCONSISTENT ones: a header whose counts and lengths disagree with the payload
//!   (argc, args_size, args_len, filename_len, interp_len, kind, flags chosen apart
//!   from the bytes that follow). Those must decode exactly where the lengths say or
//!   be rejected, never panic, and never show fewer arguments than were captured
//!   without saying so.

use lebpf::execsnoop::escape::{escape_text, json_text};
use lebpf::execsnoop::event::{encode_sample, set_comm, ExecEvent, ExecKind, Limits};
use lebpf::execsnoop::format::{json_line, text_line, truncation_marker, Columns, Context, Times};
use lebpf::skel::execsnoop::types::execsnoop_event;
use proptest::prelude::*;

/// Header fields of a sample, chosen freely (they need not match the payload).
#[derive(Debug, Clone)]
struct Header {
    argc: u32,
    args_size: u32,
    args_len: u32,
    filename_len: u16,
    interp_len: u16,
    kind: u8,
    flags: u8,
    comm: Vec<u8>,
}

/// A sample with this header and this payload after it (laid out by the library,
/// through the skeleton's generated `execsnoop_event`).
fn raw_sample(h: &Header, payload: &[u8]) -> Vec<u8> {
    let mut e = execsnoop_event {
        pid: 1234,
        tid: 1235,
        ppid: 1,
        ret: -2,
        argc: h.argc,
        args_size: h.args_size,
        args_len: h.args_len,
        filename_len: h.filename_len,
        interp_len: h.interp_len,
        kind: h.kind,
        flags: h.flags,
        ..Default::default()
    };
    set_comm(&mut e, &h.comm);
    encode_sample(&e, payload)
}

/// Lays out a committed-exec sample as the kernel does (src/bpf/execsnoop.h).
fn sample(comm: &[u8], filename: &[u8], interp: &[u8], args: &[Vec<u8>]) -> Vec<u8> {
    let mut area = Vec::new();
    for a in args {
        area.extend_from_slice(a);
        area.push(0);
    }
    let mut e = execsnoop_event {
        pid: 1234,
        tid: 1234,
        ppid: 1,
        argc: args.len() as u32,
        args_size: area.len() as u32,
        args_len: area.len() as u32,
        filename_len: filename.len() as u16,
        interp_len: interp.len() as u16,
        kind: ExecKind::Exec.code(),
        ..Default::default()
    };
    // The kernel's comm always ends in a NUL.
    set_comm(&mut e, &comm[..comm.len().min(15)]);
    let mut data = filename.to_vec();
    data.extend_from_slice(interp);
    data.extend_from_slice(&area);
    encode_sample(&e, &data)
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
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
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

/// A length near `n` (often exact, sometimes off by a little), or anything.
fn len_near(n: usize) -> impl Strategy<Value = u32> {
    let n = n as u32;
    prop_oneof![
        3 => Just(n),
        3 => n.saturating_sub(3)..=n + 3,
        1 => any::<u32>(),
    ]
}

/// A payload (NULs likely) and a header whose fields roughly, exactly or not at all
/// match it.
fn inconsistent() -> impl Strategy<Value = (Header, Vec<u8>)> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(b'a'), Just(b'\\'), any::<u8>()],
        0..80,
    )
    .prop_flat_map(|payload| {
        let n = payload.len();
        (
            // Split points of the payload into filename / interp / args.
            0..=n,
            0..=n,
            Just(payload),
        )
    })
    .prop_flat_map(|(a, b, payload)| {
        let (fl, il) = (a.min(b), a.max(b) - a.min(b));
        let al = payload.len() - fl - il;
        let nuls = payload[fl + il..].iter().filter(|&&c| c == 0).count();
        (
            (
                len_near(nuls),
                len_near(al),
                len_near(al),
                len_near(fl).prop_map(|v| v as u16),
                len_near(il).prop_map(|v| v as u16),
                prop_oneof![4 => Just(1u8), 4 => Just(2u8), 1 => any::<u8>()],
                any::<u8>(),
                proptest::collection::vec(any::<u8>(), 16),
            ),
            Just(payload),
        )
    })
    .prop_map(
        |((argc, args_size, args_len, fl, il, kind, flags, comm), payload)| {
            (
                Header {
                    argc,
                    args_size,
                    args_len,
                    filename_len: fl,
                    interp_len: il,
                    kind,
                    flags,
                    comm,
                },
                payload,
            )
        },
    )
}

/// Splits the quoted part of a `-q` text line back into its arguments: ` "a" "b"`
/// (inner `"` and `\` escaped), then possibly the truncation marker.
fn quoted_args(rest: &str) -> (Vec<Vec<u8>>, &str) {
    let mut args = Vec::new();
    let mut s = rest;
    while let Some(body) = s.strip_prefix(" \"") {
        let mut end = None;
        let mut esc = false;
        for (i, c) in body.char_indices() {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end.expect("closing quote");
        args.push(unescape(&body[..end]));
        s = &body[end + 1..];
    }
    (args, s)
}

/// Cases per property: 2000 on the host. The kernel-matrix VMs run every test binary
/// under software emulation (5-10x slower) and this is pure user-space code the
/// kernel does not change: 200 there.
fn cases() -> u32 {
    if std::env::var_os("LEBPF_VMTEST").is_some() {
        200
    } else {
        2000
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), .. ProptestConfig::default() })]

    #[test]
    fn inconsistent_headers_through_the_whole_path(
        (h, payload) in inconsistent(),
        max_args in 1usize..6,
        arg_size in 1usize..12,
        quote in any::<bool>(),
    ) {
        let raw = raw_sample(&h, &payload);
        let (fl, il, al) = (h.filename_len as usize, h.interp_len as usize, h.args_len as usize);
        let decoded = ExecEvent::parse(&raw);
        // Rejected exactly when the kind is unknown or the lengths overrun the payload.
        let fits = fl + il + al <= payload.len();
        let known = h.kind == 1 || h.kind == 2;
        prop_assert_eq!(decoded.is_ok(), fits && known, "{:?}", decoded);
        let Ok(e) = decoded else { return Ok(()); };
        // Decoded exactly where the lengths say, whatever the counts claim.
        prop_assert_eq!(e.filename, &payload[..fl]);
        prop_assert_eq!(e.interp, &payload[fl..fl + il]);
        prop_assert_eq!(e.args_area, &payload[fl + il..fl + il + al]);
        prop_assert_eq!((e.argc, e.args_size, e.flags), (h.argc, h.args_size, h.flags));
        let comm_end = h.comm.iter().position(|&c| c == 0).unwrap_or(16);
        prop_assert_eq!(e.comm, &h.comm[..comm_end]);

        let captured: Vec<&[u8]> = e.captured_args().collect();
        let mut shown = Vec::new();
        let t = e.select_args(Limits { max_args, arg_size }, &mut shown);
        prop_assert!(shown.len() <= max_args && shown.len() <= captured.len());
        for (s, c) in shown.iter().zip(&captured) {
            prop_assert!(c.starts_with(s) && s.len() <= arg_size);
        }
        // Never silent: whatever the header claims, what was captured and not shown
        // is counted.
        let hidden_args = (captured.len() - shown.len()) as u64;
        let cut = shown.iter().zip(&captured).filter(|(s, c)| s.len() < c.len()).count();
        prop_assert!(t.args_dropped >= hidden_args, "{:?} hid {} args", t, hidden_args);
        prop_assert!(t.args_cut as usize >= cut, "{:?} cut {}", t, cut);
        let captured_text: u64 = captured.iter().map(|a| a.len() as u64).sum();
        let shown_text: u64 = shown.iter().map(|a| a.len() as u64).sum();
        if let Some(b) = t.bytes_dropped {
            prop_assert!(b >= captured_text - shown_text, "{:?}: {} bytes hidden", t, captured_text - shown_text);
        }
        if hidden_args > 0 || cut > 0 {
            prop_assert!(t.any(), "{:?}", t);
        }

        let times = Times { hms: "12:00:00", since_start: 1.5, rfc3339: "2026-11-25T12:00:00.000000000Z" };
        let cols = Columns { time: false, timestamp: true, uid: false, quote, ..Default::default() };
        let (mut line, mut js) = (String::new(), String::new());
        text_line(&e, &shown, &t, cols, &times, &mut line);
        json_line(&e, &shown, &t, &times, &Context::default(), &mut js);
        prop_assert!(!line.chars().any(is_dangerous), "{:?}", line);
        let mut marker = String::new();
        truncation_marker(&t, &mut marker);
        prop_assert_eq!(marker.is_empty(), !t.any());
        prop_assert!(line.ends_with(&marker), "{:?} {:?}", t, line);
        prop_assert!(!js.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&js).expect("valid JSON");
        prop_assert_eq!(v["argc"].as_u64(), Some(u64::from(h.argc)));
        prop_assert_eq!(v["args_truncated"].as_u64(), Some(t.args_dropped));
        prop_assert_eq!(v["bytes_truncated"].as_u64(), t.bytes_dropped);
        prop_assert_eq!(v["truncated"].as_bool(), Some(t.any()));
        prop_assert_eq!(v["event"].as_str(), Some(if h.kind == 1 { "exec" } else { "fail" }));
        let bytes_mode = v["non_utf8"].as_bool() == Some(true);
        let back = |x: &serde_json::Value| -> Vec<u8> {
            let s = x.as_str().expect("string");
            if bytes_mode { unescape(s) } else { s.as_bytes().to_vec() }
        };
        prop_assert_eq!(back(&v["comm"]), e.comm);
        prop_assert_eq!(back(&v["filename"]), e.filename);
        prop_assert_eq!(back(&v["interp"]), e.program());
        let arr = v["args"].as_array().expect("args array");
        let got: Vec<Vec<u8>> = arr.iter().map(back).collect();
        let want: Vec<Vec<u8>> = shown.iter().map(|a| a.to_vec()).collect();
        prop_assert_eq!(got, want);
    }

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
        interp in bytes(),
        args in proptest::collection::vec(bytes(), 0..6),
        quote in any::<bool>(),
    ) {
        let (comm, filename, interp) = (no_nul(comm), no_nul(filename), no_nul(interp));
        let comm = comm[..comm.len().min(15)].to_vec();
        let args: Vec<Vec<u8>> = args.into_iter().map(no_nul).collect();
        let raw = sample(&comm, &filename, &interp, &args);
        let e = ExecEvent::parse(&raw).expect("well-formed sample");
        prop_assert_eq!(e.comm, &comm[..]);
        prop_assert_eq!(e.filename, &filename[..]);
        prop_assert_eq!(e.interp, &interp[..]);
        let program = if interp.is_empty() { &filename } else { &interp };
        let mut shown = Vec::new();
        let t = e.select_args(Limits { max_args: 4, arg_size: 30 }, &mut shown);
        let times = Times { hms: "12:00:00", since_start: 1.5, rfc3339: "2026-11-25T12:00:00.000000000Z" };

        let mut line = String::new();
        let cols = Columns { time: true, timestamp: true, uid: true, quote, ..Default::default() };
        text_line(&e, &shown, &t, cols, &times, &mut line);
        prop_assert!(!line.chars().any(is_dangerous), "{line:?}");
        // Round trip through the text line: comm in its column; with -q, the program
        // and the shown arguments back from the quoted fields.
        let head = "12:00:00 1.500    0      ";
        prop_assert!(line.starts_with(head), "{line:?}");
        let esc_comm = escape_text(&comm, false);
        prop_assert!(line[head.len()..].starts_with(&esc_comm), "{line:?}");
        prop_assert_eq!(unescape(&esc_comm), comm.clone());
        let cols_end = format!(" {:<6} {:<6} {:>3}", 1234, 1, 0);
        let after_comm = &line[head.len() + esc_comm.len()..];
        let after_cols = after_comm
            .strip_prefix(&" ".repeat(16usize.saturating_sub(esc_comm.chars().count())))
            .and_then(|r| r.strip_prefix(&cols_end))
            .unwrap_or_else(|| panic!("columns after comm: {line:?}"));
        if quote {
            let (got, marker) = quoted_args(after_cols);
            let mut want = vec![program.clone()];
            want.extend(shown.iter().skip(1).map(|a| a.to_vec()));
            prop_assert_eq!(got, want, "{:?}", line);
            prop_assert_eq!(marker.is_empty(), !t.any(), "{:?}", line);
        }

        let mut js = String::new();
        json_line(&e, &shown, &t, &times, &Context::default(), &mut js);
        prop_assert!(!js.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&js).expect("valid JSON");
        let arr = v["args"].as_array().expect("args array");
        prop_assert_eq!(arr.len(), shown.len());
        // One rule per object: text as is, or bytes mode for every string.
        let bytes_mode = v["non_utf8"].as_bool() == Some(true);
        let back = |x: &serde_json::Value| -> Vec<u8> {
            let s = x.as_str().expect("string");
            if bytes_mode { unescape(s) } else { s.as_bytes().to_vec() }
        };
        prop_assert_eq!(back(&v["comm"]), comm.clone());
        prop_assert_eq!(back(&v["filename"]), filename.clone());
        prop_assert_eq!(back(&v["interp"]), program.clone());
        for (got, want) in arr.iter().zip(&shown) {
            prop_assert_eq!(&back(got), want);
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

/// Found by `inconsistent_headers_through_the_whole_path`: a header whose argc (10) is
/// below the number of arguments actually captured (13) made select_args count only
/// argc - shown as dropped: 8 hidden arguments reported as 5. Captured arguments are
/// now a lower bound of argc (and their text of the byte count).
#[test]
fn argc_below_the_captured_arguments_still_counts_every_hidden_one() {
    let payload = b"aaaa\0+H\\\\\0\0\\\0\x95aa\\\0a\0aa\0\0c\0\\\\a\0a\\a\0\xe1a\0\\a\\\\n\0";
    let h = Header {
        argc: 10,
        args_size: 43,
        args_len: payload.len() as u32,
        filename_len: 0,
        interp_len: 0,
        kind: 1,
        flags: 0,
        comm: vec![0; 16],
    };
    let raw = raw_sample(&h, payload);
    let e = ExecEvent::parse(&raw).unwrap();
    assert_eq!(e.captured_args().count(), 13);
    let mut shown = Vec::new();
    let t = e.select_args(
        Limits {
            max_args: 5,
            arg_size: 9,
        },
        &mut shown,
    );
    assert_eq!(shown.len(), 5);
    assert_eq!(t.args_dropped, 8, "{t:?}");
    let hidden: u64 = e.captured_args().skip(5).map(|a| a.len() as u64).sum();
    assert!(t.bytes_dropped.unwrap() >= hidden, "{t:?}");
    assert!(t.any());
}
