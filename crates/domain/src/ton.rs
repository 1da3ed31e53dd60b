//! TON addresses: raw (`0:<64 hex>`, `-1:<64 hex>`) or user-friendly (48 characters of base64 or
//! base64url carrying flags, workchain, hash and a CRC16-XMODEM checksum).

use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TonAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidAddress(pub &'static str);

fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn b64_value(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    })
}

/// Decodes 48 base64/base64url characters (no padding) into 36 bytes.
fn decode48(s: &str) -> Option<[u8; 36]> {
    let bytes = s.as_bytes();
    let url = bytes.iter().any(|c| matches!(c, b'-' | b'_'));
    let std = bytes.iter().any(|c| matches!(c, b'+' | b'/'));
    if bytes.len() != 48 || (url && std) {
        return None;
    }
    let mut out = [0u8; 36];
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let mut n: u32 = 0;
        for &c in chunk {
            n = (n << 6) | u32::from(b64_value(c)?);
        }
        out[i * 3] = (n >> 16) as u8;
        out[i * 3 + 1] = (n >> 8) as u8;
        out[i * 3 + 2] = n as u8;
    }
    Some(out)
}

impl TonAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidAddress> {
        let s = raw.trim();
        if let Some((wc, hash)) = s.split_once(':') {
            if !matches!(wc, "0" | "-1") {
                return Err(InvalidAddress("workchain must be 0 or -1"));
            }
            if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(InvalidAddress("raw address needs 64 hex digits after the workchain"));
            }
            return Ok(TonAddress(format!("{wc}:{}", hash.to_ascii_lowercase())));
        }
        let bytes = decode48(s).ok_or(InvalidAddress("not a raw or user-friendly TON address"))?;
        let flags = bytes[0] & 0x7f;
        if flags != 0x11 && flags != 0x51 {
            return Err(InvalidAddress("unknown address flags"));
        }
        if bytes[1] != 0x00 && bytes[1] != 0xff {
            return Err(InvalidAddress("workchain must be 0 or -1"));
        }
        let crc = u16::from_be_bytes([bytes[34], bytes[35]]);
        if crc16_xmodem(&bytes[..34]) != crc {
            return Err(InvalidAddress("checksum mismatch"));
        }
        Ok(TonAddress(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TonAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes 36 bytes as 48 base64url characters (test helper).
    fn encode(bytes: &[u8; 36]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        bytes
            .chunks(3)
            .flat_map(|c| {
                let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
                (0..4).rev().map(move |i| A[((n >> (6 * i)) & 63) as usize] as char)
            })
            .collect()
    }

    fn friendly(flags: u8, wc: u8) -> String {
        let mut b = [0u8; 36];
        b[0] = flags;
        b[1] = wc;
        for (i, x) in b[2..34].iter_mut().enumerate() {
            *x = i as u8 * 7;
        }
        let crc = crc16_xmodem(&b[..34]).to_be_bytes();
        b[34] = crc[0];
        b[35] = crc[1];
        encode(&b)
    }

    #[test]
    fn crc16_matches_the_xmodem_check_value() {
        assert_eq!(crc16_xmodem(b"123456789"), 0x31c3);
    }

    #[test]
    fn a_known_mainnet_address_is_valid() {
        assert!(TonAddress::parse("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N").is_ok());
    }

    #[test]
    fn raw_addresses_are_accepted_for_both_workchains() {
        assert!(TonAddress::parse(&format!("0:{}", "ab".repeat(32))).is_ok());
        assert!(TonAddress::parse(&format!("-1:{}", "AB".repeat(32))).is_ok());
        assert!(TonAddress::parse(&format!("1:{}", "ab".repeat(32))).is_err());
        assert!(TonAddress::parse(&format!("0:{}", "ab".repeat(31))).is_err());
        assert!(TonAddress::parse(&format!("0:{}", "zz".repeat(32))).is_err());
    }

    #[test]
    fn user_friendly_addresses_need_a_valid_checksum() {
        for (flags, wc) in [(0x11, 0x00), (0x51, 0x00), (0x91, 0xff), (0xd1, 0x00)] {
            let a = friendly(flags, wc);
            assert!(TonAddress::parse(&a).is_ok(), "{a}");
            assert!(TonAddress::parse(&a.replace('-', "+").replace('_', "/")).is_ok(), "standard base64 too");
        }
        let mut broken = friendly(0x11, 0).into_bytes();
        broken[10] = if broken[10] == b'A' { b'B' } else { b'A' };
        assert!(TonAddress::parse(std::str::from_utf8(&broken).unwrap()).is_err());
        assert!(TonAddress::parse(&friendly(0x22, 0)).is_err(), "unknown flags");
        assert!(TonAddress::parse(&friendly(0x11, 5)).is_err(), "unknown workchain");
        assert!(TonAddress::parse("EQshort").is_err());
    }

    #[test]
    fn crc16_of_nothing_is_zero_and_of_one_byte_is_its_table_entry() {
        assert_eq!(crc16_xmodem(b""), 0);
        assert_eq!(crc16_xmodem(&[0x01]), 0x1021);
        assert_eq!(crc16_xmodem(&[0x80]), 0x9188);
        assert_eq!(crc16_xmodem(&[0xff]), 0x1ef0);
    }

    #[test]
    fn every_base64_and_base64url_symbol_has_its_index_and_nothing_else_has_one() {
        let std_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let url_alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for (i, (&s, &u)) in std_alphabet.iter().zip(url_alphabet).enumerate() {
            assert_eq!(b64_value(s), Some(i as u8), "{}", s as char);
            assert_eq!(b64_value(u), Some(i as u8), "{}", u as char);
        }
        for c in [b'=', b'.', b' ', b'@', b'[', b'`', b'{', b':', b'\0'] {
            assert_eq!(b64_value(c), None, "{}", c as char);
        }
    }

    // `(n << 6) | v` vs `^ v` in decode48 is an equivalent mutant: the shifted low 6 bits are 0 and v < 64.
    #[test]
    fn forty_eight_symbols_decode_to_the_thirty_six_bytes_they_encode() {
        let mut bytes = [0u8; 36];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let url = encode(&bytes);
        assert_eq!(decode48(&url), Some(bytes));
        let std = url.replace('-', "+").replace('_', "/");
        assert_eq!(decode48(&std), Some(bytes));
        assert_eq!(decode48(&"A".repeat(48)), Some([0u8; 36]));
        assert_eq!(decode48(&"_".repeat(48)), Some([0xffu8; 36]));
    }

    #[test]
    fn decoding_needs_exactly_forty_eight_symbols_of_one_alphabet() {
        assert_eq!(decode48(&"A".repeat(47)), None);
        assert_eq!(decode48(&"A".repeat(49)), None);
        assert_eq!(decode48(&"A".repeat(52)), None);
        assert_eq!(decode48(&format!("-{}+", "A".repeat(46))), None, "base64url mixed with base64");
        assert_eq!(decode48(&format!("_{}/", "A".repeat(46))), None, "base64url mixed with base64");
        assert_eq!(decode48(&format!("{}=", "A".repeat(47))), None, "padding is no symbol");
    }

    #[test]
    fn each_bad_address_says_what_is_wrong() {
        let err = |s: &str| TonAddress::parse(s).unwrap_err().to_string();
        assert_eq!(err(&format!("2:{}", "ab".repeat(32))), "workchain must be 0 or -1");
        assert_eq!(err(&format!("0:{}", "ab".repeat(33))), "raw address needs 64 hex digits after the workchain");
        assert_eq!(err(&format!("0:{}g", "a".repeat(63))), "raw address needs 64 hex digits after the workchain");
        assert_eq!(err("hello"), "not a raw or user-friendly TON address");
        assert_eq!(err(&friendly(0x12, 0x00)), "unknown address flags");
        assert_eq!(err(&friendly(0x11, 0x01)), "workchain must be 0 or -1");
        assert_eq!(err(&friendly(0x11, 0xfe)), "workchain must be 0 or -1");
        let mut bytes = [0u8; 36];
        bytes[0] = 0x11;
        assert_eq!(err(&encode(&bytes)), "checksum mismatch");
    }

    #[test]
    fn the_test_only_flag_and_the_bounceable_flag_are_both_accepted() {
        for flags in [0x11, 0x51, 0x91, 0xd1] {
            assert!(TonAddress::parse(&friendly(flags, 0x00)).is_ok(), "{flags:#x}");
            assert!(TonAddress::parse(&friendly(flags, 0xff)).is_ok(), "{flags:#x}");
        }
        for flags in [0x10, 0x01, 0x50, 0x31, 0x7f] {
            assert!(TonAddress::parse(&friendly(flags, 0x00)).is_err(), "{flags:#x}");
        }
    }

    #[test]
    fn a_raw_address_is_kept_trimmed_and_lower_cased() {
        let a = TonAddress::parse(&format!("  -1:{}\n", "AbCdEf0123456789".repeat(4))).unwrap();
        let expected = format!("-1:{}", "abcdef0123456789".repeat(4));
        assert_eq!(a.as_str(), expected);
        assert_eq!(a.to_string(), expected);
    }

    #[test]
    fn a_user_friendly_address_is_kept_as_written() {
        let written = "EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N";
        let a = TonAddress::parse(&format!(" {written} ")).unwrap();
        assert_eq!(a.as_str(), written);
        assert_eq!(a.to_string(), written);
    }
}
