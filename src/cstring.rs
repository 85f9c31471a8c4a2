//! C strings from BPF events: fixed-size `char[N]` fields cut at the first NUL.
//!
//! The skeletons type a BPF `char` as `i8` on every target (char is signed in BPF),
//! also where the host's `c_char` is `u8` (aarch64): so `i8` here, not `c_char`.

use std::borrow::Cow;

/// The bytes before the first NUL (all of them when there is none).
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// A `char[N]` field as text: cut at the first NUL, invalid UTF-8 replaced.
pub fn field(chars: &[i8]) -> Cow<'_, str> {
    // SAFETY: i8 and u8 have the same size and alignment.
    let bytes = unsafe { std::slice::from_raw_parts(chars.as_ptr().cast::<u8>(), chars.len()) };
    String::from_utf8_lossy(until_nul(bytes))
}

/// Copies `text` into a `char[N]` field with room for its NUL; None when it does not fit.
pub fn to_field<const N: usize>(text: &str) -> Option<[i8; N]> {
    let bytes = text.as_bytes();
    if bytes.len() >= N || bytes.contains(&0) {
        return None;
    }
    let mut out = [0_i8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = *b as i8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_first_nul() {
        assert_eq!(until_nul(b"bash\0\0x"), b"bash");
        assert_eq!(until_nul(b"full"), b"full");
        let f: [i8; 6] = [b'l' as i8, b's' as i8, 0, b'z' as i8, 0, 0];
        assert_eq!(field(&f), "ls");
    }

    #[test]
    fn to_field_leaves_room_for_the_nul() {
        let f = to_field::<12>("Hello World").unwrap();
        assert_eq!(field(&f), "Hello World");
        assert!(to_field::<12>("Hello World!").is_none());
        assert!(to_field::<12>("a\0b").is_none());
    }
}
