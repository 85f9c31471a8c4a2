//! hello-buffer: the 36-byte event and its output line.

use crate::cstring::field;
pub use crate::skel::hello_buffer::types::data_t as Event;

// SAFETY: integers and char arrays only; every bit pattern is valid.
unsafe impl plain::Plain for Event {}

/// Bytes of the event as the BPF side sends it.
pub const EVENT_SIZE: usize = 36;

/// `{pid} {uid} {command} {message}`, strings cut at the first NUL.
pub fn format_event(e: &Event) -> String {
    format!(
        "{} {} {} {}",
        e.pid,
        e.uid,
        field(&e.command),
        field(&e.message)
    )
}

/// The line for samples the kernel could not deliver (the book's library says this).
pub fn lost_line(count: u64) -> String {
    format!("Possibly lost {count} samples")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cstring::to_field;
    use crate::events::decode;

    pub(crate) fn sample(pid: i32, uid: i32, comm: &str, msg: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&uid.to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm.as_bytes());
        b.extend_from_slice(&c);
        let mut m = [0u8; 12];
        m[..msg.len()].copy_from_slice(msg.as_bytes());
        b.extend_from_slice(&m);
        b
    }

    #[test]
    fn layout_matches_the_book() {
        assert_eq!(std::mem::size_of::<Event>(), EVENT_SIZE);
        assert_eq!(std::mem::offset_of!(Event, command), 8);
        assert_eq!(std::mem::offset_of!(Event, message), 24);
    }

    #[test]
    fn decodes_and_formats_a_sample() {
        let b = sample(4242, 1000, "bash", "Hello World");
        let e: Event = decode(&b).unwrap();
        assert_eq!(format_event(&e), "4242 1000 bash Hello World");
        // unaligned, as perf buffer samples are
        let mut shifted = vec![0u8];
        shifted.extend_from_slice(&b);
        let e: Event = decode(&shifted[1..]).unwrap();
        assert_eq!(e.pid, 4242);
        assert!(decode::<Event>(&b[..35]).is_none());
    }

    #[test]
    fn full_length_comm_has_no_nul_and_still_prints() {
        let mut e = Event {
            pid: 1,
            uid: 0,
            ..Default::default()
        };
        e.command = [b'x' as std::os::raw::c_char; 16];
        e.message = to_field::<12>("Hello World").unwrap();
        assert_eq!(
            format_event(&e),
            format!("1 0 {} Hello World", "x".repeat(16))
        );
        assert_eq!(lost_line(3), "Possibly lost 3 samples");
    }
}
