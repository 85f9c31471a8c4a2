//! hello-buffer-config: the 52-byte event, the `my_config` value, the output line,
//! and `--message UID=TEXT`.

use std::fmt;

use crate::cstring::field;
pub use crate::skel::hello_buffer_config::types::data_t as Event;
pub use crate::skel::hello_buffer_config::types::user_msg_t as UserMsg;

// SAFETY: integers and char arrays only; every bit pattern is valid.
unsafe impl plain::Plain for Event {}
// SAFETY: a char array.
unsafe impl plain::Plain for UserMsg {}

/// Bytes of the event as the BPF side sends it.
pub const EVENT_SIZE: usize = 52;
/// Bytes of `message` including its NUL.
pub const MESSAGE_SIZE: usize = 12;

/// The book's `printf("%-6d %-6d %-16s %-16s %s\n", pid, uid, command, path, message)`.
/// Padding counts characters; the kernel's strings are ASCII in practice.
pub fn format_event(e: &Event) -> String {
    format!(
        "{:<6} {:<6} {:<16} {:<16} {}",
        e.pid,
        e.uid,
        field(&e.command),
        field(&e.path),
        field(&e.message)
    )
}

/// The book's line for lost samples.
pub const LOST_LINE: &str = "lost event";

/// One `--message UID=TEXT`: the key and value to put in `my_config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UidMessage {
    pub uid: u32,
    pub text: String,
}

impl UidMessage {
    /// The map value's bytes: the text and its NUL in `char message[12]`. A text built
    /// by hand past [`parse_message`] is cut to 11 bytes rather than overflow.
    pub fn value_bytes(&self) -> [u8; MESSAGE_SIZE] {
        let text = crate::cstring::until_nul(self.text.as_bytes());
        let n = text.len().min(MESSAGE_SIZE - 1);
        let mut out = [0u8; MESSAGE_SIZE];
        out[..n].copy_from_slice(&text[..n]);
        out
    }
}

/// Why a `--message` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadMessage {
    pub arg: String,
    pub why: String,
}

impl fmt::Display for BadMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--message '{}': {}", self.arg, self.why)
    }
}

impl std::error::Error for BadMessage {}

/// Parses `UID=TEXT`: a decimal uid and at most 11 bytes of text (the map value is
/// `char message[12]`, NUL included). The text may be empty or hold '='.
pub fn parse_message(arg: &str) -> Result<UidMessage, BadMessage> {
    let bad = |why: String| BadMessage {
        arg: arg.to_string(),
        why,
    };
    let (uid, text) = arg
        .split_once('=')
        .ok_or_else(|| bad("expected UID=TEXT, e.g. 0=Hi root".into()))?;
    let uid: u32 = uid
        .trim()
        .parse()
        .map_err(|_| bad(format!("uid '{uid}' is not a number (0..4294967295)")))?;
    if text.as_bytes().contains(&0) {
        return Err(bad("text contains a NUL byte".into()));
    }
    if text.len() > MESSAGE_SIZE - 1 {
        return Err(bad(format!(
            "text is {} bytes; at most {} fit (char message[{MESSAGE_SIZE}] with its NUL)",
            text.len(),
            MESSAGE_SIZE - 1
        )));
    }
    Ok(UidMessage {
        uid,
        text: text.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::decode;

    #[test]
    fn layout_matches_the_book() {
        assert_eq!(std::mem::size_of::<Event>(), EVENT_SIZE);
        assert_eq!(std::mem::offset_of!(Event, message), 24);
        assert_eq!(std::mem::offset_of!(Event, path), 36);
        assert_eq!(std::mem::size_of::<UserMsg>(), MESSAGE_SIZE);
    }

    #[test]
    fn decodes_and_formats_like_the_book_printf() {
        let mut b = Vec::new();
        b.extend_from_slice(&812i32.to_ne_bytes());
        b.extend_from_slice(&0i32.to_ne_bytes());
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"bash");
        b.extend_from_slice(&comm);
        let mut msg = [0u8; 12];
        msg[..11].copy_from_slice(b"Hello World");
        b.extend_from_slice(&msg);
        let mut path = [0u8; 16];
        path[..9].copy_from_slice(b"/bin/true");
        b.extend_from_slice(&path);
        let e: Event = decode(&b).unwrap();
        assert_eq!(
            format_event(&e),
            "812    0      bash             /bin/true        Hello World"
        );
    }

    #[test]
    fn parses_uid_and_text() {
        assert_eq!(
            parse_message("0=Hi root").unwrap(),
            UidMessage {
                uid: 0,
                text: "Hi root".into()
            }
        );
        assert_eq!(parse_message("1000=a=b").unwrap().text, "a=b");
        assert_eq!(parse_message("7=").unwrap().text, "");
        let m = parse_message("5=Hello World").unwrap();
        assert_eq!(&m.value_bytes(), b"Hello World\0");
        let long = UidMessage {
            uid: 1,
            text: "0123456789abcdef".into(),
        };
        assert_eq!(&long.value_bytes(), b"0123456789a\0");
    }

    #[test]
    fn refuses_bad_values_with_one_clear_line() {
        let e = parse_message("root=hi").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--message 'root=hi': uid 'root' is not a number (0..4294967295)"
        );
        let e = parse_message("0=Hello World!").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--message '0=Hello World!': text is 12 bytes; at most 11 fit (char message[12] with its NUL)"
        );
        let e = parse_message("hello").unwrap_err();
        assert_eq!(
            e.to_string(),
            "--message 'hello': expected UID=TEXT, e.g. 0=Hi root"
        );
        assert!(parse_message("-1=x").is_err());
        assert!(parse_message("4294967296=x").is_err());
    }
}
