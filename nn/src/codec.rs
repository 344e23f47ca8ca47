//! The one module that knows the binary encoding of checkpoint bodies: serde + bincode 2.
//! bincode is unmaintained (RUSTSEC-2025-0141) and pinned to 2.0.1; swapping it for `postcard`
//! means rewriting [`encode`] and [`decode`] and nothing else.
//!
//! Decoding never trusts a length prefix for an allocation. Every sequence in a record is read
//! with [`growing_vec`], which starts empty and grows only as elements actually arrive (serde's
//! default would reserve up to 1 MiB from a prefix alone), records hold no `String` (bincode
//! reserves a string's whole length before reading it), and reads cannot leave the input slice.
//! On top of that bincode is given a byte limit: it takes the limit as a type parameter, so
//! [`decode`] picks the smallest power of two not below the input's length (less than twice the
//! input). With fixed-width integers every byte bincode claims is a byte it reads, so a valid
//! record never reaches the limit.

use std::fmt;
use std::marker::PhantomData;

use bincode::config;
use serde::de::{DeserializeOwned, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// The configuration every checkpoint body is written with: little-endian, fixed-width integers
/// (so that bincode's limit accounting equals the bytes read).
fn base() -> config::Configuration<config::LittleEndian, config::Fixint> {
    config::standard().with_fixed_int_encoding()
}

/// Encodes `value`.
///
/// # Errors
/// A message if serde refuses the value.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, base()).map_err(|e| e.to_string())
}

fn decode_limited<T: DeserializeOwned, const LIMIT: usize>(bytes: &[u8]) -> Result<T, String> {
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, base().with_limit::<LIMIT>()).map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} bytes left over after the record", bytes.len() - used));
    }
    Ok(value)
}

macro_rules! decode_ladder {
    ($bytes:expr, $log2:expr, $($bits:literal)*) => {
        match $log2 {
            $($bits => decode_limited::<T, { 1usize << $bits }>($bytes),)*
            _ => Err(format!("body of {} bytes is larger than any checkpoint this version decodes", $bytes.len())),
        }
    };
}

/// Decodes a whole `T` from `bytes`, with a byte limit of the smallest power of two not below
/// `bytes.len()`; bytes left over are an error.
///
/// # Errors
/// A message naming what bincode or serde found wrong (never a panic).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    if bytes.is_empty() {
        return Err("empty body".to_string());
    }
    let log2 = bytes.len().next_power_of_two().trailing_zeros();
    decode_ladder!(bytes, log2, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31)
}

/// Deserializes a sequence into a `Vec` that reserves nothing up front, so a forged length
/// prefix costs no memory: the vector grows only as elements are decoded from real bytes. Use as
/// `#[serde(deserialize_with = "growing_vec")]` on every `Vec` field of a record.
pub(crate) fn growing_vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Growing<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Growing<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_seq(Growing(PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "growing_vec")]
        values: Vec<f32>,
        #[serde(deserialize_with = "growing_vec")]
        name: Vec<u8>,
    }

    #[test]
    fn round_trips_and_rejects_leftovers() {
        let s = Sample { values: vec![1.5, -2.0], name: b"w".to_vec() };
        let mut bytes = encode(&s).expect("encodable");
        assert_eq!(decode::<Sample>(&bytes), Ok(s));
        bytes.push(0);
        assert_eq!(decode::<Sample>(&bytes), Err("1 bytes left over after the record".to_string()));
    }

    #[test]
    fn forged_length_prefix_fails_without_allocating() {
        // A length prefix of u64::MAX elements followed by nothing.
        let bytes = u64::MAX.to_le_bytes();
        assert!(decode::<Sample>(&bytes).is_err());
        assert!(decode::<Sample>(&[]).is_err());
    }
}
